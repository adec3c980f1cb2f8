"""The Notifier as its publishers and subscribers see it: one topic, each subscriber filtering
on its own, nothing lost.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). They publish to
the topic as a billing service would, read what the two example subscribers recorded in their
DynamoDB tables and DLQs, and subscribe a queue of their own, the way another service would.
Every test publishes with its own ``source`` and event ids; what it caused is removed after.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from stack_testing import Stack, wait_for

# SNS -> SQS -> Lambda, or SNS -> Lambda (asynchronous): seconds locally, a few more on AWS.
DELIVERY_TIMEOUT = 90.0

Event = dict[str, Any]


def billing_event(
    unique_id: str,
    name: str,
    event_type: str,
    severity: str,
    *,
    amount_cents: Any = 1000,
    **fields: Any,
) -> Event:
    """A valid event of the contract; ``fields`` override or add top-level fields."""
    event: Event = {
        "eventId": f"{unique_id}-{name}",
        "eventType": event_type,
        "severity": severity,
        "source": unique_id,
        "occurredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": f"{event_type} for the integration tests",
        "data": {"customerId": "acme", "amountCents": amount_cents, "currency": "EUR"},
    }
    event.update(fields)
    return event


def routing_attributes(event: Event) -> dict[str, dict[str, str]]:
    return {
        name: {"DataType": "String", "StringValue": str(event[name])}
        for name in ("eventType", "severity", "source")
    }


# The mix every filter test publishes: name -> (eventType, severity, amountCents).
MIX = {
    "invoice-created": ("invoice.created", "info", 120000),
    "invoice-overdue": ("invoice.overdue", "critical", 120000),
    "payment-large-succeeded": ("payment.succeeded", "info", 250000),
    "payment-small-failed": ("payment.failed", "critical", 5000),
    "payment-large-failed": ("payment.failed", "warning", 150000),
    "subscription-cancelled": ("subscription.cancelled", "warning", 0),
    "payment-small-succeeded": ("payment.succeeded", "info", 999),
    # Exactly the default LargePaymentCents: the auditor's filter is ">=".
    "payment-at-threshold-refunded": ("payment.refunded", "info", 100000),
}


@pytest.fixture
def publish(stack: Stack) -> Callable[..., str]:
    """``publish(event, attributes=None, body=None)``: publish as a billing service does
    (attributes from the body unless given; ``body`` replaces the JSON text); the message id."""
    sns = stack.client("sns")
    topic_arn = stack.output("TopicArn")

    def send(
        event: Event, attributes: dict[str, Any] | None = None, body: str | None = None
    ) -> str:
        response = sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps(event) if body is None else body,
            MessageAttributes=routing_attributes(event) if attributes is None else attributes,
        )
        return str(response["MessageId"])

    return send


@pytest.fixture
def publish_mix(publish: Callable[..., str], unique_id: str) -> Callable[[], dict[str, str]]:
    """Publish the MIX; return name -> eventId."""

    def send_all() -> dict[str, str]:
        ids = {}
        for name, (event_type, severity, amount) in MIX.items():
            event = billing_event(unique_id, name, event_type, severity, amount_cents=amount)
            publish(event)
            ids[name] = event["eventId"]
        return ids

    return send_all


class Table:
    """A subscriber's DynamoDB table, read by event id; the test's items deleted after."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.dynamodb = stack.client("dynamodb")
        self.name = name
        self.touched: set[str] = set()

    def items(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        self.touched.update(event_ids)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(event_ids), 100):
            keys = [{"eventId": {"S": event_id}} for event_id in event_ids[start : start + 100]]
            request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.name, []):
                    found[item["eventId"]["S"]] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def wait_for_ids(self, expected: set[str], also_check: set[str]) -> dict[str, dict[str, Any]]:
        """Wait until every expected id is recorded; return the items of expected | also_check."""
        every = sorted(expected | also_check)
        wait_for(
            lambda: expected <= set(self.items(every)),
            timeout=DELIVERY_TIMEOUT,
            interval=0.25,
            description=f"{sorted(expected)} recorded in {self.name}",
        )
        return self.items(every)

    def clean(self) -> None:
        for event_id in self.touched:
            self.dynamodb.delete_item(TableName=self.name, Key={"eventId": {"S": event_id}})


@pytest.fixture
def alerts_table(stack: Stack) -> Iterator[Table]:
    table = Table(stack, stack.output("AlertsTableName"))
    yield table
    table.clean()


