"""The customer overview: three services asked at once, one answer, degraded when it must.

- ``profile`` is essential: it says who the customer is and whether they exist. Its
  ``NotFound`` is the answer (:class:`CustomerNotFound`, a 404), and any other failure means
  there is no overview to give (:class:`EssentialPartFailed`, a 503 or 502).
- ``recent_orders`` and ``loyalty`` are optional: when one fails or is late, the overview
  is still given, with that part ``null``, ``"partial": true`` and an entry in
  ``"unavailable"`` naming the part and a machine-readable reason.

Reasons: ``timeout`` (no answer within the budget, or the service ran out of time),
``throttled`` (the service's concurrency was used up after retries), ``unavailable`` (the
service said so, or Lambda could not run it) and ``error`` (a bug: an unexpected error type
or a malformed answer). Nothing here knows about Lambda: the services are a port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from common_layer.lambda_client import (
    InvalidResponse,
    RemoteError,
    ServiceThrottled,
    ServiceTimeout,
    TransportError,
)

from overview_api.fanout import Outcome, Part, TimedOut, gather
from overview_api.services import CustomerNotFound, PartUnavailable

__all__ = [
    "OPTIONAL_PARTS",
    "CustomerNotFound",
    "CustomerServices",
    "EssentialPartFailed",
    "Overview",
    "build_overview",
    "reason_of",
]

ESSENTIAL_PART = "profile"
OPTIONAL_PARTS = ("recent_orders", "loyalty")
RECENT_ORDERS_LIMIT = 5

# Failures worth retrying soon (503) versus a fault that retrying will not fix (502).
TRANSIENT_REASONS = frozenset({"timeout", "throttled", "unavailable"})


class CustomerServices(Protocol):
    def profile(self, customer_id: str, correlation_id: str | None) -> dict[str, Any]: ...

    def recent_orders(
        self, customer_id: str, limit: int, correlation_id: str | None
    ) -> dict[str, Any]: ...

    def loyalty(self, customer_id: str, correlation_id: str | None) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Missing:
    part: str
    reason: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"part": self.part, "reason": self.reason}


@dataclass(frozen=True)
class Overview:
    customer_id: str
    profile: dict[str, Any]
    parts: dict[str, dict[str, Any] | None]
    missing: list[Missing] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "partial": self.partial,
            "profile": self.profile,
            **self.parts,
            "unavailable": [missing.to_json() for missing in self.missing],
        }


class EssentialPartFailed(Exception):
    """The essential part failed: there is no overview. ``transient``: worth a retry soon."""

    def __init__(self, missing: Sequence[Missing]) -> None:
        self.missing = list(missing)
        essential = self.missing[0]
        super().__init__(f"the {essential.part} service failed ({essential.reason})")
        self.part = essential.part
        self.reason = essential.reason
        self.detail = essential.detail
        self.transient = essential.reason in TRANSIENT_REASONS


def reason_of(error: BaseException) -> str:
    """The reason a client sees for a part that failed with ``error``."""
    if isinstance(error, TimedOut | ServiceTimeout):
        return "timeout"
    if isinstance(error, ServiceThrottled):
        return "throttled"
    if isinstance(error, PartUnavailable | TransportError):
        return "unavailable"
    return "error"  # PartRejected, an unmapped RemoteError, InvalidResponse, a bug here


def build_overview(
    services: CustomerServices,
    customer_id: str,
    *,
    budget: float,
    correlation_id: str | None = None,
) -> Overview:
    """Ask the three services at once; raises :class:`CustomerNotFound` or
    :class:`EssentialPartFailed` when there is no overview to give."""
    parts = [
        Part(
            ESSENTIAL_PART,
            lambda: services.profile(customer_id, correlation_id),
            essential=True,
        ),
        Part(
            "recent_orders",
            lambda: services.recent_orders(customer_id, RECENT_ORDERS_LIMIT, correlation_id),
        ),
        Part("loyalty", lambda: services.loyalty(customer_id, correlation_id)),
    ]
    # Once the essential part has failed the answer is known: stop waiting for the others.
    outcomes = gather(parts, budget=budget, stop_early=lambda o: o.part == ESSENTIAL_PART)

    essential = outcomes[ESSENTIAL_PART]
    if isinstance(essential.error, CustomerNotFound):
        raise essential.error
    if not essential.ok:
        # The others may have been abandoned early: only the essential failure is a fact.
        raise EssentialPartFailed([_missing(essential)])
    missing = [_missing(outcome) for outcome in outcomes.values() if not outcome.ok]
    return Overview(
        customer_id=customer_id,
        profile=_public(essential.value),
        parts={name: _part_value(outcomes[name]) for name in OPTIONAL_PARTS},
        missing=missing,
        seconds={name: round(outcome.seconds, 3) for name, outcome in outcomes.items()},
    )


def _missing(outcome: Outcome) -> Missing:
    assert outcome.error is not None
    return Missing(outcome.part, reason_of(outcome.error), _detail(outcome.error))


def _detail(error: BaseException) -> str:
    if isinstance(error, RemoteError):
        return f"{error.type}: {error.message}"
    if isinstance(error, InvalidResponse | TransportError):
        return error.message
    return f"{type(error).__name__}: {error}"


def _part_value(outcome: Outcome) -> dict[str, Any] | None:
    return _public(outcome.value) if outcome.ok else None


def _public(value: dict[str, Any] | None) -> dict[str, Any]:
    """A service's answer without the customer id the overview already carries."""
    return {key: item for key, item in (value or {}).items() if key != "customer_id"}
