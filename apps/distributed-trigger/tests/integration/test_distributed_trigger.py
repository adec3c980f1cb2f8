"""The Distributed Trigger promise, end to end, against a deployed stack.

Audit lines written to the order service's log group (PutLogEvents, as the service's own
code would) become order events on its topic, and every subscriber service ends with
exactly the events its filter policy admits. Lines that are not events are parked with the
reason, an event a subscriber cannot use lands in that subscriber's DLQ with the reason
while the others use it, and a batch the trigger cannot publish lands in the trigger's
failure destination with the whole batch: nothing is lost.

Every test writes to its own log stream and uses order ids starting with its unique id.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from stack_testing import Stack, wait_for

DELIVERY_TIMEOUT = 90.0
# On AWS the trigger's two retries come one and two minutes after the first attempt.
FAILURE_TIMEOUT = 420.0

Write = Callable[[list[Any]], None]


@pytest.fixture
def write(stack: Stack, unique_id: str) -> Iterator[Write]:
    """``write([line, ...])``: one PutLogEvents call on a log stream of this test (a dict
    is written as its JSON, a str as it is)."""
    logs = stack.client("logs")
    group = stack.output("OrderAuditLogGroupName")
    logs.create_log_stream(logGroupName=group, logStreamName=unique_id)

    def put(lines: list[Any]) -> None:
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=unique_id,
            logEvents=[
                {"timestamp": now, "message": line if isinstance(line, str) else json.dumps(line)}
                for line in lines
            ],
        )

    yield put
    logs.delete_log_stream(logGroupName=group, logStreamName=unique_id)
    # What the subscribers recorded for this test's orders goes too.
    dynamodb = stack.client("dynamodb")
    for service in ("Shipping", "Billing", "Loyalty"):
        for order_id, event_type in recorded(stack, service, unique_id):
            dynamodb.delete_item(
                TableName=stack.output(f"{service}TableName"),
                Key={"order_id": {"S": order_id}, "event_type": {"S": event_type}},
            )


def line(event_type: str, order_id: str, **data: Any) -> dict[str, Any]:
    return {
        "level": "INFO",
        "event_type": event_type,
        "order_id": order_id,
        "occurred_at": "2026-11-23T10:15:00Z",
        "data": data,
    }


def placed(order_id: str, total: float, **extra: Any) -> dict[str, Any]:
    data = {"customer_id": "cust-7", "total": total, "currency": "EUR"}
    data.setdefault("ship_to", {"country": "DE"})
    return line("order.placed", order_id, **{**data, **extra})


def recorded(stack: Stack, service: str, unique_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The items of a subscriber's table for this test's orders, by (order id, event type)."""
    table = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": stack.output(f"{service}TableName"),
        "FilterExpression": "begins_with(order_id, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": unique_id}},
        "ConsistentRead": True,
    }
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {
        (item["order_id"]["S"], item["event_type"]["S"]): {
            name: next(iter(value.values())) for name, value in item.items()
        }
        for item in items
    }


