"""The Frugal Consumer as its producers and operators see it: a queue in front, totals in
PostgreSQL behind, a DLQ for what breaks the contract.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). They send
through SQS as a producer would, and read the database through the RDS Data API. Every test
uses its own customer id; the rows it wrote and the dead letters it caused are removed after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import Stack, wait_for

# Generous: on AWS a paused Aurora Serverless v2 database first takes ~15 s to resume.
DRAIN_TIMEOUT = 180.0
BURST = 200

Message = tuple[str, dict[str, Any]]


def producer_attributes(producer: str = "integration-tests") -> dict[str, Any]:
    return {"producer": {"DataType": "String", "StringValue": producer}}


def usage_record(customer_id: str, record_id: str, *, quantity: int, **fields: Any) -> str:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    body = {
        "record_id": record_id,
        "customer_id": customer_id,
        "meter": "api-calls",
        "quantity": quantity,
        "occurred_at": yesterday.replace(hour=12, minute=0, second=0, microsecond=0).isoformat(),
    }
    body.update(fields)
    return json.dumps(body)


@dataclass
class UsageDatabase:
    """The app's PostgreSQL database, through the RDS Data API with the stack's secret."""

    stack: Stack

    def rows(self, sql: str, **parameters: str) -> list[list[Any]]:
        response = self.stack.client("rds-data").execute_statement(
            resourceArn=self.stack.output("DatabaseClusterArn"),
            secretArn=self.stack.output("DatabaseSecretArn"),
            database=self.stack.output("DatabaseName"),
            sql=sql,
            parameters=[
                {"name": name, "value": {"stringValue": value}}
                for name, value in parameters.items()
            ],
        )
        return [[_field(field) for field in row] for row in response.get("records", [])]

    def ledger(self, customer_id: str) -> list[list[Any]] | None:
        """(record_id, quantity, duplicate_deliveries) of a customer's stored records;
        None while the consumer has not created its tables yet."""
        try:
            return self.rows(
                "SELECT record_id, quantity, duplicate_deliveries FROM usage_records"
                " WHERE customer_id = :customer ORDER BY record_id",
                customer=customer_id,
            )
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise

    def totals(self, customer_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        """(meter, day) -> (quantity, record_count) of a customer's daily totals."""
        rows = self.rows(
            "SELECT meter, CAST(usage_date AS text), quantity, record_count FROM daily_usage"
            " WHERE customer_id = :customer",
            customer=customer_id,
        )
        return {(meter, day): (quantity, count) for meter, day, quantity, count in rows}

    def forget(self, customer_id: str) -> None:
        for table in ("usage_records", "daily_usage"):
            try:
                self.rows(
                    f"DELETE FROM {table} WHERE customer_id = :customer", customer=customer_id
                )
            except ClientError as error:
                if "does not exist" not in str(error):
                    raise


def _field(field: dict[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    ((_, value),) = field.items()
    return value


@pytest.fixture
def database(stack: Stack, unique_id: str) -> Iterator[UsageDatabase]:
    db = UsageDatabase(stack)
    yield db
    db.forget(unique_id)


@pytest.fixture
def queue_url(stack: Stack) -> str:
    return stack.output("UsageQueueUrl")


@pytest.fixture
def send(stack: Stack, queue_url: str) -> Callable[[list[Message]], int]:
    """Send messages with SendMessageBatch, as a producer would; return how many SQS accepted."""
    sqs = stack.client("sqs")

    def send_all(messages: list[Message]) -> int:
        accepted = 0
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(n), "MessageBody": body, "MessageAttributes": attributes}
                for n, (body, attributes) in enumerate(messages[start : start + 10])
            ]
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            assert not response.get("Failed"), response["Failed"]
            accepted += len(response["Successful"])
        return accepted

    return send_all


@pytest.fixture
def dead_letters(stack: Stack, unique_id: str) -> Iterator[Callable[[int], list[dict[str, Any]]]]:
    """``dead_letters(n)``: wait for n DLQ messages of this test (their payload holds the
    test's unique id) and return them; others are put back at once. Ours are deleted after."""
    sqs = stack.client("sqs")
    dlq_url = stack.output("DeadLetterQueueUrl")
    found: dict[str, dict[str, Any]] = {}

    def collect(expected: int) -> list[dict[str, Any]]:
        def more() -> list[dict[str, Any]] | None:
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            for message in messages:
                if unique_id in message["Body"]:
                    found[message["MessageId"]] = message
                else:
                    sqs.change_message_visibility(
                        QueueUrl=dlq_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=0,
                    )
            return list(found.values()) if len(found) >= expected else None

        return wait_for(
            more, timeout=DRAIN_TIMEOUT, interval=0.1, description=f"{expected} dead letters"
        )

    yield collect
    for message in found.values():
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])


