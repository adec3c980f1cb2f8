"""The API handler: status codes, headers and bodies; then the whole chain in process
(API event -> aggregator -> LambdaServiceClient -> in-process Invoke -> service handlers ->
moto DynamoDB)."""

from __future__ import annotations

import json
import os
import threading
from types import ModuleType
from typing import Any

import pytest
from common_layer.lambda_client import RemoteError, ServiceTimeout
from overview_api.services import CustomerNotFound, LambdaCustomerServices, PartUnavailable


def remote(cls: type[RemoteError], error_type: str) -> RemoteError:
    return cls(error_type, "message", [], function_name="fn")


@pytest.fixture
def handler(aws_environment, fresh_import) -> ModuleType:
    return fresh_import("overview_api.handler")


def call(handler: ModuleType, event: dict, context: Any) -> tuple[int, dict, dict]:
    response = handler.lambda_handler(event, context)
    # An event with multiValueHeaders (as API Gateway sends) gets multiValueHeaders back.
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    return response["statusCode"], headers, json.loads(response["body"])


def test_a_complete_overview_is_200_and_says_so(handler, make_event, lambda_context, fake_services):
    handler._services = fake_services()

    status, headers, body = call(handler, make_event("c-1"), lambda_context)

    assert status == 200
    assert headers["X-Overview-Partial"] == "false"
    assert headers["Cache-Control"] == "no-store"
    assert body["partial"] is False
    assert body["unavailable"] == []
    assert body["profile"]["name"] == "Ada"


def test_a_partial_overview_is_200_with_the_missing_part_named(
    handler, make_event, lambda_context, fake_services
):
    handler._services = fake_services(loyalty=ServiceTimeout("late"))

    status, headers, body = call(handler, make_event("c-1"), lambda_context)

    assert status == 200
    assert headers["X-Overview-Partial"] == "true"
    assert body["partial"] is True
    assert body["loyalty"] is None
    assert body["unavailable"] == [{"part": "loyalty", "reason": "timeout"}]


def test_an_unknown_customer_is_404(handler, make_event, lambda_context, fake_services):
    handler._services = fake_services(profile=remote(CustomerNotFound, "NotFound"))

    status, _, body = call(handler, make_event("c-9"), lambda_context)

    assert status == 404
    assert body == {"message": "no customer 'c-9'"}


def test_a_failing_profile_service_is_503_with_retry_after(
    handler, make_event, lambda_context, fake_services
):
    handler._services = fake_services(profile=remote(PartUnavailable, "Unavailable"))

    status, headers, body = call(handler, make_event("c-1"), lambda_context)

    assert status == 503
    assert headers["Retry-After"] == "1"
    assert "profile service did not answer" in body["message"]
    assert body["unavailable"] == [{"part": "profile", "reason": "unavailable"}]


def test_a_broken_profile_service_is_502(handler, make_event, lambda_context, fake_services):
    handler._services = fake_services(profile=remote(RemoteError, "KeyError"))

    status, headers, body = call(handler, make_event("c-1"), lambda_context)

    assert status == 502
    assert "Retry-After" not in headers
    assert body["unavailable"] == [{"part": "profile", "reason": "error"}]


@pytest.mark.parametrize("customer_id", ["bad*id", "-leading-dash", "x" * 65, "%20"])
def test_a_malformed_customer_id_is_400_and_no_service_is_called(
    handler, make_event, lambda_context, customer_id, fake_services
):
    services = fake_services()
    handler._services = services

    status, _, body = call(handler, make_event(customer_id), lambda_context)

    assert status == 400
    assert "customerId" in body["message"]
    assert services.calls == []


def test_other_methods_and_paths_are_refused(handler, make_event, lambda_context, fake_services):
    handler._services = fake_services()

    status, headers, _ = call(handler, make_event("c-1", method="POST"), lambda_context)
    assert status == 405
    assert headers["Allow"] == "GET"

    status, _, _ = call(handler, make_event("c-1", suffix="/other"), lambda_context)
    assert status == 404


