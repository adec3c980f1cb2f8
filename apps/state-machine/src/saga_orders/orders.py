"""An order and the saga steps applied to it, independent of AWS.

The state machine runs the steps in this order and, on a failure past the retries, the
compensations in reverse:

    reserve -> charge -> (confirmation delay) -> confirm
    on failure: refund (if charged) -> release (if reserved) -> order CANCELLED

Every step is idempotent, because Step Functions retries a Task whose invocation failed or
timed out even when the function did its work: a step applies its effect once and records
its name in the order's ``steps`` list; a repeated call finds the effect applied and
changes nothing.

Fault drills: an order may carry ``fault_drill`` (set when it is created) so an operator or
a test can rehearse the failure paths on a real deployment: ``charge_transient_failures``
(the payment gateway is unavailable for the first N charge attempts: a transient error the
state machine retries), ``charge_declined`` (the card is declined: permanent) and
``confirm_rejected`` (the warehouse refuses the order after it was charged: permanent, so
both the refund and the release run).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from common_layer.validation import SchemaViolation, validate

MAX_TRANSIENT_FAILURES = 10

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["customer_id", "items", "amount", "currency"],
    "properties": {
        "customer_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sku", "quantity"],
                "properties": {
                    "sku": {"type": "string", "minLength": 1, "maxLength": 64},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
            },
        },
        "amount": {"type": "string", "pattern": r"^\d{1,9}(\.\d{1,2})?$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "fault_drill": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "charge_transient_failures": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_TRANSIENT_FAILURES,
                },
                "charge_declined": {"type": "boolean"},
                "confirm_rejected": {"type": "boolean"},
            },
        },
    },
}


class InvalidOrder(ValueError):
    """The order request breaks a rule; the message names the field."""


class OrderNotFound(LookupError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} not found")
        self.order_id = order_id


# The error names below are what the state machine matches in Retry/Catch (ErrorEquals):
# Lambda reports an unhandled exception's class name as the error type.
class PaymentGatewayUnavailable(Exception):
    """Transient: the payment provider did not answer; the state machine retries."""


class PaymentDeclined(Exception):
    """Permanent: the payment was refused; retrying cannot help."""


class OrderRejected(Exception):
    """Permanent: the warehouse refused the order at confirmation."""


@dataclass(frozen=True)
class FaultDrill:
    charge_transient_failures: int = 0
    charge_declined: bool = False
    confirm_rejected: bool = False

    @classmethod
    def from_json(cls, value: Any) -> FaultDrill:
        data = value if isinstance(value, dict) else {}
        return cls(
            charge_transient_failures=int(data.get("charge_transient_failures", 0)),
            charge_declined=bool(data.get("charge_declined", False)),
            confirm_rejected=bool(data.get("confirm_rejected", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "charge_transient_failures": self.charge_transient_failures,
            "charge_declined": self.charge_declined,
            "confirm_rejected": self.confirm_rejected,
        }


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    items: list[dict[str, Any]]
    amount: Decimal
    currency: str
    created_at: str
    status: str = "PENDING"  # PENDING -> CONFIRMED | CANCELLED
    reservation: str | None = None  # HELD -> RELEASED
    payment: str | None = None  # CHARGED -> REFUNDED
    charge_attempts: int = 0
    steps: list[str] = field(default_factory=list)
    execution_arn: str | None = None
    failure: dict[str, str] | None = None
    fault_drill: FaultDrill = field(default_factory=FaultDrill)

    def to_json(self) -> dict[str, Any]:
        """The order as the API shows it."""
        return {
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "items": self.items,
            "amount": f"{self.amount:.2f}",
            "currency": self.currency,
            "created_at": self.created_at,
            "status": self.status,
            "reservation": self.reservation,
            "payment": self.payment,
            "charge_attempts": self.charge_attempts,
            "steps": list(self.steps),
            "execution_arn": self.execution_arn,
            "failure": self.failure,
        }


class OrderStore(Protocol):
    """Where orders live. Each ``apply_*`` is one conditional write: it applies the effect
    and appends the step name only if the order is in the state the step expects, and
    returns whether it did (False: already applied, or nothing to undo)."""

    def create(self, order: Order) -> None: ...

    def get(self, order_id: str) -> Order | None: ...

    def set_execution(self, order_id: str, execution_arn: str) -> None: ...

    def count_charge_attempt(self, order_id: str) -> int: ...

    def apply_step(
        self,
        order_id: str,
        step: str,
        attribute: str,
        new_value: str,
        expected: str | None,
    ) -> bool: ...


def new_order(request: Any, *, now: datetime | None = None) -> Order:
    """A PENDING order from an API request body (validated here, so every caller gets it)."""
    try:
        validate(request, ORDER_SCHEMA)
    except SchemaViolation as error:
        raise InvalidOrder(str(error)) from error
    try:
        amount = Decimal(request["amount"])
    except InvalidOperation as error:  # pragma: no cover - the pattern already refuses it
        raise InvalidOrder("amount must be a decimal number") from error
    if amount <= 0:
        raise InvalidOrder("amount must be greater than 0")
    created = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
    return Order(
        order_id=f"ord-{uuid.uuid4().hex}",
        customer_id=request["customer_id"],
        items=[{"sku": i["sku"], "quantity": i["quantity"]} for i in request["items"]],
        amount=amount,
        currency=request["currency"],
        created_at=created,
        fault_drill=FaultDrill.from_json(request.get("fault_drill")),
    )


def _load(store: OrderStore, order_id: str) -> Order:
    order = store.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order


def _result(store: OrderStore, order_id: str, step: str, applied: bool) -> dict[str, Any]:
    order = _load(store, order_id)
    return {
        "order_id": order_id,
        "step": step,
        "applied": applied,
        "reservation": order.reservation,
        "payment": order.payment,
        "status": order.status,
    }


def reserve_inventory(store: OrderStore, order_id: str) -> dict[str, Any]:
    """Hold the order's items (once)."""
    _load(store, order_id)
    applied = store.apply_step(order_id, "reserve", "reservation", "HELD", expected=None)
    return _result(store, order_id, "reserve", applied)