@pytest.fixture
def audit_table(stack: Stack) -> Iterator[Table]:
    table = Table(stack, stack.output("PaymentsAuditTableName"))
    yield table
    table.clean()


def dead_letter_collector(
    stack: Stack, output: str, unique_id: str
) -> tuple[Callable[..., list[dict[str, Any]]], Callable[[], None]]:
    """``collect(n[, timeout])`` waits for n messages of this test in a DLQ (their body holds
    the test's unique id) and returns their parsed bodies; other tests' messages are put back
    at once. ``clean()`` deletes ours."""
    sqs = stack.client("sqs")
    queue_url = stack.output(output)
    found: dict[str, dict[str, Any]] = {}

    def collect(expected: int, timeout: float = DELIVERY_TIMEOUT) -> list[dict[str, Any]]:
        def more() -> list[dict[str, Any]] | None:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            for message in messages:
                if unique_id in message["Body"]:
                    found[message["MessageId"]] = message
                else:
                    sqs.change_message_visibility(
                        QueueUrl=queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=0,
                    )
            return list(found.values()) if len(found) >= expected else None

        messages = wait_for(
            more, timeout=timeout, interval=0.1, description=f"{expected} dead letters"
        )
        return [
            {**json.loads(m["Body"]), "_attributes": m.get("MessageAttributes")} for m in messages
        ]

    def clean() -> None:
        for message in found.values():
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    return collect, clean


@pytest.fixture
def alerts_dead_letters(
    stack: Stack, unique_id: str
) -> Iterator[Callable[[int], list[dict[str, Any]]]]:
    collect, clean = dead_letter_collector(stack, "AlertsDeadLetterQueueUrl", unique_id)
    yield collect
    clean()


@pytest.fixture
def audit_dead_letters(
    stack: Stack, unique_id: str
) -> Iterator[Callable[[int], list[dict[str, Any]]]]:
    collect, clean = dead_letter_collector(stack, "PaymentsAuditDeadLetterQueueUrl", unique_id)
    yield collect
    clean()


# --- the service's interface -------------------------------------------------------------


def test_the_topic_policy_names_who_may_publish_and_who_may_subscribe(stack):
    sns = stack.client("sns")
    topic_arn = stack.output("TopicArn")
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}

    def as_set(value: Any) -> set[str]:
        return {value} if isinstance(value, str) else set(value)

    publish = statements["PublishersMayPublish"]
    assert publish["Effect"] == "Allow"
    assert as_set(publish["Principal"]["AWS"]) == set(stack.output("AllowedPublishers").split(","))
    assert as_set(publish["Action"]) == {"sns:Publish"}
    assert publish["Resource"] == topic_arn

    subscribe = statements["SubscribersMaySubscribe"]
    assert as_set(subscribe["Principal"]["AWS"]) == set(
        stack.output("AllowedSubscribers").split(",")
    )
    assert as_set(subscribe["Action"]) == {"sns:Subscribe"}
    assert as_set(subscribe["Condition"]["StringEquals"]["sns:Protocol"]) == {
        "sqs",
        "lambda",
        "https",
        "firehose",
    }
    inspect = statements["SubscribersMayInspect"]
    assert as_set(inspect["Principal"]["AWS"]) == as_set(subscribe["Principal"]["AWS"])
    assert as_set(inspect["Action"]) == {"sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"}

    deny = statements["DenyPlainHttp"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- each subscriber gets exactly what its filter admits -----------------------------------


def test_the_alerts_subscriber_gets_only_warning_and_critical_events(publish_mix, alerts_table):
    ids = publish_mix()
    expected = {ids[name] for name, (_, severity, _) in MIX.items() if severity != "info"}
    assert len(expected) == 4

    items = alerts_table.wait_for_ids(expected, set(ids.values()))

    # The info events were published in the same breath; they never reach the queue.
    assert set(items) == expected
    overdue = items[ids["invoice-overdue"]]
    assert overdue["eventType"]["S"] == "invoice.overdue"
    assert overdue["severity"]["S"] == "critical"
    assert json.loads(overdue["data"]["S"])["amountCents"] == 120000
    assert overdue["deliveries"]["N"] == "1"


def test_the_payments_auditor_gets_only_large_payments(publish_mix, audit_table):
    ids = publish_mix()
    expected = {
        ids[name]
        for name, (event_type, _, amount) in MIX.items()
        if event_type.startswith("payment.") and amount >= 100000
    }
    assert len(expected) == 3

    items = audit_table.wait_for_ids(expected, set(ids.values()))

    # The invoices (large too), the small payments and the cancellation never reach it.
    assert set(items) == expected
    large = items[ids["payment-large-succeeded"]]
    assert large["amountCents"]["N"] == "250000"
    assert large["currency"]["S"] == "EUR"
    assert large["customerId"]["S"] == "acme"


@pytest.fixture
def own_subscriber(stack: Stack, unique_id: str) -> Iterator[dict[str, str]]:
    """A queue of 'another service': created, allowed to receive from the topic and
    subscribed with its own filter policy by the test itself; unsubscribed and deleted after."""
    sqs = stack.client("sqs")
    sns = stack.client("sns")
    topic_arn = stack.output("TopicArn")
    queue_url = sqs.create_queue(QueueName=f"notifier-{unique_id}")["QueueUrl"]
    subscription_arn = None
    try:
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
        # Its own choice of events: the invoices of its source (the test's unique id), in
        # SNS's envelope (no RawMessageDelivery), filtered on attributes.
        filter_policy = {"source": [unique_id], "eventType": [{"prefix": "invoice."}]}
        subscription_arn = sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"FilterPolicy": json.dumps(filter_policy)},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        yield {"queue_url": queue_url, "subscription_arn": subscription_arn}
    finally:
        if subscription_arn:
            sns.unsubscribe(SubscriptionArn=subscription_arn)
        sqs.delete_queue(QueueUrl=queue_url)