def test_the_budget_never_exceeds_the_time_the_invocation_has_left(
    handler, make_event, context_factory, fake_services
):
    """With 1.3 s left and 1 s kept back to answer, a hung part is given up after ~0.3 s."""
    hang = threading.Event()
    handler._services = fake_services(recent_orders=hang)
    try:
        status, _, body = call(handler, make_event("c-1"), context_factory(remaining_ms=1_300))
    finally:
        hang.set()

    assert status == 200
    assert body["unavailable"] == [{"part": "recent_orders", "reason": "timeout"}]


# --- the whole chain, in process ---------------------------------------------------------------


@pytest.fixture
def chain(tables, fresh_import, in_process_lambda) -> tuple[ModuleType, dict[str, Any]]:
    """The aggregator handler wired to the three real service handlers through the layer's
    Lambda client and an in-process Invoke API; the services read moto tables."""
    functions = {
        name: os.environ[f"{name.upper()}_FUNCTION_NAME"]
        for name in ("profile", "orders", "loyalty")
    }
    aggregator = fresh_import("overview_api.handler")
    invoke_api = in_process_lambda(
        {
            functions["profile"]: fresh_import("overview_profiles.handler").lambda_handler,
            functions["orders"]: fresh_import("overview_orders.handler").lambda_handler,
            functions["loyalty"]: fresh_import("overview_loyalty.handler").lambda_handler,
        }
    )
    aggregator._services = LambdaCustomerServices(
        functions["profile"], functions["orders"], functions["loyalty"], client=invoke_api
    )
    return aggregator, tables


def test_the_chain_combines_what_the_three_tables_hold(chain, make_event, lambda_context):
    aggregator, tables = chain
    tables["profiles"].put_item(Item={"customer_id": "c-7", "name": "Grace", "email": "g@x.io"})
    tables["orders"].put_item(
        Item={
            "customer_id": "c-7",
            "order_key": "2026-11-01T09:00:00Z#O-70",
            "order_id": "O-70",
            "placed_at": "2026-11-01T09:00:00Z",
            "status": "SHIPPED",
            "total_cents": 1999,
            "currency": "USD",
        }
    )
    tables["loyalty"].put_item(Item={"customer_id": "c-7", "points": 300, "tier": "GOLD"})

    status, headers, body = call(aggregator, make_event("c-7"), lambda_context)

    assert status == 200, body
    assert headers["X-Overview-Partial"] == "false"
    assert body == {
        "customer_id": "c-7",
        "partial": False,
        "profile": {"name": "Grace", "email": "g@x.io"},
        "recent_orders": {
            "orders": [
                {
                    "order_id": "O-70",
                    "placed_at": "2026-11-01T09:00:00Z",
                    "status": "SHIPPED",
                    "total_cents": 1999,
                    "currency": "USD",
                }
            ],
            "count": 1,
        },
        "loyalty": {"member": True, "points": 300, "tier": "GOLD"},
        "unavailable": [],
    }


def test_the_chain_degrades_on_a_fault_drill_and_404s_an_unknown_customer(
    chain, make_event, lambda_context
):
    aggregator, tables = chain
    tables["profiles"].put_item(Item={"customer_id": "c-8", "name": "Lin"})
    tables["loyalty"].put_item(Item={"customer_id": "c-8", "points": 1, "fault_drill": "fail"})

    status, headers, body = call(aggregator, make_event("c-8"), lambda_context)
    assert status == 200
    assert headers["X-Overview-Partial"] == "true"
    assert body["unavailable"] == [{"part": "loyalty", "reason": "unavailable"}]
    assert body["recent_orders"] == {"orders": [], "count": 0}

    status, _, body = call(aggregator, make_event("c-404"), lambda_context)
    assert status == 404

    tables["profiles"].put_item(Item={"customer_id": "c-8", "name": "Lin", "fault_drill": "fail"})
    status, _, body = call(aggregator, make_event("c-8"), lambda_context)
    assert status == 503
    assert body["unavailable"] == [{"part": "profile", "reason": "unavailable"}]
