"""API keys, usage plans and stage method throttling of REST APIs on the local data plane.

API keys, usage plans and stages are set up with the real control-plane calls against the
local cloud; requests go through the data plane's WSGI app in this process with stand-in
functions, so every test counts how often the backend ran. AWS rules, each cited in its
test: API Gateway developer guide, "Usage plans and API keys for REST APIs", "Choose an API
key source", "Throttle requests to your REST APIs for better throughput", "Gateway response
types". Limits are small (a burst of 2, a refill far slower than the test) so the outcome
does not depend on timing.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stack_testing import wait_for
from werkzeug.test import Client

from localcloud.apigateway import ExecuteApiApp
from localcloud.apigateway.config import MAX_BODY_ENV, TIMEOUT_ENV
from localcloud.settings import CloudSettings

# --import-mode=importlib leaves sys.path alone; the helpers beside this file are imported by name.
sys.path.insert(0, str(Path(__file__).parent))
from _apigateway_auth_helpers import (
    AUTHORIZER,
    BACKEND,
    FakeFunctions,
    body,
    build_api,
    policy,
    url,
)

SLOW_REFILL = 0.001  # one token every 1000 s: nothing refills during a test


@pytest.fixture
def apigw(aws) -> Iterator[Any]:
    """The control plane; APIs, keys and plans a test creates are deleted after it."""
    client = aws("apigateway")
    apis = {item["id"] for item in client.get_rest_apis()["items"]}
    plans = {item["id"] for item in client.get_usage_plans()["items"]}
    keys = {item["id"] for item in client.get_api_keys()["items"]}
    yield client
    for item in client.get_usage_plans()["items"]:
        if item["id"] not in plans:
            client.delete_usage_plan(usagePlanId=item["id"])
    for item in client.get_api_keys()["items"]:
        if item["id"] not in keys:
            client.delete_api_key(apiKey=item["id"])
    for item in client.get_rest_apis()["items"]:
        if item["id"] not in apis:
            client.delete_rest_api(restApiId=item["id"])


@pytest.fixture
def functions() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture
def client(tmp_path, functions, monkeypatch) -> Client:
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    settings = CloudSettings(endpoint_url="http://127.0.0.1:4566", state_dir=tmp_path)
    return Client(ExecuteApiApp(settings, invoker=functions))


def new_key(apigw: Any, *, enabled: bool = True) -> tuple[str, str]:
    """An API key: (id, value)."""
    value = secrets.token_hex(16)
    created = apigw.create_api_key(name=f"key-{value[:8]}", enabled=enabled, value=value)
    return created["id"], value


def plan_for(
    apigw: Any, api_id: str, key_id: str | None, stage: str = "Prod", **limits: Any
) -> str:
    """A usage plan including the API stage, with ``key_id`` associated to it."""
    plan_id = apigw.create_usage_plan(
        name=f"plan-{secrets.token_hex(4)}", apiStages=[{"apiId": api_id, "stage": stage}], **limits
    )["id"]
    if key_id is not None:
        apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    return plan_id


def keyed_api(apigw: Any) -> str:
    return build_api(apigw, {("/items", "GET"): {"apiKeyRequired": True}, ("/open", "GET"): {}})


# --- API keys ----------------------------------------------------------------------------------


def test_api_key_required_missing_or_unknown_key_is_403(apigw, client, functions):
    """A method with apiKeyRequired needs an x-api-key header holding a key: without one, or
    with a value no key has, API Gateway answers 403 {"message": "Forbidden"} and the
    backend is not invoked; methods without the requirement are not affected."""
    api_id = keyed_api(apigw)
    key_id, _ = new_key(apigw)
    plan_for(apigw, api_id, key_id)
    for headers in ({}, {"x-api-key": "no-such-key-value-0000000"}):
        response = client.get(url(api_id, "/items"), headers=headers)
        assert response.status_code == 403
        assert body(response) == {"message": "Forbidden"}
    assert functions.count(BACKEND) == 0
    assert client.get(url(api_id, "/open")).status_code == 200


def test_valid_key_in_a_plan_of_the_stage_passes(apigw, client, functions):
    """An enabled key associated (usage plan key) with a usage plan that includes this API
    stage may call the method."""
    api_id = keyed_api(apigw)
    key_id, value = new_key(apigw)
    plan_for(apigw, api_id, key_id)
    response = client.get(url(api_id, "/items"), headers={"x-api-key": value})
    assert response.status_code == 200
    assert functions.count(BACKEND) == 1


def test_disabled_key_or_key_outside_the_stage_plan_is_403(apigw, client, functions):
    """A disabled key, a key in no usage plan, and a key whose plan covers another stage are
    all refused with 403 Forbidden."""
    api_id = keyed_api(apigw)
    disabled_id, disabled = new_key(apigw, enabled=False)
    plan_for(apigw, api_id, disabled_id)
    _, unassociated = new_key(apigw)
    other_stage_id, other_stage = new_key(apigw)
    plan_for(apigw, api_id, other_stage_id, stage="Beta")
    for value in (disabled, unassociated, other_stage):
        response = client.get(url(api_id, "/items"), headers={"x-api-key": value})
        assert response.status_code == 403, value
    assert functions.count(BACKEND) == 0


def test_invalid_api_key_gateway_response_is_applied(apigw, client, functions):
    """The refusal is the INVALID_API_KEY gateway response type: its customisation applies."""
    api_id = build_api(
        apigw,
        {("/items", "GET"): {"apiKeyRequired": True}},
        gateway_responses={
            "INVALID_API_KEY": {
                "statusCode": "401",
                "responseTemplates": {"application/json": '{"error":"send a valid x-api-key"}'},
            }
        },
    )
    response = client.get(url(api_id, "/items"))
    assert (response.status_code, body(response)) == (401, {"error": "send a valid x-api-key"})


def test_api_key_from_the_authorizer(apigw, client, functions):
    """With apiKeySource AUTHORIZER the key is the Lambda authorizer's usageIdentifierKey,
    not the x-api-key header."""
    api_id = build_api(
        apigw,
        {("/items", "GET"): {"auth": True, "apiKeyRequired": True}},
        authorizer={"type": "TOKEN", "authorizerResultTtlInSeconds": 0},
        api_key_source="AUTHORIZER",
    )
    key_id, value = new_key(apigw)
    plan_for(apigw, api_id, key_id)
    functions.handlers[AUTHORIZER] = lambda event: policy(
        "Allow", "*", usageIdentifierKey=value if event["authorizationToken"] == "good" else "x"
    )
    assert client.get(url(api_id, "/items"), headers={"Authorization": "good"}).status_code == 200
    refused = client.get(
        url(api_id, "/items"), headers={"Authorization": "bad", "x-api-key": value}
    )
    assert refused.status_code == 403
    assert functions.count(BACKEND) == 1


# --- usage plan throttle and quota -------------------------------------------------------------


def test_usage_plan_throttle_is_429_too_many_requests(apigw, client, functions):
    """A usage plan's throttle (burstLimit, rateLimit) applies per API key: past the burst,
    429 {"message": "Too Many Requests"}; another key of the same plan has its own bucket."""
    api_id = keyed_api(apigw)
    key_id, value = new_key(apigw)
    other_id, other = new_key(apigw)
    plan_id = plan_for(apigw, api_id, key_id, throttle={"burstLimit": 2, "rateLimit": SLOW_REFILL})
    apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=other_id, keyType="API_KEY")
    statuses = [
        client.get(url(api_id, "/items"), headers={"x-api-key": value}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 429, 429]
    throttled = client.get(url(api_id, "/items"), headers={"x-api-key": value})
    assert body(throttled) == {"message": "Too Many Requests"}
    assert client.get(url(api_id, "/items"), headers={"x-api-key": other}).status_code == 200
    assert functions.count(BACKEND) == 3


def test_usage_plan_quota_is_429_limit_exceeded(apigw, client, functions):
    """A usage plan's quota (limit per DAY, WEEK or MONTH) counts each key's requests: past
    the limit, 429 {"message": "Limit Exceeded"} and the backend is not invoked."""
    api_id = keyed_api(apigw)
    key_id, value = new_key(apigw)
    plan_for(apigw, api_id, key_id, quota={"limit": 3, "period": "DAY"})
    statuses = [
        client.get(url(api_id, "/items"), headers={"x-api-key": value}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    exceeded = client.get(url(api_id, "/items"), headers={"x-api-key": value})
    assert exceeded.status_code == 429
    assert body(exceeded) == {"message": "Limit Exceeded"}
    assert functions.count(BACKEND) == 3


def test_usage_plan_method_throttle_replaces_the_plan_throttle_for_that_method(
    apigw, client, functions
):
    """A usage plan may throttle one method of a stage (``apiStages[].throttle`` keyed
    ``/items/GET``): that method gets its own per-key bucket, the plan-wide throttle keeps
    applying to the other methods ("Usage plans": per-method throttling of an API stage)."""
    api_id = build_api(
        apigw,
        {("/items", "GET"): {"apiKeyRequired": True}, ("/other", "GET"): {"apiKeyRequired": True}},
    )
    key_id, value = new_key(apigw)
    plan_id = apigw.create_usage_plan(
        name=f"plan-{secrets.token_hex(4)}",
        apiStages=[
            {
                "apiId": api_id,
                "stage": "Prod",
                "throttle": {"/items/GET": {"burstLimit": 1, "rateLimit": SLOW_REFILL}},
            }
        ],
        throttle={"burstLimit": 3, "rateLimit": SLOW_REFILL},
    )["id"]
    apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    headers = {"x-api-key": value}
    items = [client.get(url(api_id, "/items"), headers=headers).status_code for _ in range(2)]
    other = [client.get(url(api_id, "/other"), headers=headers).status_code for _ in range(4)]
    assert items == [200, 429]
    assert other == [200, 200, 200, 429]
    assert functions.count(BACKEND) == 4


# --- stage method throttling --------------------------------------------------------------------


def throttle_stage(apigw: Any, api_id: str, method_path: str, burst: int) -> None:
    apigw.update_stage(
        restApiId=api_id,
        stageName="Prod",
        patchOperations=[
            {"op": "replace", "path": f"/{method_path}/throttling/burstLimit", "value": str(burst)},
            {
                "op": "replace",
                "path": f"/{method_path}/throttling/rateLimit",
                "value": str(SLOW_REFILL),
            },
        ],
    )


def test_stage_default_method_throttling_is_429(apigw, client, functions):
    """Stage method settings */* (throttlingBurstLimit, throttlingRateLimit) limit each method
    of the stage for all callers: past the burst, 429 Too Many Requests; each method has its
    own bucket."""
    api_id = build_api(apigw, {("/a", "GET"): {}, ("/b", "GET"): {}})
    throttle_stage(apigw, api_id, "*/*", burst=2)
    statuses = [client.get(url(api_id, "/a")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert body(client.get(url(api_id, "/a"))) == {"message": "Too Many Requests"}
    assert client.get(url(api_id, "/b")).status_code == 200
    assert functions.count(BACKEND) == 3


def test_method_setting_overrides_the_stage_default(apigw, client, functions):
    """A method's own setting ({path with / as ~1}/{METHOD}) wins over the stage default."""
    api_id = build_api(apigw, {("/a", "GET"): {}, ("/b", "GET"): {}})
    throttle_stage(apigw, api_id, "*/*", burst=5)
    throttle_stage(apigw, api_id, "~1a/GET", burst=1)
    assert [client.get(url(api_id, "/a")).status_code for _ in range(2)] == [200, 429]
    assert [client.get(url(api_id, "/b")).status_code for _ in range(2)] == [200, 200]


def test_throttle_refills_at_the_rate(apigw, client, functions):
    """The bucket refills at throttlingRateLimit requests per second: after a throttled
    request, a request one refill period later passes again."""
    api_id = build_api(apigw, {("/a", "GET"): {}})
    apigw.update_stage(
        restApiId=api_id,
        stageName="Prod",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "5"},
        ],
    )
    assert client.get(url(api_id, "/a")).status_code == 200
    wait_for(
        lambda: client.get(url(api_id, "/a")).status_code == 200,
        timeout=5,
        interval=0.05,
        description="a token to refill",
    )
    assert functions.count(BACKEND) == 2


def test_imported_definition_sets_the_api_key_source(apigw, local_cloud):
    """``x-amazon-apigateway-api-key-source`` of an imported OpenAPI document sets the API's
    apiKeySource ("x-amazon-apigateway-api-key-source", API Gateway extensions to OpenAPI)."""
    from moto.apigateway.models import apigateway_backends

    from localcloud.cloudformation.models.openapi import import_definition

    api_id = apigw.create_rest_api(name="key-source")["id"]
    assert apigw.get_rest_api(restApiId=api_id)["apiKeySource"] == "HEADER"
    backend = apigateway_backends[local_cloud.settings.account_id][apigw.meta.region_name]
    document = {
        "openapi": "3.0.1",
        "info": {"title": "key-source", "version": "1"},
        "x-amazon-apigateway-api-key-source": "AUTHORIZER",
        "paths": {},
    }
    import_definition(backend, api_id, document)
    assert apigw.get_rest_api(restApiId=api_id)["apiKeySource"] == "AUTHORIZER"