def test_another_service_subscribes_on_its_own_and_gets_only_its_events(
    stack, own_subscriber, publish, publish_mix, unique_id
):
    sqs = stack.client("sqs")
    queue_url = own_subscriber["queue_url"]
    received: dict[str, dict[str, Any]] = {}

    def drain() -> None:
        for message in sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            envelope = json.loads(message["Body"])
            event = json.loads(envelope["Message"])
            received[event["eventId"]] = envelope
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    # A new subscription can take a moment to take effect on AWS: probe until one arrives.
    probes: list[str] = []

    def probe_arrived() -> bool:
        probe = billing_event(unique_id, f"probe-{len(probes)}", "invoice.created", "info")
        publish(probe)
        probes.append(probe["eventId"])
        drain()
        return any(probe_id in received for probe_id in probes)

    wait_for(probe_arrived, timeout=DELIVERY_TIMEOUT, interval=1.0, description="probe delivered")
    received.clear()

    ids = publish_mix()
    expected = {ids["invoice-created"], ids["invoice-overdue"]}

    def all_arrived() -> bool:
        drain()
        return expected <= set(received) - set(probes)

    wait_for(all_arrived, timeout=DELIVERY_TIMEOUT, description="the invoices delivered")

    assert set(received) - set(probes) == expected
    envelope = received[ids["invoice-overdue"]]
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == stack.output("TopicArn")
    assert envelope["MessageAttributes"]["severity"]["Value"] == "critical"


# --- at least once: duplicates have one effect ----------------------------------------------


def test_a_duplicate_event_is_recorded_once_by_each_subscriber(
    publish, unique_id, alerts_table, audit_table
):
    event = billing_event(unique_id, "twice", "payment.failed", "critical", amount_cents=400000)
    publish(event)
    publish(event)  # the publisher retried: same eventId, a new SNS message
    event_id = event["eventId"]

    for table in (alerts_table, audit_table):
        item = wait_for(
            lambda table=table: (
                found
                if (found := table.items([event_id]).get(event_id))
                and found["deliveries"]["N"] == "2"
                else None
            ),
            timeout=DELIVERY_TIMEOUT,
            interval=0.25,
            description=f"two deliveries counted in {table.name}",
        )
        assert item["eventType"]["S"] == "payment.failed"


# --- failure path: poison ends in the DLQ with the reason, nothing lost -------------------


def test_poison_alerts_land_in_the_alerts_dlq_with_the_reason(
    publish, unique_id, alerts_table, alerts_dead_letters
):
    lying = billing_event(unique_id, "lying-attributes", "payment.failed", "info")
    attributes = routing_attributes(lying)
    attributes["severity"]["StringValue"] = "critical"  # admitted by the filter, body disagrees
    publish(lying, attributes=attributes)
    garbled = billing_event(unique_id, "garbled", "payment.failed", "critical")
    publish(garbled, body=f"not json {garbled['eventId']}")

    letters = alerts_dead_letters(2)

    reasons = {letter["error"]["message"] for letter in letters}
    assert "message attribute 'severity' is 'critical' but the body says 'info'" in reasons
    assert any(reason.startswith("body is not valid JSON") for reason in reasons)
    for letter in letters:
        assert unique_id in letter["payload"]  # the body as received, for a fix and a replay
        assert letter["_attributes"]["severity"]["StringValue"] == "critical"
    assert alerts_table.items([lying["eventId"], garbled["eventId"]]) == {}


