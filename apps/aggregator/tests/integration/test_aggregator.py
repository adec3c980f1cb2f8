"""The Aggregator as a client sees it: one GET, three services behind it, one answer.

These tests know only the deployed stack (its outputs and resources), so the same file runs
against the embedded local cloud (default) and against a stack on AWS (``--target aws``).
Every test writes customers with ids unique to the run into the services' tables and
deletes them afterwards. Failures are driven by fault drills stored in that data (see
``overview_services.drills``), never by the platform: they work the same on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from stack_testing import Stack

HTTP_TIMEOUT = 35  # above API Gateway's 29 s: the API, not the client, must end a request
DRILL_KEY = "~fault-drill"  # the orders service's drill item (newest-first, sorts first)


@dataclass
class Customers:
    """Writes customers into the three services' tables; deletes all of them at the end."""

    stack: Stack
    written: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _put(self, output: str, item: dict[str, Any], key: dict[str, Any]) -> None:
        table = self.stack.output(output)
        self.stack.client("dynamodb").put_item(TableName=table, Item=item)
        self.written.append((table, key))

    def profile(self, customer_id: str, *, name: str, drill: str | None = None) -> None:
        item: dict[str, Any] = {
            "customer_id": {"S": customer_id},
            "name": {"S": name},
            "email": {"S": f"{customer_id}@example.com"},
            "member_since": {"S": "2024-05-01"},
        }
        if drill:
            item["fault_drill"] = {"S": drill}
        self._put("ProfilesTableName", item, {"customer_id": {"S": customer_id}})

    def order(self, customer_id: str, order_id: str, placed_at: str, total_cents: int) -> None:
        order_key = f"{placed_at}#{order_id}"
        self._put(
            "OrdersTableName",
            {
                "customer_id": {"S": customer_id},
                "order_key": {"S": order_key},
                "order_id": {"S": order_id},
                "placed_at": {"S": placed_at},
                "status": {"S": "SHIPPED"},
                "total_cents": {"N": str(total_cents)},
                "currency": {"S": "USD"},
            },
            {"customer_id": {"S": customer_id}, "order_key": {"S": order_key}},
        )

    def orders_drill(self, customer_id: str, drill: str) -> None:
        self._put(
            "OrdersTableName",
            {
                "customer_id": {"S": customer_id},
                "order_key": {"S": DRILL_KEY},
                "fault_drill": {"S": drill},
            },
            {"customer_id": {"S": customer_id}, "order_key": {"S": DRILL_KEY}},
        )

    def loyalty(
        self, customer_id: str, *, points: int, tier: str, drill: str | None = None
    ) -> None:
        item: dict[str, Any] = {
            "customer_id": {"S": customer_id},
            "points": {"N": str(points)},
            "tier": {"S": tier},
        }
        if drill:
            item["fault_drill"] = {"S": drill}
        self._put("LoyaltyTableName", item, {"customer_id": {"S": customer_id}})

    def full(self, customer_id: str, **drills: str) -> None:
        """A customer with a profile, two orders and a loyalty balance; ``drills`` arms a
        fault drill per service (profile=, orders=, loyalty=)."""
        self.profile(customer_id, name="Ada Lovelace", drill=drills.get("profile"))
        self.order(customer_id, "O-1", "2026-10-01T08:00:00Z", 1250)
        self.order(customer_id, "O-2", "2026-11-02T09:30:00Z", 4190)
        if "orders" in drills:
            self.orders_drill(customer_id, drills["orders"])
        self.loyalty(customer_id, points=1250, tier="SILVER", drill=drills.get("loyalty"))

    def delete_all(self) -> None:
        dynamodb = self.stack.client("dynamodb")
        for table, key in reversed(self.written):
            dynamodb.delete_item(TableName=table, Key=key)


@pytest.fixture
def customers(stack: Stack) -> Iterator[Customers]:
    written = Customers(stack)
    yield written
    written.delete_all()


@pytest.fixture
def overview(stack: Stack) -> Callable[[str], requests.Response]:
    base = stack.url("ApiUrl").rstrip("/")

    def get(customer_id: str) -> requests.Response:
        return requests.get(f"{base}/customers/{customer_id}/overview", timeout=HTTP_TIMEOUT)

    return get


def test_one_request_returns_the_three_services_answers_combined(customers, overview, unique_id):
    customers.full(unique_id)

    response = overview(unique_id)

    assert response.status_code == 200, response.text
    assert response.headers["X-Overview-Partial"] == "false"
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {
        "customer_id": unique_id,
        "partial": False,
        "profile": {
            "name": "Ada Lovelace",
            "email": f"{unique_id}@example.com",
            "member_since": "2024-05-01",
        },
        "recent_orders": {
            "orders": [
                {
                    "order_id": "O-2",
                    "placed_at": "2026-11-02T09:30:00Z",
                    "status": "SHIPPED",
                    "total_cents": 4190,
                    "currency": "USD",
                },
                {
                    "order_id": "O-1",
                    "placed_at": "2026-10-01T08:00:00Z",
                    "status": "SHIPPED",
                    "total_cents": 1250,
                    "currency": "USD",
                },
            ],
            "count": 2,
        },
        "loyalty": {"member": True, "points": 1250, "tier": "SILVER"},
        "unavailable": [],
    }


