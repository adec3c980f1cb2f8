"""The Gatekeeper as a client sees it: tokens from the admin API, the reports API behind the
Lambda authorizer, and the tables that show who reached the backend.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and a stack on AWS (``--target aws``). Every client a test
adds is deleted afterwards with what it left in the tables.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from stack_testing import Stack, wait_for

# Per request; generous enough for the cold starts of the authorizer and the backend.
TIMEOUT = 30
# Beyond the cache TTL, time for the next request to reach the authorizer again.
TTL_SLACK = 20
# API Gateway's 403 bodies: an explicit Deny in the policy, or no Allow matching the route.
EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
IMPLICIT_DENY = "User is not authorized to access this resource"


@dataclass(frozen=True)
class ApiClient:
    client_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def invoke_admin(stack: Stack, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = stack.client("lambda").invoke(
        FunctionName=stack.output("AdminFunctionName"),
        Payload=json.dumps({"action": action, "payload": payload}).encode(),
    )
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return dict(body)


@pytest.fixture
def reports_url(stack: Stack) -> str:
    return stack.url("ApiUrl").rstrip("/") + "/reports"


@pytest.fixture
def ttl(stack: Stack) -> int:
    return int(stack.output("AuthorizerCacheTtlSeconds"))


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _delete_partition(stack: Stack, table: str, key: str, sort_key: str, client_id: str) -> None:
    dynamodb = stack.client("dynamodb")
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression=f"{key} = :c",
        ExpressionAttributeValues={":c": {"S": client_id}},
    )["Items"]
    for item in items:
        dynamodb.delete_item(TableName=table, Key={key: item[key], sort_key: item[sort_key]})


@pytest.fixture
def add_client(stack: Stack, unique_id: str) -> Iterator[Callable[[list[str]], ApiClient]]:
    """Add a client through the admin API; afterwards delete it and its reports and calls."""
    added: list[str] = []

    def add(routes: list[str]) -> ApiClient:
        body = invoke_admin(stack, "add_client", {"name": unique_id, "routes": routes})
        added.append(body["client_id"])
        return ApiClient(body["client_id"], body["token"])

    yield add
    dynamodb = stack.client("dynamodb")
    for client_id in added:
        dynamodb.delete_item(
            TableName=stack.output("ClientsTableName"), Key={"client_id": {"S": client_id}}
        )
        _delete_partition(
            stack, stack.output("ReportsTableName"), "client_id", "report_id", client_id
        )
        _delete_partition(
            stack, stack.output("CallsTableName"), "client_id", "request_id", client_id
        )


def backend_calls(stack: Stack, client_id: str) -> list[str]:
    """The routes of the calls that reached the backend for this client."""
    items = stack.client("dynamodb").query(
        TableName=stack.output("CallsTableName"),
        KeyConditionExpression="client_id = :c",
        ExpressionAttributeValues={":c": {"S": client_id}},
        ConsistentRead=True,
    )["Items"]
    return sorted(item["route"]["S"] for item in items)


def calls_marked(stack: Stack, correlation_id: str) -> int:
    """How many backend calls carried this X-Correlation-Id (any client)."""
    paginator = stack.client("dynamodb").get_paginator("scan")
    return sum(
        page["Count"]
        for page in paginator.paginate(
            TableName=stack.output("CallsTableName"),
            FilterExpression="correlation_id = :m",
            ExpressionAttributeValues={":m": {"S": correlation_id}},
            ConsistentRead=True,
        )
    )


def authorizations(stack: Stack, client_id: str) -> int:
    item = stack.client("dynamodb").get_item(
        TableName=stack.output("ClientsTableName"),
        Key={"client_id": {"S": client_id}},
        ConsistentRead=True,
    )["Item"]
    return int(item.get("authorizations", {"N": "0"})["N"])


def test_a_client_reaches_its_routes_and_the_backend_knows_who_it_is(
    stack, reports_url, http, add_client, unique_id
):
    client = add_client(["GET /reports", "GET /reports/{report_id}", "POST /reports"])

    created = http.post(
        reports_url, json={"title": unique_id}, headers=client.headers, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    report = created.json()["report"]
    listed = http.get(reports_url, headers=client.headers, timeout=TIMEOUT)
    fetched = http.get(
        f"{reports_url}/{report['report_id']}", headers=client.headers, timeout=TIMEOUT
    )

    # The backend's clientId comes from the authorizer's context, not from the request.
    assert created.json()["clientId"] == client.client_id
    assert listed.status_code == 200, listed.text
    assert listed.json()["clientId"] == client.client_id
    assert [r["report_id"] for r in listed.json()["reports"]] == [report["report_id"]]
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == {"clientId": client.client_id, "report": report}
    assert backend_calls(stack, client.client_id) == [
        "GET /reports",
        "GET /reports/{report_id}",
        "POST /reports",
    ]


def test_calls_without_a_bearer_token_get_401_and_never_reach_the_backend(
    stack, reports_url, http, add_client, unique_id
):
    marker = {"X-Correlation-Id": unique_id}
    refused = {
        "no header": {},
        "not a bearer token": {"Authorization": "Basic dXNlcjpwYXNz"},
        "bearer without a token": {"Authorization": "Bearer"},
    }

    for case, headers in refused.items():
        response = http.get(reports_url, headers={**marker, **headers}, timeout=TIMEOUT)
        assert response.status_code == 401, f"{case}: {response.status_code} {response.text}"
        assert response.json() == {"message": "Unauthorized"}, case
        assert response.headers.get("WWW-Authenticate") == "Bearer", case

    assert calls_marked(stack, unique_id) == 0
    # The same marker on an authorised call is recorded: the count above can see calls.
    client = add_client(["GET /reports"])
    allowed = http.get(reports_url, headers={**marker, **client.headers}, timeout=TIMEOUT)
    assert allowed.status_code == 200, allowed.text
    assert calls_marked(stack, unique_id) == 1


def test_bad_tokens_get_403_and_never_reach_the_backend(
    stack, reports_url, http, add_client, unique_id
):
    marker = {"X-Correlation-Id": unique_id}
    client = add_client(["GET /reports"])
    forged = client.token[:-4] + ("AAAA" if not client.token.endswith("AAAA") else "BBBB")
    bad_tokens = {
        "malformed token": "not-one-of-ours",
        "unknown client": "c-" + "0" * 32 + ".not-a-real-secret",
        "wrong secret of a real client": forged,
    }

    for case, token in bad_tokens.items():
        response = http.get(
            reports_url, headers={**marker, "Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )
        assert response.status_code == 403, f"{case}: {response.status_code} {response.text}"
        assert response.json() == {"Message": EXPLICIT_DENY}, case

    assert calls_marked(stack, unique_id) == 0
    # A forged secret proves nothing, so nothing was counted on the client it names.
    assert authorizations(stack, client.client_id) == 0
    allowed = http.get(reports_url, headers={**marker, **client.headers}, timeout=TIMEOUT)
    assert allowed.status_code == 200, allowed.text
    assert calls_marked(stack, unique_id) == 1


def test_a_client_is_refused_with_403_on_routes_it_was_not_given(
    stack, reports_url, http, add_client, unique_id
):
    client = add_client(["GET /reports"])

    allowed = http.get(reports_url, headers=client.headers, timeout=TIMEOUT)
    post = http.post(
        reports_url, json={"title": unique_id}, headers=client.headers, timeout=TIMEOUT
    )
    single = http.get(f"{reports_url}/any-id", headers=client.headers, timeout=TIMEOUT)

    assert allowed.status_code == 200, allowed.text
    for response in (post, single):
        assert response.status_code == 403, response.text
        assert response.json() == {"message": IMPLICIT_DENY}
    # Only the allowed call reached the backend.
    assert backend_calls(stack, client.client_id) == ["GET /reports"]


def test_the_authorizer_runs_once_per_token_per_cache_ttl(
    stack, reports_url, http, add_client, ttl
):
    assert ttl > 0, "the stack under test must cache policies (AuthorizerCacheTtlSeconds > 0)"
    routes = ["GET /reports", "GET /reports/{report_id}"]
    first, second = add_client(routes), add_client(routes)
    started = time.monotonic()

    statuses = [
        http.get(url, headers=client.headers, timeout=TIMEOUT).status_code
        for url in (reports_url, f"{reports_url}/a", reports_url, f"{reports_url}/b")
        for client in (first, second)
    ]
    elapsed = time.monotonic() - started

    assert statuses == [200, 200, 404, 404, 200, 200, 404, 404]
    assert len(backend_calls(stack, first.client_id)) == 4
    assert len(backend_calls(stack, second.client_id)) == 4
    # Four requests per token on two routes: one authorizer run per token (more only if the
    # requests themselves outlasted the TTL).
    most = 1 + int(elapsed // ttl)
    assert 1 <= authorizations(stack, first.client_id) <= most
    assert 1 <= authorizations(stack, second.client_id) <= most

    # Once the cached policy expires, the next request with that token runs the authorizer
    # once more, and not before.
    runs_before = authorizations(stack, first.client_id)

    def asked_again() -> bool:
        assert http.get(reports_url, headers=first.headers, timeout=TIMEOUT).status_code == 200
        return authorizations(stack, first.client_id) > runs_before

    wait_for(asked_again, timeout=ttl + TTL_SLACK, interval=0.5, description="a new authorizer run")
    asked_again_at = time.monotonic()
    assert asked_again_at - started >= ttl
    assert authorizations(stack, first.client_id) == runs_before + 1
    # The new policy is cached in turn: more requests within the TTL run nothing.
    for _ in range(3):
        assert http.get(reports_url, headers=first.headers, timeout=TIMEOUT).status_code == 200
    if time.monotonic() - asked_again_at < ttl:
        assert authorizations(stack, first.client_id) == runs_before + 1


def test_a_revoked_token_gets_403_once_its_cached_policy_expires(
    stack, reports_url, http, add_client, ttl
):
    client = add_client(["GET /reports"])
    started = time.monotonic()
    assert http.get(reports_url, headers=client.headers, timeout=TIMEOUT).status_code == 200

    invoke_admin(stack, "revoke_client", {"client_id": client.client_id})
    still_cached = http.get(reports_url, headers=client.headers, timeout=TIMEOUT).status_code
    if time.monotonic() - started < ttl:
        # The documented trade-off: API Gateway keeps using the cached Allow until the TTL ends.
        assert still_cached == 200

    def refused() -> bool:
        response = http.get(reports_url, headers=client.headers, timeout=TIMEOUT)
        if response.status_code == 200:
            return False
        assert response.status_code == 403, response.text
        assert response.json() == {"Message": EXPLICIT_DENY}
        return True

    wait_for(
        refused, timeout=ttl + TTL_SLACK, interval=0.5, description="the revoked token refused"
    )
    # Not before the policy cached by the first request expired.
    assert time.monotonic() - started >= ttl
    calls_before = len(backend_calls(stack, client.client_id))
    assert http.get(reports_url, headers=client.headers, timeout=TIMEOUT).status_code == 403
    assert len(backend_calls(stack, client.client_id)) == calls_before
