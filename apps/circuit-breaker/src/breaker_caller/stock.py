"""Check a supplier's stock through that supplier's circuit breaker.

One breaker per supplier (its key is the supplier id): one failing supplier never blocks
calls to the others. The outcome is one of :class:`Served`, :class:`Refused` (the breaker
did not let the call through; the supplier was not called) or :class:`Failed` (the
supplier was called and failed, or did not answer in time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from breaker_caller.circuit import CircuitBreaker, Snapshot, State
from breaker_caller.supplier_client import (
    Supplier,
    SupplierFailed,
    SupplierRejected,
    SupplierTimedOut,
)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class InvalidInput(ValueError):
    """The request names a supplier or sku that cannot exist."""


@dataclass(frozen=True)
class Served:
    answer: dict[str, Any]
    circuit: Snapshot
    trial: bool


@dataclass(frozen=True)
class Refused:
    circuit: Snapshot
    retry_after_ms: int

    @property
    def retry_after_seconds(self) -> int:
        # Retry-After takes whole seconds; round up so a client that obeys it is not early.
        return max(1, -(-self.retry_after_ms // 1000))


@dataclass(frozen=True)
class Failed:
    reason: str
    timed_out: bool
    circuit: Snapshot
    trial: bool


@dataclass(frozen=True)
class Rejected:
    status: int
    reason: str
    circuit: Snapshot
    trial: bool


Outcome = Served | Refused | Failed | Rejected


def check_identifier(name: str, value: str | None) -> str:
    if not value or not _ID.match(value):
        raise InvalidInput(
            f"{name} must be 1-64 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return value


def check_stock(
    supplier_id: str, sku: str, *, breaker: CircuitBreaker, supplier: Supplier
) -> Outcome:
    check_identifier("supplier_id", supplier_id)
    check_identifier("sku", sku)
    admission = breaker.admit(supplier_id)
    if not admission.allowed:
        return Refused(admission.snapshot, admission.retry_after_ms)
    try:
        answer = supplier.check_stock(supplier_id, sku)
    except SupplierRejected as error:
        # The supplier is up and said no: that is a healthy answer as far as the breaker goes.
        return Rejected(error.status, str(error), breaker.succeeded(admission), admission.trial)
    except SupplierFailed as error:
        return Failed(
            str(error),
            isinstance(error, SupplierTimedOut),
            breaker.failed(admission),
            admission.trial,
        )
    return Served(answer, breaker.succeeded(admission), admission.trial)


def describe(circuit: Snapshot) -> dict[str, Any]:
    """The breaker as the API shows it."""
    view: dict[str, Any] = {"state": circuit.state.value, "failures": circuit.failures}
    if circuit.state is State.OPEN:
        view["open_until_ms"] = circuit.open_until_ms
        view["open_ms"] = circuit.open_ms
    return view
