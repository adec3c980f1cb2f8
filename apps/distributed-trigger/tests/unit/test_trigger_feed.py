"""The trigger's rules: decoding the awslogs payload, lines to events, what is published."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from orderfeed_contract.events import OrderEvent
from orderfeed_trigger import feed


class ListPublisher:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.published: list[OrderEvent] = []
        self.refuse = refuse or set()

    def publish(self, events: Sequence[OrderEvent]) -> list[tuple[OrderEvent, str]]:
        refused = [(e, "InvalidParameter: too big") for e in events if e.order_id in self.refuse]
        self.published.extend(e for e in events if e.order_id not in self.refuse)
        return refused


class ListRejections:
    def __init__(self) -> None:
        self.parked: list[tuple[feed.LogBatch, feed.RejectedLine]] = []

    def park(self, batch: feed.LogBatch, rejected: feed.RejectedLine) -> None:
        self.parked.append((batch, rejected))


def test_decode_reads_the_subscription_payload(awslogs_event, log_line):
    batch = feed.decode_awslogs(awslogs_event([log_line(), "plain text"]))

    assert batch.message_type == "DATA_MESSAGE"
    assert batch.log_group == "/distributed-trigger/order-audit"
    assert batch.log_stream == "orders-api"
    assert [event.message for event in batch.events] == [json.dumps(log_line()), "plain text"]
    assert all(event.id.isdigit() for event in batch.events)


@pytest.mark.parametrize(
    "event",
    [{}, {"awslogs": {}}, {"awslogs": {"data": "not base64!"}}, {"awslogs": {"data": "aGVsbG8="}}],
)
def test_decode_refuses_what_is_not_a_logs_event(event):
    with pytest.raises(feed.InvalidTriggerEvent, match="not a CloudWatch Logs subscription"):
        feed.decode_awslogs(event)


def test_a_valid_line_becomes_an_event_keyed_by_the_log_event_id(awslogs_event, log_line):
    batch = feed.decode_awslogs(awslogs_event([{**log_line(), "level": "INFO"}]))

    [event] = feed.translate(batch).events

    assert event.event_id == batch.events[0].id
    assert (event.event_type, event.order_id) == ("order.placed", "ord-1")
    assert event.data["total"] == 72.5
    assert event.source == {"log_group": batch.log_group, "log_stream": batch.log_stream}
    assert event.message_attributes() == {
        "event_type": {"DataType": "String", "StringValue": "order.placed"},
        "order_total": {"DataType": "Number", "StringValue": "72.5"},
    }


def test_an_event_without_a_numeric_total_has_no_total_attribute(awslogs_event, log_line):
    batch = feed.decode_awslogs(awslogs_event([log_line("order.cancelled")]))

    [event] = feed.translate(batch).events

    assert set(event.message_attributes()) == {"event_type"}
    assert event.data == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("order 7 placed", "line is not valid JSON"),
        ("[1, 2]", "line must be a JSON object"),
        (json.dumps({"event_type": "order.placed", "order_id": "o"}), "missing required field"),
        (
            json.dumps({"event_type": "Order Placed", "order_id": "o", "occurred_at": "x"}),
            "field 'event_type' must be dotted lower-case words",
        ),
        (
            json.dumps({"event_type": "order.placed", "order_id": "o", "occurred_at": "yesterday"}),
            "field 'occurred_at'",
        ),
        (
            json.dumps(
                {
                    "event_type": "order.placed",
                    "order_id": "o",
                    "occurred_at": "2026-11-23T10:15:00Z",
                    "data": "big",
                }
            ),
            "field 'data' must be an object",
        ),
    ],
)
def test_a_line_that_is_not_an_event_is_rejected_with_the_reason(awslogs_event, text, reason):
    translation = feed.translate(feed.decode_awslogs(awslogs_event([text])))

    assert translation.events == []
    [rejected] = translation.rejected
    assert rejected.line.message == text
    assert rejected.reason.startswith(reason)


def test_an_event_too_big_for_sns_is_rejected(awslogs_event, log_line):
    line = log_line("order.placed", "ord-big", notes="x" * feed.MAX_MESSAGE_BYTES)

    [rejected] = feed.translate(feed.decode_awslogs(awslogs_event([line]))).rejected

    assert "SNS takes at most 262144" in rejected.reason


def test_trigger_publishes_the_events_and_parks_the_rest(awslogs_event, log_line):
    batch = feed.decode_awslogs(
        awslogs_event([log_line(order_id="a"), "junk", log_line("order.cancelled", "b")])
    )
    publisher, rejections = ListPublisher(), ListRejections()

    triggered = feed.trigger(batch, publisher, rejections)

    assert [e.order_id for e in publisher.published] == ["a", "b"]
    assert [(b, r.line.message) for b, r in rejections.parked] == [(batch, "junk")]
    assert triggered.as_dict() == {"received": 3, "published": 2, "rejected": 1}


def test_events_sns_refuses_for_good_are_parked_with_its_reason(awslogs_event, log_line):
    batch = feed.decode_awslogs(awslogs_event([log_line(order_id="a"), log_line(order_id="b")]))
    publisher, rejections = ListPublisher(refuse={"b"}), ListRejections()

    triggered = feed.trigger(batch, publisher, rejections)

    [(_, rejected)] = rejections.parked
    assert rejected.line == batch.events[1]
    assert rejected.reason == "SNS refused it: InvalidParameter: too big"
    assert (triggered.published, triggered.rejected) == (1, 1)


def test_a_fault_drill_fails_the_batch_before_anything_is_published(awslogs_event, log_line):
    drill: dict[str, Any] = {**log_line(order_id="d"), "fault_drill": "publish"}
    batch = feed.decode_awslogs(awslogs_event([log_line(order_id="a"), "junk", drill]))
    publisher, rejections = ListPublisher(), ListRejections()

    with pytest.raises(feed.FaultDrill, match=batch.events[2].id):
        feed.trigger(batch, publisher, rejections)

    assert publisher.published == []
    assert rejections.parked == []


def test_an_unknown_fault_drill_is_a_rejected_line(awslogs_event, log_line):
    batch = feed.decode_awslogs(awslogs_event([{**log_line(), "fault_drill": "everything"}]))

    [rejected] = feed.translate(batch).rejected

    assert rejected.reason.startswith("field 'fault_drill' must be one of")


def test_a_control_message_publishes_nothing(awslogs_event):
    batch = feed.decode_awslogs(awslogs_event([], message_type="CONTROL_MESSAGE"))
    publisher, rejections = ListPublisher(), ListRejections()

    assert feed.trigger(batch, publisher, rejections).as_dict() == {
        "received": 0,
        "published": 0,
        "rejected": 0,
    }
    assert publisher.published == []
