"""The loyalty service's one action: ``balance`` v1, a customer's points and tier.

A customer who never joined the programme has no record: the answer says
``"member": false`` with 0 points, which is a fact about the customer, not a failure.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from overview_services.contract import CUSTOMER_ID_SCHEMA, Action, check
from overview_services.drills import RemainingSeconds, Sleep, drill_of, run_drill
from overview_services.storage import store_errors

BALANCE_V1_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "balance v1 payload",
    "type": "object",
    "properties": {"customer_id": CUSTOMER_ID_SCHEMA},
    "required": ["customer_id"],
    "additionalProperties": False,
}


class LoyaltyStore(Protocol):
    def get(self, customer_id: str) -> Mapping[str, Any] | None: ...


class DynamoDBLoyaltyStore:
    """Balances in a table keyed by ``customer_id``."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, customer_id: str) -> Mapping[str, Any] | None:
        with store_errors("loyalty"):
            response = self._table.get_item(Key={"customer_id": customer_id})
        item: Mapping[str, Any] | None = response.get("Item")
        return item


def balance(
    store: LoyaltyStore,
    payload: Mapping[str, Any],
    *,
    remaining: RemainingSeconds,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    check(payload, BALANCE_V1_SCHEMA)
    customer_id = str(payload["customer_id"])
    record = store.get(customer_id)
    run_drill(drill_of(record), "loyalty", remaining=remaining, sleep=sleep)
    if record is None or "points" not in record:
        return {"customer_id": customer_id, "member": False, "points": 0, "tier": None}
    return {
        "customer_id": customer_id,
        "member": True,
        "points": int(Decimal(record["points"])),
        "tier": str(record.get("tier", "BASIC")),
    }


def actions(
    store: LoyaltyStore, *, remaining: RemainingSeconds, sleep: Sleep = time.sleep
) -> dict[tuple[str, int], Action]:
    return {("balance", 1): partial(balance, store, remaining=remaining, sleep=sleep)}