def wait_recorded(
    stack: Stack, service: str, unique_id: str, expected: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Wait until the table holds at least ``expected``; return what it holds then."""
    return wait_for(
        lambda: (found := recorded(stack, service, unique_id)) and expected <= set(found) and found,
        timeout=DELIVERY_TIMEOUT,
        description=f"{service} recorded {sorted(expected)}",
    )


def messages_about(
    stack: Stack,
    queue_output: str,
    needle: str,
    count: int,
    timeout: float = DELIVERY_TIMEOUT,
    text_of: Callable[[str], str] = lambda body: body,
) -> list[dict[str, Any]]:
    """Wait for ``count`` messages on a queue whose ``text_of(body)`` contains ``needle``;
    delete them. The queues are shared by test runs: other messages are left to their owners.
    """
    sqs = stack.client("sqs")
    url = stack.output(queue_output)
    found: list[dict[str, Any]] = []

    def poll() -> list[dict[str, Any]] | None:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=5,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for message in batch:
            if needle in text_of(message["Body"]):
                found.append(message)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found if len(found) >= count else None

    return wait_for(poll, timeout=timeout, description=f"{count} message(s) about {needle}")


def test_each_subscriber_gets_exactly_the_events_its_filter_admits(stack, write, unique_id):
    a, b, c = (f"{unique_id}-{name}" for name in "abc")
    write(
        [
            placed(a, 72.5),
            placed(b, 20),
            line("order.cancelled", b),
            line("order.refunded", a, total=72.5, currency="EUR"),
            # Nobody subscribes to order views: SNS drops the event.
            line("order.viewed", c),
        ]
    )

    shipping = wait_recorded(
        stack,
        "Shipping",
        unique_id,
        {(a, "order.placed"), (b, "order.placed"), (b, "order.cancelled")},
    )
    billing = wait_recorded(
        stack,
        "Billing",
        unique_id,
        {(a, "order.placed"), (b, "order.placed"), (a, "order.refunded")},
    )
    loyalty = wait_recorded(stack, "Loyalty", unique_id, {(a, "order.placed")})

    # Exactly: read again once all three are there, so a stray delivery has had its chance.
    assert (
        recorded(stack, "Shipping", unique_id).keys()
        == shipping.keys()
        == {
            (a, "order.placed"),
            (b, "order.placed"),
            (b, "order.cancelled"),
        }
    )
    assert (
        recorded(stack, "Billing", unique_id).keys()
        == billing.keys()
        == {
            (a, "order.placed"),
            (b, "order.placed"),
            (a, "order.refunded"),
        }
    )
    # Order b (20) is under loyalty's numeric filter; nothing of c reaches anyone.
    assert recorded(stack, "Loyalty", unique_id).keys() == loyalty.keys() == {(a, "order.placed")}

    assert shipping[(a, "order.placed")]["status"] == "to-ship"
    assert shipping[(a, "order.placed")]["country"] == "DE"
    assert shipping[(b, "order.cancelled")]["status"] == "cancelled"
    assert (billing[(a, "order.placed")]["kind"], billing[(a, "order.placed")]["amount"]) == (
        "charge",
        "72.5",
    )
    assert billing[(a, "order.refunded")]["kind"] == "refund"
    assert loyalty[(a, "order.placed")]["points"] == "72"
    assert loyalty[(a, "order.placed")]["customer_id"] == "cust-7"
    # One event, one id everywhere: the log event's id, which retries keep.
    event_ids = {
        shipping[(a, "order.placed")]["event_id"],
        billing[(a, "order.placed")]["event_id"],
        loyalty[(a, "order.placed")]["event_id"],
    }
    assert len(event_ids) == 1


def test_a_line_that_is_not_an_event_is_parked_with_the_reason(stack, write, unique_id):
    good = f"{unique_id}-good"
    write(
        [
            f"order {unique_id} placed, probably",
            {"event_type": "order.placed", "occurred_at": "2026-11-23T10:15:00Z", "x": unique_id},
            placed(good, 10),
        ]
    )

    rejected = messages_about(stack, "RejectedLinesQueueUrl", unique_id, 2)
    reasons = {
        json.loads(message["Body"])["payload"]: json.loads(message["Body"])["error"]["message"]
        for message in rejected
    }
    assert reasons[f"order {unique_id} placed, probably"] == "line is not valid JSON"
    [(text, reason)] = [(k, v) for k, v in reasons.items() if k.startswith("{")]
    assert json.loads(text)["x"] == unique_id
    assert "order_id" in reason
    group = stack.output("OrderAuditLogGroupName")
    assert all(m["MessageAttributes"]["log_group"]["StringValue"] == group for m in rejected)
    # The rest of the batch went on.
    wait_recorded(stack, "Billing", unique_id, {(good, "order.placed")})


def test_an_event_a_subscriber_cannot_use_goes_to_its_dlq_while_others_use_it(
    stack, write, unique_id
):
    order = f"{unique_id}-nowhere"
    write([placed(order, 99.99, ship_to=None)])

    # Billing and loyalty need no address: they record the order.
    wait_recorded(stack, "Billing", unique_id, {(order, "order.placed")})
    wait_recorded(stack, "Loyalty", unique_id, {(order, "order.placed")})
    # Shipping cannot ship it: parked in its DLQ with the reason, not retried.
    [dead] = messages_about(stack, "ShippingDeadLetterQueueUrl", order, 1)
    envelope = json.loads(dead["Body"])
    assert envelope["error"]["message"].startswith("field 'data.ship_to.country'")
    assert json.loads(envelope["payload"])["order_id"] == order
    assert dead["MessageAttributes"]["event_type"]["StringValue"] == "order.placed"
    assert recorded(stack, "Shipping", unique_id) == {}


def _logs_data(payload: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(payload["awslogs"]["data"])))
    return data


def _lines_of(payload: dict[str, Any]) -> list[str]:
    return [event["message"] for event in _logs_data(payload)["logEvents"]]


def _batch_text(body: str) -> str:
    """The lines of the batch an invocation record holds (its payload is gzip'd)."""
    try:
        return "\n".join(_lines_of(json.loads(body)["requestPayload"]))
    except (KeyError, TypeError, ValueError, OSError):
        return ""


@pytest.mark.timeout(FAILURE_TIMEOUT + 2 * DELIVERY_TIMEOUT)
def test_a_batch_the_trigger_cannot_publish_lands_in_its_failure_destination(
    stack, write, unique_id
):
    """A fault drill line fails every attempt of its batch (as an SNS outage would): after
    Lambda's retries the failure queue holds the whole batch, and replaying it (here without
    the drill) delivers what it held."""
    order = f"{unique_id}-held"
    drill = {**line("order.viewed", f"{unique_id}-drill"), "fault_drill": "publish"}
    write([placed(order, 55), drill])

    [failure] = messages_about(
        stack, "TriggerFailuresQueueUrl", unique_id, 1, FAILURE_TIMEOUT, _batch_text
    )
    record = json.loads(failure["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "FaultDrill"
    lines = _lines_of(record["requestPayload"])
    assert [json.loads(text)["order_id"] for text in lines] == [order, f"{unique_id}-drill"]
    assert recorded(stack, "Billing", unique_id) == {}

    # Nothing lost: the record holds the batch; replayed without the drill, it goes through.
    data = json.loads(
        gzip.decompress(base64.b64decode(record["requestPayload"]["awslogs"]["data"]))
    )
    data["logEvents"] = [e for e in data["logEvents"] if "fault_drill" not in e["message"]]
    replay = {
        "awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}
    }
    stack.client("lambda").invoke(
        FunctionName=stack.output("OrderEventTriggerFunctionName"),
        InvocationType="Event",
        Payload=json.dumps(replay).encode(),
    )
    wait_recorded(stack, "Billing", unique_id, {(order, "order.placed")})
    wait_recorded(stack, "Shipping", unique_id, {(order, "order.placed")})
    wait_recorded(stack, "Loyalty", unique_id, {(order, "order.placed")})