def test_poison_payments_land_in_the_audit_dlq_with_the_reason(
    stack, publish, unique_id, audit_table, audit_dead_letters
):
    no_currency = billing_event(unique_id, "no-currency", "payment.failed", "warning")
    no_currency["data"] = {"customerId": "acme", "amountCents": 500000}
    fractional = billing_event(unique_id, "fractional", "payment.succeeded", "info")
    fractional["data"] = {"customerId": "acme", "amountCents": 250000.5, "currency": "EUR"}
    publish(no_currency)
    publish(fractional)

    letters = {
        json.loads(letter["payload"]["Message"])["eventId"]: letter
        for letter in audit_dead_letters(2)
    }

    assert set(letters) == {no_currency["eventId"], fractional["eventId"]}
    assert "data.currency" in letters[no_currency["eventId"]]["error"]["message"]
    assert (
        letters[fractional["eventId"]]["error"]["message"]
        == "field 'data.amountCents' must be an integer"
    )
    for letter in letters.values():
        assert letter["payload"]["TopicArn"] == stack.output("TopicArn")
        assert letter["payload"]["MessageAttributes"]["source"]["Value"] == unique_id
    assert audit_table.items(list(letters)) == {}


def test_a_burst_of_alerts_loses_nothing(publish, unique_id, alerts_table, alerts_dead_letters):
    """Every published alert ends either recorded (once) or in the DLQ (with why)."""
    valid = [
        billing_event(unique_id, f"burst-{n:03d}", "invoice.overdue", "critical") for n in range(30)
    ]
    invalid = [
        billing_event(
            unique_id, f"burst-bad-{n}", "invoice.overdue", "warning", occurredAt="2026-11-22"
        )
        for n in range(5)
    ]
    for event in valid + invalid:
        publish(event)

    items = alerts_table.wait_for_ids(
        {event["eventId"] for event in valid}, {event["eventId"] for event in invalid}
    )
    letters = alerts_dead_letters(len(invalid))

    assert set(items) == {event["eventId"] for event in valid}
    assert all(item["deliveries"]["N"] == "1" for item in items.values())
    assert len(letters) == len(invalid)
    assert {letter["error"]["message"] for letter in letters} == {
        "field 'occurredAt' must include a time zone (Z or +hh:mm)"
    }
    assert len(items) + len(letters) == len(valid) + len(invalid)


# On AWS, Lambda retries a failed asynchronous invocation after about one and then two minutes.
RETRIES_TIMEOUT = 420.0


def test_a_payment_the_auditor_keeps_failing_reaches_the_dlq_after_its_retries(
    stack, publish, unique_id, audit_table
):
    """A fault drill (an item in the auditor's table, see notifier_contract.storage) makes
    every attempt fail as an outage would: Lambda retries twice, then its on-failure
    destination puts the whole invocation record, payload and error, in the audit DLQ."""
    event = billing_event(unique_id, "drill", "payment.failed", "critical", amount_cents=300000)
    event_id = event["eventId"]
    audit_table.touched.add(event_id)
    audit_table.dynamodb.put_item(
        TableName=audit_table.name,
        Item={"eventId": {"S": event_id}, "faultDrill": {"S": "armed by the integration tests"}},
    )
    collect, clean = dead_letter_collector(stack, "PaymentsAuditDeadLetterQueueUrl", unique_id)
    try:
        publish(event)
        (record,) = collect(1, timeout=RETRIES_TIMEOUT)
    finally:
        clean()

    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].split(":")[6] == stack.output(
        "PaymentsAuditFunctionName"
    )
    assert record["responsePayload"]["errorType"] == "FaultDrill"
    assert event_id in record["responsePayload"]["errorMessage"]
    # The payload is the SNS event as delivered: everything needed to replay it.
    (sns_record,) = record["requestPayload"]["Records"]
    assert json.loads(sns_record["Sns"]["Message"]) == event
    assert sns_record["Sns"]["TopicArn"] == stack.output("TopicArn")
    # Nothing was recorded: the table still holds only the drill.
    (item,) = audit_table.items([event_id]).values()
    assert "amountCents" not in item
