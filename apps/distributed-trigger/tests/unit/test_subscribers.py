"""The subscriber services: their rules, consuming a message once, and the handlers on moto."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from orderfeed_billing.billing import Billing
from orderfeed_contract.events import InvalidOrderEvent, OrderEvent
from orderfeed_contract.subscriber import Outcome, QueueMessage, consume
from orderfeed_loyalty.loyalty import Loyalty
from orderfeed_shipping.shipping import Shipping


def as_event(document: dict[str, Any]) -> OrderEvent:
    return OrderEvent.from_document(document)


# --- the services' rules -------------------------------------------------------------------


def test_shipping_prepares_placed_orders_and_stops_cancelled_ones(order_event):
    assert Shipping().project(as_event(order_event())) == {"status": "to-ship", "country": "DE"}
    assert Shipping().project(as_event(order_event("order.cancelled"))) == {"status": "cancelled"}


@pytest.mark.parametrize("ship_to", [None, {}, {"country": "Germany"}, "DE"])
def test_shipping_cannot_ship_without_a_country(order_event, ship_to):
    document = order_event()
    document["data"]["ship_to"] = ship_to

    with pytest.raises(InvalidOrderEvent, match=r"field 'data.ship_to.country'"):
        Shipping().project(as_event(document))


def test_billing_charges_placed_orders_and_refunds_refunded_ones(order_event):
    assert Billing().project(as_event(order_event())) == {
        "kind": "charge",
        "amount": "72.5",
        "currency": "EUR",
    }
    refunded = order_event("order.refunded", total=10, currency="USD")
    assert Billing().project(as_event(refunded)) == {
        "kind": "refund",
        "amount": "10",
        "currency": "USD",
    }


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"currency": "EUR"}, "field 'data.total' must be a number"),
        ({"total": "12", "currency": "EUR"}, "field 'data.total' must be a number"),
        ({"total": True, "currency": "EUR"}, "field 'data.total' must be a number"),
        ({"total": -1, "currency": "EUR"}, "field 'data.total' must be between 0"),
        ({"total": 1.005, "currency": "EUR"}, "at most two decimals"),
        ({"total": 1, "currency": "euro"}, "field 'data.currency'"),
    ],
)
def test_billing_needs_an_amount_and_a_currency(order_event, data, reason):
    with pytest.raises(InvalidOrderEvent, match=reason):
        Billing().project(as_event(order_event("order.refunded", **data)))


def test_loyalty_gives_a_point_per_whole_unit(order_event):
    assert Loyalty().project(as_event(order_event())) == {"customer_id": "cust-7", "points": 72}


def test_loyalty_refuses_what_its_filter_should_have_kept_away(order_event):
    small = order_event(customer_id="c", total=49.99, currency="EUR")
    with pytest.raises(InvalidOrderEvent, match="orders under 50"):
        Loyalty().project(as_event(small))
    with pytest.raises(InvalidOrderEvent, match=r"loyalty does not handle order\.cancelled"):
        Loyalty().project(as_event(order_event("order.cancelled")))
    with pytest.raises(InvalidOrderEvent, match=r"data\.customer_id"):
        Loyalty().project(as_event(order_event(total=60, currency="EUR")))


def test_each_service_refuses_event_types_it_does_not_subscribe_to(order_event):
    viewed = as_event(order_event("order.viewed"))
    for service in (Shipping(), Billing(), Loyalty()):
        with pytest.raises(InvalidOrderEvent, match=f"{service.service} does not handle"):
            service.project(viewed)


# --- consuming one message -----------------------------------------------------------------


class DictStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def record(self, event: OrderEvent, attributes: Mapping[str, Any]) -> bool:
        key = (event.order_id, event.event_type)
        if key in self.items:
            return False
        self.items[key] = {"event_id": event.event_id, **attributes}
        return True


class ListDeadLetters:
    def __init__(self) -> None:
        self.parked: list[tuple[QueueMessage, InvalidOrderEvent]] = []

    def park(self, message: QueueMessage, reason: InvalidOrderEvent) -> None:
        self.parked.append((message, reason))


def message(sqs_record, body: Any) -> QueueMessage:
    return QueueMessage.from_event_record(
        sqs_record(body, attributes={"event_type": ("String", "order.placed")}, receive_count=2)
    )


def test_an_event_is_recorded_once(sqs_record, order_event):
    store, dead = DictStore(), ListDeadLetters()
    first = consume(message(sqs_record, order_event()), Shipping(), store, dead)
    again = consume(message(sqs_record, order_event()), Shipping(), store, dead)

    assert (first.outcome, again.outcome) == (Outcome.RECORDED, Outcome.DUPLICATE)
    assert store.items == {
        ("ord-1", "order.placed"): {"event_id": "1" * 56, "status": "to-ship", "country": "DE"}
    }
    assert dead.parked == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "body is not valid JSON"),
        ("[]", "body must be a JSON object"),
        ({"event_type": "order.placed"}, "missing required field"),
    ],
)
def test_a_message_that_breaks_the_contract_is_parked(sqs_record, body, reason):
    store, dead = DictStore(), ListDeadLetters()

    consumed = consume(message(sqs_record, body), Billing(), store, dead)

    assert consumed.outcome is Outcome.PARKED
    [(parked, why)] = dead.parked
    assert str(why).startswith(reason)
    assert parked.receive_count == 2
    assert parked.attributes == {
        "event_type": {"DataType": "String", "StringValue": "order.placed"}
    }
    assert store.items == {}


# --- the handlers on moto ------------------------------------------------------------------


@pytest.fixture
def subscriber(aws, monkeypatch, fresh_import):
    """``subscriber("orderfeed_shipping")``: the handler bound to a moto table and DLQ;
    returns (handler module, table name, DLQ URL)."""

    def make(package: str) -> tuple[Any, str, str]:
        name = f"{package}-table"
        aws("dynamodb").create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "order_id", "AttributeType": "S"},
                {"AttributeName": "event_type", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "order_id", "KeyType": "HASH"},
                {"AttributeName": "event_type", "KeyType": "RANGE"},
            ],
        )
        dlq = aws("sqs").create_queue(QueueName=f"{package}-dlq")["QueueUrl"]
        monkeypatch.setenv("TABLE_NAME", name)
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq)
        return fresh_import(f"{package}.handler"), name, dlq

    return make


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("orderfeed_shipping", {"status": "to-ship", "country": "DE"}),
        ("orderfeed_billing", {"kind": "charge", "amount": "72.5", "currency": "EUR"}),
        ("orderfeed_loyalty", {"customer_id": "cust-7", "points": 72}),
    ],
)
def test_each_handler_records_its_projection(
    aws, subscriber, package, expected, sqs_record, order_event, context
):
    handler, table, _ = subscriber(package)
    record = sqs_record(order_event())

    result = handler.lambda_handler({"Records": [record, dict(record)]}, context)

    assert result == {"batchItemFailures": []}
    [item] = aws("dynamodb").scan(TableName=table)["Items"]
    values = {name: next(iter(value.values())) for name, value in item.items()}
    assert values["order_id"] == "ord-1"
    assert values["event_id"] == "1" * 56
    assert {k: values[k] for k in expected} == {k: str(v) for k, v in expected.items()}


def test_a_handler_parks_what_it_cannot_use_and_reports_what_failed(
    aws, subscriber, sqs_record, order_event, context, drain, monkeypatch
):
    handler, _, dlq = subscriber("orderfeed_shipping")
    unusable = order_event(order_id="no-address", total=5, currency="EUR")
    broken = sqs_record(order_event(order_id="table-down"))
    recorded = []

    def record(event: OrderEvent, attributes: Mapping[str, Any]) -> bool:
        if event.order_id == "table-down":
            raise ConnectionError("DynamoDB unreachable")
        recorded.append(event.order_id)
        return True

    monkeypatch.setattr(handler._store, "record", record)

    result = handler.lambda_handler(
        {"Records": [sqs_record(unusable), broken, sqs_record(order_event())]}, context
    )

    # Only the message that hit the outage returns to the queue (and, after five receives,
    # goes to the DLQ by the queue's redrive policy).
    assert result == {"batchItemFailures": [{"itemIdentifier": broken["messageId"]}]}
    assert recorded == ["ord-1"]
    [parked] = drain(aws("sqs"), dlq)
    envelope = json.loads(parked["Body"])
    assert envelope["error"]["message"].startswith("field 'data.ship_to.country'")
    assert json.loads(envelope["payload"])["order_id"] == "no-address"