def test_a_customer_with_only_a_profile_gets_empty_optional_parts_not_failures(
    customers, overview, unique_id
):
    customers.profile(unique_id, name="New Customer")

    body = overview(unique_id).json()

    assert body["partial"] is False
    assert body["recent_orders"] == {"orders": [], "count": 0}
    assert body["loyalty"] == {"member": False, "points": 0, "tier": None}


def test_a_failing_optional_service_gives_a_partial_answer_naming_it(
    customers, overview, unique_id
):
    customers.full(unique_id, loyalty="fail")

    response = overview(unique_id)

    assert response.status_code == 200, response.text
    assert response.headers["X-Overview-Partial"] == "true"
    body = response.json()
    assert body["partial"] is True
    assert body["unavailable"] == [{"part": "loyalty", "reason": "unavailable"}]
    assert body["loyalty"] is None
    # The parts that answered are all there.
    assert body["profile"]["name"] == "Ada Lovelace"
    assert [o["order_id"] for o in body["recent_orders"]["orders"]] == ["O-2", "O-1"]


def test_an_optional_service_slower_than_the_budget_is_left_out_as_timeout(
    stack, customers, overview, unique_id
):
    """The orders service answers only near the end of its own Timeout, later than the
    aggregator's budget: the aggregator answers without it instead of waiting."""
    customers.full(unique_id, orders="slow")

    response = overview(unique_id)

    assert response.status_code == 200, response.text
    assert response.headers["X-Overview-Partial"] == "true"
    body = response.json()
    assert body["unavailable"] == [{"part": "recent_orders", "reason": "timeout"}]
    assert body["recent_orders"] is None
    assert body["loyalty"]["points"] == 1250


def test_a_failing_essential_service_is_503_with_a_clear_message(customers, overview, unique_id):
    customers.full(unique_id, profile="fail")

    response = overview(unique_id)

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["message"] == (
        "the customer overview is unavailable: the profile service did not answer; "
        "try again shortly"
    )
    assert body["unavailable"] == [{"part": "profile", "reason": "unavailable"}]
    assert "recent_orders" not in body


def test_disarming_the_drill_restores_the_complete_answer(stack, customers, overview, unique_id):
    customers.full(unique_id, loyalty="fail")
    assert overview(unique_id).json()["partial"] is True

    stack.client("dynamodb").update_item(
        TableName=stack.output("LoyaltyTableName"),
        Key={"customer_id": {"S": unique_id}},
        UpdateExpression="REMOVE fault_drill",
    )

    body = overview(unique_id).json()
    assert body["partial"] is False
    assert body["loyalty"]["points"] == 1250


def test_an_unknown_customer_is_404(overview, unique_id):
    response = overview(f"{unique_id}-nobody")

    assert response.status_code == 404
    assert response.json() == {"message": f"no customer '{unique_id}-nobody'"}


@pytest.mark.parametrize("customer_id", ["bad*id", "-starts-with-dash", "x" * 65])
def test_a_malformed_customer_id_is_400(overview, customer_id):
    response = overview(customer_id)

    assert response.status_code == 400
    assert "customerId" in response.json()["message"]


# --- how the stack is wired --------------------------------------------------------------


def _parameter(stack: Stack, key: str) -> str:
    parameters = stack.client("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0][
        "Parameters"
    ]
    return next(p["ParameterValue"] for p in parameters if p["ParameterKey"] == key)


def test_the_time_budget_fits_inside_every_timeout(stack):
    """budget < each service's Timeout (so a slow service is abandoned, not waited for) and
    budget + the 1 s kept to answer < the aggregator's Timeout < API Gateway's 29 s."""
    lambda_client = stack.client("lambda")
    budget = float(_parameter(stack, "PartBudgetSeconds"))
    aggregator = lambda_client.get_function_configuration(
        FunctionName=stack.output("AggregatorFunctionName")
    )

    assert aggregator["Environment"]["Variables"]["PART_BUDGET_SECONDS"] == _parameter(
        stack, "PartBudgetSeconds"
    )
    assert budget + 1 < aggregator["Timeout"] < 29
    for output in ("ProfileFunctionName", "OrdersFunctionName", "LoyaltyFunctionName"):
        service = lambda_client.get_function_configuration(FunctionName=stack.output(output))
        assert service["Timeout"] > budget, output


def test_the_aggregator_may_invoke_the_three_services_and_nothing_else(stack):
    lambda_client = stack.client("lambda")
    iam = stack.client("iam")
    role_arn = lambda_client.get_function_configuration(
        FunctionName=stack.output("AggregatorFunctionName")
    )["Role"]
    role_name = role_arn.rsplit("/", 1)[-1]
    statements = []
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        statements.extend(document["Statement"])
    invoke_resources = {
        resource
        for statement in statements
        if "lambda:InvokeFunction" in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }
    service_arns = {
        lambda_client.get_function_configuration(FunctionName=stack.output(output))["FunctionArn"]
        for output in ("ProfileFunctionName", "OrdersFunctionName", "LoyaltyFunctionName")
    }

    assert {r.rstrip("*") for r in invoke_resources} == service_arns
    assert not any(
        action.startswith(("lambda:", "dynamodb:")) and action != "lambda:InvokeFunction"
        for statement in statements
        for action in _as_list(statement["Action"])
    )


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
