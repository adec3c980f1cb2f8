"""The strangler façade as a client sees it: one base URL, two systems behind it.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). The stack is
deployed with its defaults: the stand-in legacy service behind the façade, and
``InvoicesOnNewService=false``. The flip test switches that parameter with a stack update
and always switches it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from stack_testing import Stack, wait_for

# Per request; generous enough for a cold start on each side of the façade.
TIMEOUT = 30
# A stack update on AWS takes a minute or two (a new API deployment); locally, seconds.
UPDATE_TIMEOUT = 600
# How long a new API deployment may take to reach every API Gateway node on AWS.
PROPAGATION_TIMEOUT = 120


@pytest.fixture
def api_url(stack: Stack) -> str:
    return stack.url("ApiUrl").rstrip("/")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def create_order(api_url: str, http: requests.Session, unique_id: str) -> dict[str, Any]:
    """An order created through the façade (a migrated route)."""
    response = http.post(
        f"{api_url}/orders",
        json={
            "customer_id": unique_id,
            "lines": [
                {"sku": "BOOK-1", "quantity": 2, "unit_price_cents": 1250},
                {"sku": "PEN-9", "quantity": 3, "unit_price_cents": 199},
            ],
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()["order"]
    return order


def served_by(response: requests.Response) -> str:
    return str(response.json()["served_by"])


def test_migrated_routes_are_served_by_the_new_service(
    api_url: str, http: requests.Session, create_order: dict[str, Any], unique_id: str
) -> None:
    """POST /orders and GET /orders/{id} reach the new functions; the order is really stored."""
    assert create_order["customer_id"] == unique_id
    assert create_order["total_cents"] == 2 * 1250 + 3 * 199

    fetched = http.get(f"{api_url}/orders/{create_order['id']}", timeout=TIMEOUT)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["X-Served-By"] == "new"
    assert fetched.json() == {"served_by": "new", "order": create_order}


def test_new_service_refuses_bad_input_and_unknown_ids_itself(
    api_url: str, http: requests.Session, unique_id: str
) -> None:
    """The migrated routes own their errors: 400 naming the field, 404 for an unknown order."""
    bad = http.post(
        f"{api_url}/orders",
        json={"customer_id": unique_id, "lines": [{"sku": "X", "quantity": 0}]},
        timeout=TIMEOUT,
    )
    assert bad.status_code == 400, bad.text
    assert bad.json()["message"] == "missing required field 'lines[0].unit_price_cents'"

    not_json = http.post(f"{api_url}/orders", data="{not json", timeout=TIMEOUT)
    assert not_json.status_code == 400, not_json.text

    missing = http.get(f"{api_url}/orders/{unique_id}", timeout=TIMEOUT)
    assert missing.status_code == 404, missing.text
    assert missing.json() == {"message": f"order {unique_id} does not exist"}


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status"),
    [
        ("GET", "/customers/42", [("expand", "orders"), ("tag", "a"), ("tag", "b c")], None, 200),
        ("POST", "/customers", [], '{"name": "Ada", "vip": true}', 201),
        ("PUT", "/products/p-1", [("dry_run", "1")], '{"price_cents": 990}', 200),
        ("DELETE", "/invoices/inv-7", [], None, 200),
        ("PATCH", "/customers/42", [], '{"name": "Ada L."}', 200),
        # Unmigrated methods on migrated resources still belong to the legacy system.
        ("GET", "/orders", [("status", "open"), ("page", "2")], None, 200),
        ("PUT", "/orders/o-1", [], '{"status": "shipped"}', 200),
        ("GET", "/", [("probe", "root")], None, 200),
    ],
)
def test_unmigrated_requests_reach_legacy_unchanged(
    api_url: str,
    http: requests.Session,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: str | None,
    status: int,
) -> None:
    """Anything not migrated is proxied (HTTP_PROXY) with its method, path, query string
    (repeated keys included) and body as sent, and the legacy answer comes back as it is."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response = http.request(
        method,
        api_url + path,
        params=query,
        data=body.encode("utf-8") if body is not None else None,
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == status, response.text
    assert response.headers["X-Served-By"] == "legacy"
    answer = response.json()
    assert answer["served_by"] == "legacy"
    expected_query: dict[str, list[str]] = {}
    for name, value in query:
        expected_query.setdefault(name, []).append(value)
    echo = answer["request"]
    assert echo["method"] == method
    assert echo["path"] == path
    assert echo["query"] == expected_query
    assert echo["body"] == body
    if body is not None:
        assert echo["content_type"] == "application/json"
        assert json.loads(echo["body"]) == json.loads(body)