def charge_payment(store: OrderStore, order_id: str) -> dict[str, Any]:
    """Charge the order's amount (once). A retry after a charge that went through (the
    function timed out after the gateway answered) finds it CHARGED and charges nothing."""
    order = _load(store, order_id)
    if order.payment == "CHARGED":
        return _result(store, order_id, "charge", False)
    attempt = store.count_charge_attempt(order_id)
    drill = order.fault_drill
    if drill.charge_declined:
        raise PaymentDeclined(f"payment for order {order_id} was declined")
    if attempt <= drill.charge_transient_failures:
        raise PaymentGatewayUnavailable(
            f"payment gateway unavailable (order {order_id}, attempt {attempt})"
        )
    applied = store.apply_step(order_id, "charge", "payment", "CHARGED", expected=None)
    return _result(store, order_id, "charge", applied)


def confirm_order(store: OrderStore, order_id: str) -> dict[str, Any]:
    """Hand the paid order to the warehouse: the order becomes CONFIRMED (once)."""
    order = _load(store, order_id)
    if order.status == "CONFIRMED":
        return _result(store, order_id, "confirm", False)
    if order.fault_drill.confirm_rejected:
        raise OrderRejected(f"the warehouse rejected order {order_id}")
    applied = store.apply_step(order_id, "confirm", "status", "CONFIRMED", expected="PENDING")
    return _result(store, order_id, "confirm", applied)


def refund_payment(store: OrderStore, order_id: str) -> dict[str, Any]:
    """Compensation of charge: refund a CHARGED payment; nothing to do if none was taken."""
    _load(store, order_id)
    applied = store.apply_step(order_id, "refund", "payment", "REFUNDED", expected="CHARGED")
    return _result(store, order_id, "refund", applied)


def release_inventory(store: OrderStore, order_id: str) -> dict[str, Any]:
    """Compensation of reserve: release a HELD reservation; nothing to do if none was made."""
    _load(store, order_id)
    applied = store.apply_step(order_id, "release", "reservation", "RELEASED", expected="HELD")
    return _result(store, order_id, "release", applied)


def order_id_of(event: Any) -> str:
    """The order id a state machine Task passes to a step function."""
    if not isinstance(event, dict) or not isinstance(event.get("order_id"), str):
        raise InvalidOrder("the step input needs an order_id string")
    order_id: str = event["order_id"]
    return order_id
