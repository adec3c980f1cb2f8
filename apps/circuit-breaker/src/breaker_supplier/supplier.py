"""The stand-in supplier: answers stock checks, or fails, or is slow, as its switch says.

Its state is its own table (partition key ``supplier_id``, sort key ``record``):

- ``record = "HEALTH"``: the switch, ``{"mode": "up" | "failing" | "slow",
  "delay_seconds": n}``; no item means up. Tests and users flip it with ``PutItem``.
- ``record = "CALL#<received_at_ms>#<request_id>"``: one item per call received, written
  before the switch is obeyed, so failing and slow calls are counted too. They expire
  after a day (TTL attribute ``expires_at``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from common_layer.validation import SchemaViolation, validate

MODES = ("up", "failing", "slow")
MAX_DELAY_SECONDS = 8.0  # below the function's Timeout, so "slow" answers late, not never
DEFAULT_DELAY_SECONDS = 5.0
CALL_RECORD_TTL_SECONDS = 24 * 3600

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["action", "version", "payload"],
    "properties": {
        "action": {"const": "check_stock"},
        "version": {"const": 1},
        "correlation_id": {"type": "string"},
        "payload": {
            "type": "object",
            "required": ["supplier_id", "sku"],
            "additionalProperties": False,
            "properties": {
                "supplier_id": {"type": "string", "minLength": 1, "maxLength": 64},
                "sku": {"type": "string", "minLength": 1, "maxLength": 64},
            },
        },
    },
}


class ValidationFailed(Exception):
    """The request breaks the stand-in's contract."""


class SupplierUnavailable(Exception):
    """The health switch says "failing": the error a broken supplier would give."""


@dataclass(frozen=True)
class Health:
    mode: str = "up"
    delay_seconds: float = DEFAULT_DELAY_SECONDS


class SupplierState(Protocol):
    def record_call(
        self, supplier_id: str, sku: str, received_at_ms: int, request_id: str
    ) -> None: ...

    def health(self, supplier_id: str) -> Health: ...


def parse_request(event: Any) -> tuple[str, str]:
    if not isinstance(event, dict):
        raise ValidationFailed("the request must be a JSON object")
    try:
        validate(event, REQUEST_SCHEMA)
    except SchemaViolation as violation:
        raise ValidationFailed(violation.message) from None
    payload = event["payload"]
    return str(payload["supplier_id"]), str(payload["sku"])


def stock_level(supplier_id: str, sku: str) -> int:
    """A stable made-up stock level, so repeated answers agree."""
    digest = hashlib.sha256(f"{supplier_id}/{sku}".encode()).digest()
    return int.from_bytes(digest[:2], "big") % 500


def check_stock(
    supplier_id: str,
    sku: str,
    *,
    state: SupplierState,
    request_id: str,
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    received_at_ms = clock_ms()
    state.record_call(supplier_id, sku, received_at_ms, request_id)
    health = state.health(supplier_id)
    if health.mode == "failing":
        raise SupplierUnavailable(f"supplier {supplier_id} is failing (its health switch says so)")
    if health.mode == "slow":
        sleep(min(max(health.delay_seconds, 0.0), MAX_DELAY_SECONDS))
    return {
        "supplier_id": supplier_id,
        "sku": sku,
        "available": stock_level(supplier_id, sku),
        "received_at_ms": received_at_ms,
    }


class DynamoDBSupplierState:
    def __init__(self, table: Any) -> None:
        self.table = table

    def record_call(self, supplier_id: str, sku: str, received_at_ms: int, request_id: str) -> None:
        self.table.put_item(
            Item={
                "supplier_id": supplier_id,
                "record": f"CALL#{received_at_ms:013d}#{request_id}",
                "sku": sku,
                "received_at_ms": received_at_ms,
                "expires_at": received_at_ms // 1000 + CALL_RECORD_TTL_SECONDS,
            }
        )

    def health(self, supplier_id: str) -> Health:
        item = self.table.get_item(
            Key={"supplier_id": supplier_id, "record": "HEALTH"}, ConsistentRead=True
        ).get("Item")
        if not item:
            return Health()
        mode = str(item.get("mode", "up"))
        if mode not in MODES:
            mode = "up"
        return Health(mode, float(item.get("delay_seconds", DEFAULT_DELAY_SECONDS)))