@pytest.mark.parametrize("path", ["/no-such-thing", "/customers/42/history/2024", "/v0/orders"])
def test_unknown_paths_get_the_legacy_systems_own_404(
    api_url: str, http: requests.Session, path: str
) -> None:
    """The façade has no opinion on unmigrated paths: the legacy 404 (status, headers and
    body) reaches the client, not an API Gateway error."""
    response = http.get(api_url + path, timeout=TIMEOUT)
    assert response.status_code == 404, response.text
    assert response.headers["X-Served-By"] == "legacy"
    assert response.json()["served_by"] == "legacy"
    assert response.json()["message"] == f"legacy system has no resource {path}"


def _stack_status(cfn: Any, name: str) -> str:
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def _set_invoices_on_new_service(stack: Stack, value: str) -> None:
    """Update the stack with the same template and only InvoicesOnNewService changed."""
    cfn = stack.client("cloudformation")
    current = cfn.describe_stacks(StackName=stack.name)["Stacks"][0]
    parameters = [
        {"ParameterKey": p["ParameterKey"], "ParameterValue": value}
        if p["ParameterKey"] == "InvoicesOnNewService"
        else {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
        for p in current["Parameters"]
    ]
    cfn.update_stack(
        StackName=stack.name,
        UsePreviousTemplate=True,
        Parameters=parameters,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = wait_for(
        lambda: (s := _stack_status(cfn, stack.name)).endswith(("_COMPLETE", "_FAILED")) and s,
        timeout=UPDATE_TIMEOUT,
        interval=1.0,
        description=f"the stack update InvoicesOnNewService={value}",
    )
    assert status == "UPDATE_COMPLETE", status
    outputs = cfn.describe_stacks(StackName=stack.name)["Stacks"][0]["Outputs"]
    assert {o["OutputKey"]: o["OutputValue"] for o in outputs}["InvoicesOnNewService"] == value


def _served_by_now(http: requests.Session, url: str, expected: str) -> requests.Response | None:
    response = http.get(url, timeout=TIMEOUT)
    return response if response.ok and served_by(response) == expected else None


def test_a_stack_update_moves_a_route_without_any_client_change(
    stack: Stack, api_url: str, http: requests.Session, create_order: dict[str, Any]
) -> None:
    """Strangling one route: flipping the template parameter InvoicesOnNewService (a stack
    update, same template) moves GET /invoices/{id} from legacy to the new function at the
    same URL, leaves the route's other methods on legacy, and flipping back restores it."""
    invoice_url = f"{api_url}/invoices/{create_order['id']}"
    before = http.get(invoice_url, timeout=TIMEOUT)
    assert before.status_code == 200, before.text
    assert served_by(before) == "legacy"
    assert before.json()["record"] == {
        "id": create_order["id"],
        "kind": "invoice",
        "source": "legacy",
    }

    _set_invoices_on_new_service(stack, "true")
    try:
        after = wait_for(
            lambda: _served_by_now(http, invoice_url, "new"),
            timeout=PROPAGATION_TIMEOUT,
            interval=1.0,
            description="GET /invoices/{id} served by the new service",
        )
        assert after.headers["X-Served-By"] == "new"
        invoice = after.json()["invoice"]
        assert invoice["order_id"] == create_order["id"]
        assert invoice["total_cents"] == create_order["total_cents"]
        assert [line["amount_cents"] for line in invoice["lines"]] == [2500, 597]
        # Only GET moved: other methods on the same path still reach the legacy system,
        # and so do the routes that were never migrated.
        deleted = http.delete(invoice_url, timeout=TIMEOUT)
        assert deleted.status_code == 200, deleted.text
        assert served_by(deleted) == "legacy"
        customer = http.get(f"{api_url}/customers/1", timeout=TIMEOUT)
        assert served_by(customer) == "legacy"
    finally:
        _set_invoices_on_new_service(stack, "false")

    back = wait_for(
        lambda: _served_by_now(http, invoice_url, "legacy"),
        timeout=PROPAGATION_TIMEOUT,
        interval=1.0,
        description="GET /invoices/{id} served by legacy again",
    )
    assert back.json()["record"]["id"] == create_order["id"]
