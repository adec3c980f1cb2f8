"""The Scalable Webhook as its users see it: senders POST bursts, the database fills at the
consumer's pace, and nothing is lost.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Each test sends
its webhooks under a source name of its own (the unique id), reads the database through the
RDS Data API with the stack's cluster and secret, takes its own messages off the DLQ, and
deletes its rows afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from stack_testing import Stack, wait_for

# Per request; generous enough for a cold start of the receiver.
TIMEOUT = 30
BURST = 500
SENDERS = 10
# Deadline for a drained burst. The consumer is capped on purpose, so this is minutes on a
# small machine; it is a deadline, not a speed target.
DRAIN_TIMEOUT = 300

SIGNATURE_HEADER = "X-Webhook-Signature"

Post = Callable[..., requests.Response]


def sign(secret: str, body: bytes) -> str:
    """The documented signature: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- the stack's pieces as the tests use them ---------------------------------------------


class Database:
    """The stack's PostgreSQL, through the RDS Data API (as an operator would query it)."""

    def __init__(self, stack: Stack) -> None:
        self._client = stack.client("rds-data")
        self._target = {
            "resourceArn": stack.output("DatabaseClusterArn"),
            "secretArn": stack.output("DatabaseSecretArn"),
            "database": stack.output("DatabaseName"),
        }

    def query(self, sql: str, **params: str | int) -> list[list[Any]]:
        parameters = [
            {"name": name, "value": {"longValue": v} if isinstance(v, int) else {"stringValue": v}}
            for name, v in params.items()
        ]
        response = self._client.execute_statement(**self._target, sql=sql, parameters=parameters)
        return [[_field(value) for value in record] for record in response.get("records", [])]

    def query_if_migrated(self, sql: str, **params: str | int) -> list[list[Any]] | None:
        """None while the consumer has not created its tables yet (it does on first use)."""
        try:
            return self.query(sql, **params)
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise

    def now_micros(self) -> int:
        """The database's clock, which also stamps the consumer's batches."""
        return int(
            self.query("SELECT CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS bigint)")[0][
                0
            ]
        )

    def stored_ids(self, source: str) -> list[str]:
        rows = self.query_if_migrated(
            "SELECT CAST(event_id AS text) FROM webhook_events WHERE source = :source",
            source=source,
        )
        return [str(row[0]) for row in rows or []]

    def batches_since(self, since_micros: int) -> list[tuple[int, int | None]]:
        """(start, end) in microseconds of every consumer batch that started since."""
        rows = self.query_if_migrated(
            "SELECT CAST(extract(epoch FROM started_at) * 1000000 AS bigint),"
            " CAST(extract(epoch FROM finished_at) * 1000000 AS bigint)"
            " FROM webhook_batches WHERE started_at >= to_timestamp(:since / 1000000.0)",
            since=since_micros,
        )
        return [(int(start), None if end is None else int(end)) for start, end in rows or []]

    def duplicates_since(self, since_micros: int) -> int:
        rows = self.query_if_migrated(
            "SELECT CAST(coalesce(sum(duplicates), 0) AS bigint) FROM webhook_batches"
            " WHERE started_at >= to_timestamp(:since / 1000000.0)",
            since=since_micros,
        )
        return int(rows[0][0]) if rows else 0

    def forget(self, source: str) -> None:
        self.query_if_migrated("DELETE FROM webhook_events WHERE source = :source", source=source)


def _field(value: dict[str, Any]) -> Any:
    if value.get("isNull"):
        return None
    return next(iter(value.values()))


class DeadLetters:
    """Takes one test's messages off the DLQ and leaves everybody else's there."""

    def __init__(self, stack: Stack, marker: str) -> None:
        self._sqs = stack.client("sqs")
        self._url = stack.output("DeadLetterQueueUrl")
        self._marker = marker
        self.messages: dict[str, dict[str, Any]] = {}

    def collect(self) -> list[dict[str, Any]]:
        """Receive what is there now; keep (and delete) the messages that carry the marker."""
        while True:
            received = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
            ).get("Messages", [])
            if not received:
                return list(self.messages.values())
            for message in received:
                if self._marker in message["Body"]:
                    self.messages[message["MessageId"]] = json.loads(message["Body"])
                    self._sqs.delete_message(
                        QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"]
                    )
                else:
                    self._sqs.change_message_visibility(
                        QueueUrl=self._url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=0,
                    )
            if all(self._marker not in message["Body"] for message in received):
                return list(self.messages.values())