def stored(database: UsageDatabase, customer_id: str, count: int) -> Callable[[], Any]:
    """A wait_for condition: the customer's ledger once it holds ``count`` records."""

    def condition() -> list[list[Any]] | None:
        ledger = database.ledger(customer_id)
        return ledger if ledger is not None and len(ledger) >= count else None

    return condition


def test_the_queue_policy_lets_only_the_named_producers_send(stack, queue_url):
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["Policy", "QueueArn"]
    )["Attributes"]
    policy = json.loads(attributes["Policy"])
    allowed = set(stack.output("AllowedProducers").split(","))

    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    (statement,) = allows
    principals = statement["Principal"]["AWS"]
    assert set([principals] if isinstance(principals, str) else principals) == allowed
    actions = statement["Action"]
    assert set([actions] if isinstance(actions, str) else actions) == {
        "sqs:SendMessage",
        "sqs:GetQueueUrl",
    }
    assert statement["Resource"] == attributes["QueueArn"]
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_a_burst_is_stored_exactly_once_and_nothing_is_lost(
    send, database, dead_letters, unique_id
):
    """Every accepted message ends either in the database (once) or in the DLQ (with why)."""
    valid = [
        (usage_record(unique_id, f"{unique_id}-{n:04d}", quantity=n), producer_attributes())
        for n in range(1, BURST + 1)
    ]
    invalid = [
        (usage_record(unique_id, f"{unique_id}-bad-{n}", quantity=-n), producer_attributes())
        for n in range(1, 11)
    ]
    # Interleave, so bad records share batches with good ones.
    messages = [m for pair in zip(valid[:10], invalid, strict=True) for m in pair] + valid[10:]

    accepted = send(messages)

    ledger = wait_for(
        stored(database, unique_id, BURST),
        timeout=DRAIN_TIMEOUT,
        description=f"{BURST} records stored",
    )
    rejected = dead_letters(len(invalid))
    assert accepted == len(ledger) + len(rejected) == BURST + len(invalid)
    assert [row[0] for row in ledger] == sorted(f"{unique_id}-{n:04d}" for n in range(1, BURST + 1))
    assert all(duplicates == 0 for _, _, duplicates in ledger)
    ((day_total, day_count),) = database.totals(unique_id).values()
    assert (day_total, day_count) == (BURST * (BURST + 1) // 2, BURST)


def test_a_record_delivered_twice_is_added_once(send, database, unique_id):
    first = usage_record(unique_id, f"{unique_id}-a", quantity=5)
    second = usage_record(unique_id, f"{unique_id}-b", quantity=7)
    # The same record sent twice is two SQS messages with two message ids: only the
    # producer's record id tells them apart, as with a producer that retries a send.
    send([(first, producer_attributes()), (second, producer_attributes())])
    send([(first, producer_attributes())])

    def duplicate_seen() -> list[list[Any]] | None:
        ledger = database.ledger(unique_id)
        return ledger if ledger and [row[2] for row in ledger] == [1, 0] else None

    ledger = wait_for(
        duplicate_seen, timeout=DRAIN_TIMEOUT, description="the second delivery counted"
    )

    assert ledger == [[f"{unique_id}-a", 5, 1], [f"{unique_id}-b", 7, 0]]
    ((day_total, day_count),) = database.totals(unique_id).values()
    assert (day_total, day_count) == (12, 2)


def test_the_same_record_id_from_two_producers_is_two_records(send, database, unique_id):
    record = usage_record(unique_id, f"{unique_id}-shared", quantity=2)

    send([(record, producer_attributes("billing")), (record, producer_attributes("shipping"))])

    wait_for(stored(database, unique_id, 2), timeout=DRAIN_TIMEOUT, description="two records")
    assert list(database.totals(unique_id).values()) == [(4, 2)]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong type", "field 'quantity' must be an integer"),
        ("missing field", "missing required field 'meter'"),
        ("unexpected field", "unexpected field 'colour'"),
        ("no producer", "message attribute 'producer' is required"),
        ("not json", "body is not valid JSON"),
    ],
)
def test_an_invalid_record_is_dead_lettered_with_the_reason(
    send, database, dead_letters, unique_id, case, reason
):
    record_id = f"{unique_id}-{case.replace(' ', '-')}"
    body = json.loads(usage_record(unique_id, record_id, quantity=1))
    attributes = producer_attributes()
    if case == "wrong type":
        body["quantity"] = "one"
    elif case == "missing field":
        del body["meter"]
    elif case == "unexpected field":
        body["colour"] = "red"
    elif case == "no producer":
        attributes = {"origin": {"DataType": "String", "StringValue": "nobody"}}
    text = json.dumps(body) if case != "not json" else f"record {unique_id} of sorts"

    assert send([(text, attributes)]) == 1

    (dead,) = dead_letters(1)
    envelope = json.loads(dead["Body"])
    assert envelope["error"]["message"].startswith(reason)
    assert envelope["payload"] == text
    # The producer's attributes travel with it, so a redrive replays the message as sent.
    assert {
        name: value["StringValue"] for name, value in dead.get("MessageAttributes", {}).items()
    } == {name: value["StringValue"] for name, value in attributes.items()}
    assert database.ledger(unique_id) in (None, [])


