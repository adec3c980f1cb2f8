"""The three internal services: their actions, fault drills, DynamoDB adapters, handlers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from overview_loyalty import loyalty
from overview_orders import orders
from overview_profiles import profiles
from overview_services import contract, drills
from overview_services.contract import NotFound, Unavailable, ValidationFailed


class DictStore:
    def __init__(self, records: dict[str, Any]) -> None:
        self.records = records

    def get(self, customer_id: str) -> Any:
        return self.records.get(customer_id)


class ListOrderStore:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.asked: list[int] = []

    def newest(self, customer_id: str, count: int) -> list[dict[str, Any]]:
        self.asked.append(count)
        mine = [r for r in self.records if r["customer_id"] == customer_id]
        return sorted(mine, key=lambda r: r["order_key"], reverse=True)[:count]


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def no_time() -> float:
    raise AssertionError("only a slow drill asks for the remaining time")


def order(customer_id: str, placed_at: str, order_id: str, cents: int) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "order_key": f"{placed_at}#{order_id}",
        "order_id": order_id,
        "placed_at": placed_at,
        "status": "SHIPPED",
        "total_cents": Decimal(cents),
        "currency": "EUR",
    }


# --- profile ---------------------------------------------------------------------------------


def test_a_profile_is_the_public_fields_of_the_record():
    store = DictStore(
        {"c-1": {"customer_id": "c-1", "name": "Ada", "email": "a@x.io", "internal": "no"}}
    )

    answer = profiles.get_profile(store, {"customer_id": "c-1"}, remaining=no_time)

    assert answer == {"customer_id": "c-1", "name": "Ada", "email": "a@x.io"}


def test_an_unknown_customer_has_no_profile():
    with pytest.raises(NotFound, match="no customer 'c-2'"):
        profiles.get_profile(DictStore({}), {"customer_id": "c-2"}, remaining=no_time)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "missing required field 'customer_id'"),
        ({"customer_id": "bad id!"}, "customer_id"),
        ({"customer_id": "c-1", "extra": 1}, "extra"),
    ],
)
def test_the_payload_is_validated(payload, message):
    with pytest.raises(ValidationFailed, match=message):
        profiles.get_profile(DictStore({}), payload, remaining=no_time)


def test_a_fail_drill_makes_the_service_unavailable_for_that_customer_only():
    store = DictStore(
        {
            "c-1": {"customer_id": "c-1", "name": "Ada", "fault_drill": "fail"},
            "c-2": {"customer_id": "c-2", "name": "Bob"},
        }
    )

    with pytest.raises(Unavailable, match="fault drill"):
        profiles.get_profile(store, {"customer_id": "c-1"}, remaining=no_time)
    assert profiles.get_profile(store, {"customer_id": "c-2"}, remaining=no_time)["name"] == "Bob"


def test_a_slow_drill_answers_when_only_the_reserve_of_its_time_is_left():
    sleeps = Sleeps()
    store = DictStore({"c-1": {"customer_id": "c-1", "name": "Ada", "fault_drill": "slow"}})

    answer = profiles.get_profile(
        store, {"customer_id": "c-1"}, remaining=lambda: 4.8, sleep=sleeps
    )

    assert answer["name"] == "Ada"
    assert sleeps.slept == [pytest.approx(4.8 - drills.SLOW_DRILL_RESERVE)]


def test_an_unknown_drill_is_a_bug_in_the_data_not_a_silent_pass():
    with pytest.raises(drills.DrillError, match="'explode'"):
        drills.drill_of({"fault_drill": "explode"})


# --- orders ----------------------------------------------------------------------------------


def test_recent_orders_are_newest_first_and_limited():
    store = ListOrderStore(
        [
            order("c-1", "2026-01-01T10:00:00Z", "O-1", 100),
            order("c-1", "2026-03-01T10:00:00Z", "O-3", 300),
            order("c-1", "2026-02-01T10:00:00Z", "O-2", 200),
            order("c-2", "2026-04-01T10:00:00Z", "O-9", 900),
        ]
    )

    answer = orders.recent_orders(store, {"customer_id": "c-1", "limit": 2}, remaining=no_time)

    assert answer == {
        "customer_id": "c-1",
        "orders": [
            {
                "order_id": "O-3",
                "placed_at": "2026-03-01T10:00:00Z",
                "status": "SHIPPED",
                "total_cents": 300,
                "currency": "EUR",
            },
            {
                "order_id": "O-2",
                "placed_at": "2026-02-01T10:00:00Z",
                "status": "SHIPPED",
                "total_cents": 200,
                "currency": "EUR",
            },
        ],
        "count": 2,
    }
    assert store.asked == [3]  # one more than asked, for the drill item


def test_a_customer_without_orders_has_an_empty_list():
    answer = orders.recent_orders(ListOrderStore([]), {"customer_id": "c-1"}, remaining=no_time)
    assert answer == {"customer_id": "c-1", "orders": [], "count": 0}


def test_the_orders_drill_item_sorts_first_and_is_never_shown():
    drill = {"customer_id": "c-1", "order_key": orders.DRILL_KEY, "fault_drill": "fail"}
    store = ListOrderStore([order("c-1", "2026-01-01T10:00:00Z", "O-1", 100), drill])

    with pytest.raises(Unavailable, match="orders"):
        orders.recent_orders(store, {"customer_id": "c-1"}, remaining=no_time)

    sleeps = Sleeps()
    drill["fault_drill"] = "slow"
    answer = orders.recent_orders(
        store, {"customer_id": "c-1", "limit": 1}, remaining=lambda: 3.0, sleep=sleeps
    )
    assert [o["order_id"] for o in answer["orders"]] == ["O-1"]
    assert sleeps.slept == [pytest.approx(2.5)]


def test_the_limit_is_bounded():
    with pytest.raises(ValidationFailed, match="limit"):
        orders.recent_orders(
            ListOrderStore([]), {"customer_id": "c-1", "limit": 21}, remaining=no_time
        )


# --- loyalty ---------------------------------------------------------------------------------


def test_a_member_has_points_and_a_tier():
    store = DictStore({"c-1": {"customer_id": "c-1", "points": Decimal(1250), "tier": "GOLD"}})
    answer = loyalty.balance(store, {"customer_id": "c-1"}, remaining=no_time)
    assert answer == {"customer_id": "c-1", "member": True, "points": 1250, "tier": "GOLD"}


def test_a_non_member_has_no_points_which_is_not_an_error():
    answer = loyalty.balance(DictStore({}), {"customer_id": "c-1"}, remaining=no_time)
    assert answer == {"customer_id": "c-1", "member": False, "points": 0, "tier": None}


def test_a_loyalty_fail_drill_is_unavailable():
    store = DictStore({"c-1": {"customer_id": "c-1", "points": 5, "fault_drill": "fail"}})
    with pytest.raises(Unavailable, match="loyalty"):
        loyalty.balance(store, {"customer_id": "c-1"}, remaining=no_time)


# --- the envelope --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "balance", "version": 2, "payload": {}}, "version 2 of action 'balance'"),
        ({"action": "refund", "version": 1, "payload": {}}, "unknown action 'refund'"),
        ({"action": "balance", "payload": {}}, "missing required field 'version'"),
        ([1], "must be a JSON object"),
    ],
)
def test_requests_outside_the_envelope_are_validation_failed(event, message):
    actions = loyalty.actions(DictStore({}), remaining=no_time)
    with pytest.raises(ValidationFailed, match=message):
        contract.dispatch(contract.parse_request(event), actions)


# --- the DynamoDB adapters and handlers, on moto ------------------------------------------------


def envelope(action: str, **payload: Any) -> dict[str, Any]:
    return {"action": action, "version": 1, "payload": payload, "correlation_id": "corr-1"}


def test_the_handlers_answer_from_their_tables(tables, fresh_import, lambda_context):
    tables["profiles"].put_item(Item={"customer_id": "c-1", "name": "Ada", "email": "a@x.io"})
    for placed_at, order_id in (("2026-01-01T00:00:00Z", "O-1"), ("2026-02-01T00:00:00Z", "O-2")):
        tables["orders"].put_item(Item=order("c-1", placed_at, order_id, 500))
    tables["orders"].put_item(Item=order("c-2", "2026-03-01T00:00:00Z", "O-9", 900))
    tables["loyalty"].put_item(Item={"customer_id": "c-1", "points": 42, "tier": "SILVER"})

    profile = fresh_import("overview_profiles.handler").lambda_handler(
        envelope("get_profile", customer_id="c-1"), lambda_context
    )
    recent = fresh_import("overview_orders.handler").lambda_handler(
        envelope("recent_orders", customer_id="c-1", limit=5), lambda_context
    )
    points = fresh_import("overview_loyalty.handler").lambda_handler(
        envelope("balance", customer_id="c-1"), lambda_context
    )

    assert profile == {"customer_id": "c-1", "name": "Ada", "email": "a@x.io"}
    assert [o["order_id"] for o in recent["orders"]] == ["O-2", "O-1"]
    assert points["points"] == 42


def test_the_profile_handler_raises_the_contract_types(tables, fresh_import, lambda_context):
    handler = fresh_import("overview_profiles.handler")

    with pytest.raises(NotFound):
        handler.lambda_handler(envelope("get_profile", customer_id="nobody"), lambda_context)
    with pytest.raises(ValidationFailed):
        handler.lambda_handler(envelope("get_profile", customer_id="bad id"), lambda_context)


def test_a_failing_table_is_unavailable(tables, fresh_import):
    store = loyalty.DynamoDBLoyaltyStore(tables["loyalty"])
    tables["loyalty"].delete()

    with pytest.raises(Unavailable, match="loyalty store is unreachable") as raised:
        store.get("c-1")
    assert isinstance(raised.value.__cause__, ClientError)
