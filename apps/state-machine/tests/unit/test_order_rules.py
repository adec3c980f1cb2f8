"""The saga's steps on an in-memory store: each applies its effect once, the charge tells a
transient failure from a permanent one, and the compensations undo only what was done."""

from __future__ import annotations

from decimal import Decimal

import pytest
from saga_orders.orders import (
    InvalidOrder,
    Order,
    OrderNotFound,
    OrderRejected,
    PaymentDeclined,
    PaymentGatewayUnavailable,
    charge_payment,
    confirm_order,
    new_order,
    order_id_of,
    refund_payment,
    release_inventory,
    reserve_inventory,
)

from .conftest import InMemoryOrderStore, MakeRequest


def _placed(store: InMemoryOrderStore, request: dict) -> Order:
    order = new_order(request)
    store.create(order)
    return order


def test_a_valid_request_makes_a_pending_order(make_request: MakeRequest) -> None:
    order = new_order(make_request(amount="12.5"))
    assert order.order_id.startswith("ord-")
    assert order.status == "PENDING"
    assert order.amount == Decimal("12.5")
    assert order.to_json()["amount"] == "12.50"
    assert order.steps == []
    assert order.fault_drill.charge_transient_failures == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"items": []}, "items"),
        ({"customer_id": None}, "customer_id"),
        ({"amount": "ten"}, "amount"),
        ({"amount": 10}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"items": [{"sku": "a", "quantity": 0}]}, "quantity"),
        ({"fault_drill": {"charge_transient_failures": 99}}, "charge_transient_failures"),
        ({"fault_drill": {"explode": True}}, "explode"),
        ({"coupon": "FREE"}, "coupon"),
    ],
)
def test_an_invalid_request_names_the_field(
    make_request: MakeRequest, overrides: dict, field: str
) -> None:
    with pytest.raises(InvalidOrder, match=field):
        new_order(make_request(**overrides))


def test_a_zero_amount_is_refused(make_request: MakeRequest) -> None:
    with pytest.raises(InvalidOrder, match="amount"):
        new_order(make_request(amount="0.00"))


def test_every_step_applies_once_however_often_it_runs(
    store: InMemoryOrderStore, make_request: MakeRequest
) -> None:
    order = _placed(store, make_request())
    for step in (reserve_inventory, charge_payment, confirm_order):
        first = step(store, order.order_id)
        again = step(store, order.order_id)  # a Step Functions retry of a step that worked
        assert (first["applied"], again["applied"]) == (True, False)
    final = store.orders[order.order_id]
    assert final.steps == ["reserve", "charge", "confirm"]
    assert (final.status, final.reservation, final.payment) == ("CONFIRMED", "HELD", "CHARGED")
    # The repeated charge found the payment taken and did not even try the gateway again.
    assert final.charge_attempts == 1


def test_the_gateway_fails_the_first_n_attempts_then_charges(
    store: InMemoryOrderStore, make_request: MakeRequest
) -> None:
    order = _placed(store, make_request(fault_drill={"charge_transient_failures": 2}))
    for attempt in (1, 2):
        with pytest.raises(PaymentGatewayUnavailable, match=f"attempt {attempt}"):
            charge_payment(store, order.order_id)
    assert charge_payment(store, order.order_id)["applied"] is True
    final = store.orders[order.order_id]
    assert (final.payment, final.charge_attempts, final.steps) == ("CHARGED", 3, ["charge"])


def test_a_declined_payment_fails_every_attempt_and_charges_nothing(
    store: InMemoryOrderStore, make_request: MakeRequest
) -> None:
    order = _placed(store, make_request(fault_drill={"charge_declined": True}))
    for _ in range(2):
        with pytest.raises(PaymentDeclined):
            charge_payment(store, order.order_id)
    assert store.orders[order.order_id].payment is None


def test_a_rejected_confirmation_leaves_the_order_pending(
    store: InMemoryOrderStore, make_request: MakeRequest
) -> None:
    order = _placed(store, make_request(fault_drill={"confirm_rejected": True}))
    with pytest.raises(OrderRejected):
        confirm_order(store, order.order_id)
    assert store.orders[order.order_id].status == "PENDING"


def test_compensations_undo_what_was_done_once(
    store: InMemoryOrderStore, make_request: MakeRequest
) -> None:
    order = _placed(store, make_request())
    reserve_inventory(store, order.order_id)
    charge_payment(store, order.order_id)
    assert refund_payment(store, order.order_id)["applied"] is True
    assert release_inventory(store, order.order_id)["applied"] is True
    assert refund_payment(store, order.order_id)["applied"] is False
    assert release_inventory(store, order.order_id)["applied"] is False
    final = store.orders[order.order_id]
    assert final.steps == ["reserve", "charge", "refund", "release"]
    assert (final.reservation, final.payment) == ("RELEASED", "REFUNDED")


def test_compensations_of_steps_never_applied_change_nothing(
    store: InMemoryOrderStore, make_request: MakeRequest
) -> None:
    order = _placed(store, make_request())
    assert refund_payment(store, order.order_id)["applied"] is False
    assert release_inventory(store, order.order_id)["applied"] is False
    assert store.orders[order.order_id].steps == []


def test_a_step_of_an_unknown_order_fails(store: InMemoryOrderStore) -> None:
    with pytest.raises(OrderNotFound):
        reserve_inventory(store, "ord-missing")


@pytest.mark.parametrize("event", [{}, {"order_id": 7}, "ord-1", None])
def test_a_step_input_needs_an_order_id(event: object) -> None:
    with pytest.raises(InvalidOrder, match="order_id"):
        order_id_of(event)