def _batch_intervals(stack: Stack, since: float) -> list[dict[str, Any]]:
    """The consumer's ``usage batch done`` log lines of invocations started after ``since``."""
    logs = stack.client("logs")
    group = f"/aws/lambda/{stack.output('UsageConsumerFunctionName')}"
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(since * 1000) - 1000}
    while True:
        page = logs.filter_log_events(**kwargs)
        for event in page.get("events", []):
            text = event["message"].strip()
            if not text.startswith("{"):
                continue
            line = json.loads(text)
            if line.get("message") == "usage batch done" and line["batch_started_at"] >= since:
                found.append(line)
        if not page.get("nextToken"):
            return found
        kwargs["nextToken"] = page["nextToken"]


def _peak_overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at one instant (an end before a start at a tie)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = running = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_the_consumer_never_runs_more_batches_at_once_than_its_cap(
    stack, send, database, unique_id
):
    """Consumer-side evidence: every invocation logs its start and end; at no instant were
    more of them running than the event source's MaximumConcurrency (Lambda's rule for
    ScalingConfig), yet the burst was drained by more than one at a time."""
    function = stack.output("UsageConsumerFunctionName")
    (mapping,) = stack.client("lambda").list_event_source_mappings(FunctionName=function)[
        "EventSourceMappings"
    ]
    cap = mapping["ScalingConfig"]["MaximumConcurrency"]
    assert "ReportBatchItemFailures" in mapping["FunctionResponseTypes"]
    began = time.time()

    send(
        [
            (usage_record(unique_id, f"{unique_id}-{n:04d}", quantity=1), producer_attributes())
            for n in range(BURST)
        ]
    )
    wait_for(stored(database, unique_id, BURST), timeout=DRAIN_TIMEOUT, description="burst stored")

    # Logs can trail the work by seconds on AWS: wait until the lines account for the burst.
    def logged() -> list[dict[str, Any]] | None:
        lines = _batch_intervals(stack, began)
        handled = sum(line["stored"] + line["duplicate"] + line["rejected"] for line in lines)
        return lines if handled >= BURST else None

    lines = wait_for(logged, timeout=60, description="batch log lines for the burst")
    peak = _peak_overlap([(line["batch_started_at"], line["batch_finished_at"]) for line in lines])
    assert peak <= cap, f"{peak} batches ran at once; the cap is {cap}"
    # A burst of several batches is drained in parallel up to the cap (it is at least 2),
    # not one batch at a time.
    assert peak >= 2, f"only {peak} batch ran at a time over {len(lines)} batches"
    assert max(line["received"] for line in lines) <= mapping["BatchSize"]


def test_peak_overlap_counts_what_runs_at_the_same_instant():
    """The measure the cap test relies on (plain arithmetic, no stack)."""
    assert _peak_overlap([]) == 0
    assert _peak_overlap([(0, 1), (1, 2), (2, 3)]) == 1
    assert _peak_overlap([(0, 3), (1, 2), (1.5, 4)]) == 3
    assert _peak_overlap([(0, 2), (1, 3), (2.5, 4)]) == 2