def max_overlap(intervals: list[tuple[int, int]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    return peak


def dead_lettered_event_id(envelope: dict[str, Any]) -> str:
    """The event id of a DLQ envelope's original message."""
    return str(json.loads(envelope["payload"])["event_id"])


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def source(unique_id: str) -> str:
    """A source name of this test's own: t-<16 hex digits> fits the /webhooks/{source} rule."""
    return unique_id


@pytest.fixture
def database(stack: Stack, source: str) -> Iterator[Database]:
    db = Database(stack)
    yield db
    db.forget(source)


@pytest.fixture
def dead_letters(stack: Stack, source: str) -> DeadLetters:
    return DeadLetters(stack, source)


@pytest.fixture
def signing_secret(stack: Stack) -> str | None:
    """The shared secret when the stack verifies signatures, else None."""
    arn = stack.outputs.get("SigningSecretArn")
    if not arn:
        return None
    return str(stack.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


@pytest.fixture
def post(stack: Stack, signing_secret: str | None) -> Iterator[Post]:
    """``post(source, body, signed=True)``: POST a webhook (signed if the stack wants it).

    Thread-safe: each thread keeps its own HTTP session.
    """
    base = stack.url("ApiUrl").rstrip("/") + "/webhooks"
    local = threading.local()
    sessions: list[requests.Session] = []

    def send(
        source: str,
        body: dict[str, Any] | str | bytes,
        *,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            sessions.append(local.session)
        raw = (
            body
            if isinstance(body, bytes)
            else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if signed and signing_secret is not None:
            all_headers[SIGNATURE_HEADER] = sign(signing_secret, raw)
        return local.session.post(
            f"{base}/{source}", data=raw, headers=all_headers, timeout=TIMEOUT
        )

    yield send
    for session in sessions:
        session.close()


def error_message(response: requests.Response) -> str:
    return str(response.json()["message"])


# --- the pattern's promise -------------------------------------------------------------------


def test_a_burst_is_absorbed_and_stored_exactly_once_at_a_capped_concurrency(
    stack, post, database, dead_letters, source
):
    """500 webhooks (plus 10 the consumer must refuse) from 10 concurrent senders: every one
    is answered 202 at once; the consumer, never more than ConsumerMaxConcurrency batches at
    a time, stores each good one exactly once and dead-letters each refused one with the
    reason; accepted = stored + dead-lettered."""
    cap = int(stack.output("ConsumerMaxConcurrency"))
    since = database.now_micros()
    good = [{"id": f"good-{n}", "type": "order.created", "data": {"n": n}} for n in range(BURST)]
    # Valid at the door, refused by the consumer's rules: a timestamp from the future, and
    # text PostgreSQL cannot store.
    poison = [
        {
            "id": f"future-{n}",
            "type": "order.created",
            "occurred_at": "2999-01-01T00:00:00Z",
            "data": {"n": n},
        }
        for n in range(5)
    ] + [
        {"id": f"nul-{n}", "type": "order.created", "data": {"note": "a\u0000b"}} for n in range(5)
    ]
    bodies = good[:250] + poison + good[250:]

    with ThreadPoolExecutor(max_workers=SENDERS) as senders:
        responses = list(senders.map(lambda body: post(source, body), bodies))

    assert [r.status_code for r in responses] == [202] * len(bodies), next(
        r.text for r in responses if r.status_code != 202
    )
    ids = {body["id"]: r.json()["id"] for body, r in zip(bodies, responses, strict=True)}
    assert len(set(ids.values())) == len(bodies)
    good_ids = {ids[body["id"]] for body in good}
    poison_ids = {ids[body["id"]] for body in poison}

    def drained() -> bool:
        stored = database.stored_ids(source)
        parked = dead_letters.collect()
        batches = database.batches_since(since)
        return (
            len(stored) >= len(good_ids)
            and len(parked) >= len(poison_ids)
            and all(end is not None for _, end in batches)
        )

    wait_for(drained, timeout=DRAIN_TIMEOUT, interval=1.0, description="the burst drained")

    stored = database.stored_ids(source)
    assert sorted(stored) == sorted(good_ids), "a good webhook is missing or stored twice"
    parked = dead_letters.collect()
    assert sorted(dead_lettered_event_id(envelope) for envelope in parked) == sorted(poison_ids)
    reasons = {dead_lettered_event_id(e): e["error"]["message"] for e in parked}
    for body in poison:
        reason = reasons[ids[body["id"]]]
        expected = "'occurred_at'" if body["id"].startswith("future") else "'data.note'"
        assert expected in reason, reason
    assert len(bodies) == len(stored) + len(parked)

    batches = [(start, end) for start, end in database.batches_since(since) if end is not None]
    peak = max_overlap(batches)
    assert peak <= cap, f"{peak} consumer batches ran at once; the cap is {cap}"
    if cap > 1:
        assert peak > 1, "the consumer never ran two batches at once: the burst was not spread"


def test_sender_retries_and_duplicate_deliveries_are_stored_once(stack, post, database, source):
    """A sender retrying with the same delivery id gets the same event id, and SQS delivering
    a message twice (at-least-once) still leaves one row: INSERT ... ON CONFLICT DO NOTHING."""
    since = database.now_micros()
    body = {"id": "delivery-7", "type": "invoice.paid", "data": {"amount": 12}}

    answers = [post(source, body) for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 202]
    event_ids = {a.json()["id"] for a in answers}
    assert len(event_ids) == 1
    [event_id] = event_ids
    # The same message delivered twice more, as SQS may.
    message = json.dumps(
        {
            "event_id": event_id,
            "source": source,
            "received_at": datetime.now(UTC).isoformat(),
            "webhook": body,
        }
    )
    queue = stack.output("WebhookQueueUrl")
    for _ in range(2):
        stack.client("sqs").send_message(
            QueueUrl=queue,
            MessageBody=message,
            MessageAttributes={"event_id": {"DataType": "String", "StringValue": event_id}},
        )

    # One delivery stores it; the four others are counted as duplicates by the consumer.
    wait_for(
        lambda: database.stored_ids(source) and database.duplicates_since(since) >= 4,
        timeout=120,
        description="five deliveries consumed",
    )
    assert database.stored_ids(source) == [event_id]


def test_messages_the_receiver_did_not_write_are_dead_lettered_with_the_reason(
    stack, dead_letters, source
):
    """Anything on the queue the consumer can never store (here: not JSON, and JSON of the
    wrong shape) is moved to the DLQ at the first receive, in an envelope with the reason
    and the original body, instead of being retried maxReceiveCount times."""
    sqs = stack.client("sqs")
    queue = stack.output("WebhookQueueUrl")
    garbage = f"not a webhook ({source})"
    wrong_shape = json.dumps({"event_id": str(uuid.uuid4()), "source": source})
    for body in (garbage, wrong_shape):
        sqs.send_message(QueueUrl=queue, MessageBody=body)

    parked = wait_for(
        lambda: (found := dead_letters.collect()) and len(found) >= 2 and found,
        timeout=120,
        description="both messages in the DLQ",
    )

    by_payload = {envelope["payload"]: envelope for envelope in parked}
    assert set(by_payload) == {garbage, wrong_shape}
    assert "not JSON" in by_payload[garbage]["error"]["message"]
    assert "received_at" in by_payload[wrong_shape]["error"]["message"]
    for envelope in parked:
        assert envelope["error"]["type"] == "Unprocessable"
        assert envelope["attempt"] == 1


# --- the front door --------------------------------------------------------------------------


def test_accepted_webhook_answers_202_with_its_id_and_is_stored(post, database, source):
    response = post(
        source, {"type": "order.created", "occurred_at": "2026-11-01T08:00:00Z", "data": {}}
    )

    assert response.status_code == 202, response.text
    event_id = response.json()["id"]
    assert uuid.UUID(event_id)
    assert wait_for(
        lambda: database.stored_ids(source) == [event_id], timeout=120, description="row stored"
    )
    [[event_type, occurred_at]] = database.query(
        "SELECT event_type, CAST(extract(epoch FROM occurred_at) AS bigint) FROM webhook_events"
        " WHERE event_id = CAST(:id AS uuid)",
        id=event_id,
    )
    assert event_type == "order.created"
    assert occurred_at == int(datetime(2026, 11, 1, 8, 0, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {}}, "type"),
        ({"type": "order.created", "data": "o-1"}, "data"),
        ({"type": "order created", "data": {}}, "type"),
        ({"type": "a", "data": {}, "occurred_at": "next tuesday"}, "occurred_at"),
        ({"type": "a", "data": {}, "colour": "red"}, "colour"),
    ],
)
def test_invalid_webhook_is_400_naming_the_field(post, source, body, field):
    response = post(source, body)

    assert response.status_code == 400
    assert f"'{field}'" in error_message(response)


def test_invalid_source_is_400_naming_it(post):
    response = post("Not_A_Source", {"type": "a", "data": {}})

    assert response.status_code == 400
    assert "'source'" in error_message(response)


def test_malformed_json_is_400(post, source):
    response = post(source, b'{"type": "a", "data": ')

    assert response.status_code == 400
    assert "JSON" in error_message(response)


def test_oversized_body_is_413(post, source):
    response = post(source, {"type": "a", "data": {"blob": "x" * (65 * 1024)}})

    assert response.status_code == 413


def test_signature_is_enforced_as_the_stack_is_configured(post, signing_secret, database, source):
    """Verification on: an unsigned or wrongly signed webhook is 401. Off: unsigned is 202."""
    body = {"type": "order.created", "data": {}}
    if signing_secret is None:
        assert post(source, body, signed=False).status_code == 202
        return
    unsigned = post(source, body, signed=False)
    forged = post(source, body, signed=False, headers={SIGNATURE_HEADER: "sha256=" + "0" * 64})

    assert unsigned.status_code == 401
    assert SIGNATURE_HEADER in error_message(unsigned)
    assert forged.status_code == 401


def test_other_methods_and_paths_are_404(stack):
    base = stack.url("ApiUrl").rstrip("/")

    assert requests.get(f"{base}/webhooks/shop", timeout=TIMEOUT).status_code == 404
    assert requests.post(f"{base}/elsewhere", json={}, timeout=TIMEOUT).status_code == 404
