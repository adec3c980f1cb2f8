"""The profile service's one action: ``get_profile`` v1, the customer's identity.

The profile decides whether a customer exists: no record is ``NotFound``, which the
aggregator turns into its 404. The store is a port (``ProfileStore``): DynamoDB in Lambda,
a dict in unit tests.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol

from overview_services.contract import CUSTOMER_ID_SCHEMA, Action, NotFound, check
from overview_services.drills import RemainingSeconds, Sleep, drill_of, run_drill
from overview_services.storage import store_errors

GET_PROFILE_V1_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "get_profile v1 payload",
    "type": "object",
    "properties": {"customer_id": CUSTOMER_ID_SCHEMA},
    "required": ["customer_id"],
    "additionalProperties": False,
}

# What a profile answer carries; other attributes of the record (drills included) stay inside.
PUBLIC_FIELDS = ("name", "email", "member_since")


class ProfileStore(Protocol):
    def get(self, customer_id: str) -> Mapping[str, Any] | None:
        """The customer's profile record, or None; ``Unavailable`` when the store fails."""
        ...


class DynamoDBProfileStore:
    """Profiles in a table keyed by ``customer_id``."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, customer_id: str) -> Mapping[str, Any] | None:
        with store_errors("profile"):
            # Strongly consistent: an overview right after a profile edit shows the edit.
            response = self._table.get_item(Key={"customer_id": customer_id}, ConsistentRead=True)
        item: Mapping[str, Any] | None = response.get("Item")
        return item


def get_profile(
    store: ProfileStore,
    payload: Mapping[str, Any],
    *,
    remaining: RemainingSeconds,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    check(payload, GET_PROFILE_V1_SCHEMA)
    customer_id = str(payload["customer_id"])
    record = store.get(customer_id)
    if record is None:
        raise NotFound(f"no customer '{customer_id}'")
    run_drill(drill_of(record), "profile", remaining=remaining, sleep=sleep)
    profile: dict[str, Any] = {"customer_id": customer_id}
    profile.update({name: str(record[name]) for name in PUBLIC_FIELDS if name in record})
    return profile


def actions(
    store: ProfileStore, *, remaining: RemainingSeconds, sleep: Sleep = time.sleep
) -> dict[tuple[str, int], Action]:
    return {("get_profile", 1): partial(get_profile, store, remaining=remaining, sleep=sleep)}
