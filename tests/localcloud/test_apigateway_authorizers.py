"""Lambda authorizers (TOKEN and REQUEST) of REST APIs on the local data plane.

APIs and authorizers are created with the real control-plane calls against the local cloud;
requests go through the data plane's WSGI app in this process with stand-in functions behind
the Lambda port, so each test counts exactly how often the authorizer and the backend ran.
AWS rules, each cited in its test: API Gateway developer guide, "Use API Gateway Lambda
authorizers", "Input to an API Gateway Lambda authorizer", "Output from an API Gateway Lambda
authorizer", "Gateway response types", and the AWS knowledge-center articles on 401 and 403
errors of Lambda authorizers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stack_testing import wait_for
from werkzeug.test import Client

from localcloud.apigateway import ExecuteApiApp
from localcloud.apigateway.config import MAX_BODY_ENV, TIMEOUT_ENV
from localcloud.apigateway.lambda_invoker import LambdaRejected
from localcloud.settings import CloudSettings

# --import-mode=importlib leaves sys.path alone; the helpers beside this file are imported by name.
sys.path.insert(0, str(Path(__file__).parent))
from _apigateway_auth_helpers import (
    ACCOUNT,
    AUTHORIZER,
    BACKEND,
    REGION,
    FakeFunctions,
    body,
    build_api,
    function_error,
    policy,
    url,
)

TOKEN = {"type": "TOKEN", "identitySource": "method.request.header.Authorization"}


@pytest.fixture
def apigw(aws) -> Iterator[Any]:
    """The control plane; APIs a test creates are deleted after it."""
    client = aws("apigateway")
    before = {item["id"] for item in client.get_rest_apis()["items"]}
    yield client
    for item in client.get_rest_apis()["items"]:
        if item["id"] not in before:
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


def arn(api_id: str, rest: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{rest}"


def token_api(apigw: Any, **authorizer: Any) -> str:
    return build_api(
        apigw,
        {("/items/{id}", "GET"): {"auth": True}, ("/other", "GET"): {"auth": True}},
        authorizer={**TOKEN, **authorizer},
    )


# --- TOKEN: the identity, checked before any invocation ----------------------------------------


def test_missing_or_empty_token_is_401_without_invoking(apigw, client, functions):
    """A TOKEN authorizer's request without the identity header, or with an empty one, is
    401 {"message": "Unauthorized"} and neither the authorizer nor the backend is invoked."""
    api_id = token_api(apigw)
    for headers in ({}, {"Authorization": ""}):
        response = client.get(url(api_id, "/items/1"), headers=headers)
        assert response.status_code == 401
        assert body(response) == {"message": "Unauthorized"}
        assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert functions.count(AUTHORIZER) == 0
    assert functions.count(BACKEND) == 0


def test_token_not_matching_the_validation_expression_is_401_without_invoking(
    apigw, client, functions
):
    """identityValidationExpression is a regular expression the whole token must match; a
    token that does not is refused with 401 before the authorizer function runs."""
    api_id = token_api(apigw, identityValidationExpression=r"Bearer [a-z0-9]+")
    response = client.get(url(api_id, "/items/1"), headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert functions.count(AUTHORIZER) == 0
    ok = client.get(url(api_id, "/items/1"), headers={"Authorization": "Bearer abc123"})
    assert ok.status_code == 200
    assert functions.count(AUTHORIZER) == 1


def test_token_event_names_the_token_and_the_method_arn(apigw, client, functions):
    """The TOKEN event is {"type": "TOKEN", "authorizationToken", "methodArn"}, with
    methodArn = arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}; the
    identity source header may name any header."""
    api_id = build_api(
        apigw,
        {("/items/{id}", "GET"): {"auth": True}},
        authorizer={"type": "TOKEN", "identitySource": "method.request.header.X-Token"},
    )
    response = client.get(url(api_id, "/items/42"), headers={"X-Token": "tok-1"})
    assert response.status_code == 200
    assert functions.last(AUTHORIZER) == {
        "type": "TOKEN",
        "authorizationToken": "tok-1",
        "methodArn": arn(api_id, "Prod/GET/items/42"),
    }


# --- the policy and the context ----------------------------------------------------------------


def test_allow_passes_principal_and_context_to_the_backend(apigw, client, functions):
    """An Allow for the method ARN lets the request through; a Lambda proxy integration
    receives requestContext.authorizer with principalId and the context keys, whose values
    (strings, numbers, booleans) arrive as strings."""
    functions.handlers[AUTHORIZER] = lambda event: policy(
        "Allow", event["methodArn"], context={"tenant": "acme", "level": 3, "admin": True}
    )
    api_id = token_api(apigw)
    response = client.get(url(api_id, "/items/1"), headers={"Authorization": "t"})
    assert response.status_code == 200
    assert functions.last(BACKEND)["requestContext"]["authorizer"] == {
        "principalId": "user-1",
        "tenant": "acme",
        "level": "3",
        "admin": "true",
    }


def test_explicit_deny_is_403_and_the_backend_never_runs(apigw, client, functions):
    """A Deny statement matching the method ARN wins over any Allow: 403 with AWS's message
    "User is not authorized to access this resource with an explicit deny"."""
    functions.handlers[AUTHORIZER] = lambda event: {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": event["methodArn"]},
            ],
        },
    }
    api_id = token_api(apigw)
    response = client.get(url(api_id, "/items/1"), headers={"Authorization": "t"})
    assert response.status_code == 403
    assert body(response) == {
        "Message": "User is not authorized to access this resource with an explicit deny"
    }
    assert functions.count(BACKEND) == 0


def test_no_matching_allow_is_403_implicit_deny(apigw, client, functions):
    """A policy with no Allow matching the method ARN denies implicitly: 403 "User is not
    authorized to access this resource"; the backend is not invoked."""
    functions.handlers[AUTHORIZER] = lambda event: policy(
        "Allow", event["methodArn"].replace("/GET/", "/POST/")
    )
    api_id = token_api(apigw)
    response = client.get(url(api_id, "/items/1"), headers={"Authorization": "t"})
    assert response.status_code == 403
    assert body(response) == {"message": "User is not authorized to access this resource"}
    assert functions.count(BACKEND) == 0


def test_resource_wildcards_star_and_question_mark(apigw, client, functions):
    """Policy resources may use * (any characters) and ? (one character), as in IAM."""
    api_id = token_api(apigw, authorizerResultTtlInSeconds=0)
    functions.handlers[AUTHORIZER] = lambda event: policy(
        "Allow", [arn(api_id, "*/GET/items/?"), arn(api_id, "Prod/*/other")]
    )
    headers = {"Authorization": "t"}
    assert client.get(url(api_id, "/items/7"), headers=headers).status_code == 200
    assert client.get(url(api_id, "/items/77"), headers=headers).status_code == 403
    assert client.get(url(api_id, "/other"), headers=headers).status_code == 200


# --- failures of the authorizer -----------------------------------------------------------------


def test_unauthorized_error_from_the_authorizer_is_401(apigw, client, functions):
    """An authorizer that fails with the message "Unauthorized" (raise
    Exception("Unauthorized")) makes API Gateway answer 401 Unauthorized."""
    functions.handlers[AUTHORIZER] = lambda event: function_error("Unauthorized")
    api_id = token_api(apigw)
    response = client.get(url(api_id, "/items/1"), headers={"Authorization": "t"})
    assert response.status_code == 401
    assert body(response) == {"message": "Unauthorized"}
    assert functions.count(BACKEND) == 0


@pytest.mark.parametrize(
    "answer",
    [
        function_error("database down"),
        {"principalId": "user-1"},  # no policyDocument
        {"policyDocument": {"Statement": []}},  # no principalId
        policy("Allow", "*", context={"nested": {"not": "allowed"}}),
        "not an object",
        LambdaRejected("ResourceNotFoundException: no such function"),
    ],
    ids=["function-error", "no-policy", "no-principal", "nested-context", "not-object", "refused"],
)
def test_authorizer_failure_is_500_with_a_null_message(apigw, client, functions, answer):
    """Any other authorizer error, a malformed answer (no principalId or policyDocument,
    context values that are not strings, numbers or booleans), or Lambda refusing the invoke
    is 500 {"message": null} with x-amzn-ErrorType AuthorizerConfigurationException."""

    def handler(event: dict[str, Any]) -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    functions.handlers[AUTHORIZER] = handler
    api_id = token_api(apigw)
    response = client.get(url(api_id, "/items/1"), headers={"Authorization": "t"})
    assert response.status_code == 500
    assert response.get_data() == b'{"message":null}'
    assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert functions.count(BACKEND) == 0


def test_gateway_responses_customise_authorizer_errors(apigw, client, functions):
    """UNAUTHORIZED, ACCESS_DENIED and AUTHORIZER_CONFIGURATION_ERROR are gateway response
    types: a customisation of the type replaces the built-in status and body."""
    api_id = build_api(
        apigw,
        {("/items/{id}", "GET"): {"auth": True}},
        authorizer={**TOKEN, "authorizerResultTtlInSeconds": 0},
        gateway_responses={
            "UNAUTHORIZED": {
                "responseTemplates": {"application/json": '{"error":"log in first"}'},
                "responseParameters": {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"},
            },
            "ACCESS_DENIED": {
                "responseTemplates": {"application/json": '{"error":$context.error.messageString}'}
            },
            "AUTHORIZER_CONFIGURATION_ERROR": {"statusCode": "503"},
        },
    )
    missing = client.get(url(api_id, "/items/1"))
    assert (missing.status_code, body(missing)) == (401, {"error": "log in first"})
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    functions.handlers[AUTHORIZER] = lambda event: policy("Deny", "*")
    denied = client.get(url(api_id, "/items/1"), headers={"Authorization": "t"})
    assert denied.status_code == 403
    assert body(denied) == {
        "error": "User is not authorized to access this resource with an explicit deny"
    }
    functions.handlers[AUTHORIZER] = lambda event: function_error("boom")
    failed = client.get(url(api_id, "/items/1"), headers={"Authorization": "t"})
    assert failed.status_code == 503


# --- caching -----------------------------------------------------------------------------------


def test_result_is_cached_per_token_for_the_ttl(apigw, client, functions):
    """With authorizerResultTtlInSeconds > 0 (default 300) the result is cached per token: N
    requests with one token invoke the authorizer once; another token invokes it again."""
    api_id = token_api(apigw)
    for _ in range(5):
        response = client.get(url(api_id, "/items/1"), headers={"Authorization": "alice"})
        assert response.status_code == 200
    assert functions.count(AUTHORIZER) == 1
    assert functions.count(BACKEND) == 5
    assert client.get(url(api_id, "/items/1"), headers={"Authorization": "bob"}).status_code == 200
    assert functions.count(AUTHORIZER) == 2


def test_cached_policy_is_evaluated_against_each_method_arn(apigw, client, functions):
    """The cached policy applies to every request with the same token within the TTL: a
    policy allowing only one route refuses another route from the cache, with no new call."""
    functions.handlers[AUTHORIZER] = lambda event: policy("Allow", event["methodArn"])
    api_id = token_api(apigw)
    headers = {"Authorization": "alice"}
    assert client.get(url(api_id, "/items/1"), headers=headers).status_code == 200
    other = client.get(url(api_id, "/other"), headers=headers)
    assert other.status_code == 403
    assert body(other) == {"message": "User is not authorized to access this resource"}
    assert functions.count(AUTHORIZER) == 1
    assert functions.count(BACKEND) == 1


def test_ttl_zero_invokes_the_authorizer_on_every_request(apigw, client, functions):
    """authorizerResultTtlInSeconds 0 disables caching: every request invokes the
    authorizer."""
    api_id = token_api(apigw, authorizerResultTtlInSeconds=0)
    for _ in range(3):
        client.get(url(api_id, "/items/1"), headers={"Authorization": "alice"})
    assert functions.count(AUTHORIZER) == 3


def test_cached_result_expires_after_the_ttl(apigw, client, functions):
    """A cached result lives for authorizerResultTtlInSeconds: within the TTL the authorizer
    is not called again, after it the next request calls it again."""
    api_id = token_api(apigw, authorizerResultTtlInSeconds=1)
    headers = {"Authorization": "alice"}
    assert client.get(url(api_id, "/items/1"), headers=headers).status_code == 200
    assert client.get(url(api_id, "/items/1"), headers=headers).status_code == 200
    assert functions.count(AUTHORIZER) == 1

    def reauthorized() -> bool:
        assert client.get(url(api_id, "/items/1"), headers=headers).status_code == 200
        return functions.count(AUTHORIZER) == 2

    wait_for(reauthorized, timeout=5, interval=0.1, description="the cached result to expire")


def test_cache_is_per_deployment(apigw, client, functions):
    """A new deployment of the stage starts with an empty authorizer cache."""
    api_id = token_api(apigw)
    headers = {"Authorization": "alice"}
    client.get(url(api_id, "/items/1"), headers=headers)
    apigw.create_deployment(restApiId=api_id, stageName="Prod")
    client.get(url(api_id, "/items/1"), headers=headers)
    assert functions.count(AUTHORIZER) == 2


# --- REQUEST authorizers ------------------------------------------------------------------------


def request_api(apigw: Any, ttl: int = 300) -> str:
    return build_api(
        apigw,
        {("/items/{id}", "GET"): {"auth": True}},
        authorizer={
            "type": "REQUEST",
            "identitySource": "method.request.header.X-User, method.request.querystring.tenant",
            "authorizerResultTtlInSeconds": ttl,
        },
        variables={"env": "test"},
    )


def test_request_authorizer_event_carries_the_request(apigw, client, functions):
    """A REQUEST authorizer receives type REQUEST, methodArn, resource, path, httpMethod,
    headers, queryStringParameters, pathParameters, stageVariables and requestContext."""
    api_id = request_api(apigw)
    response = client.get(url(api_id, "/items/9?tenant=acme"), headers={"X-User": "ann"})
    assert response.status_code == 200
    event = functions.last(AUTHORIZER)
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == arn(api_id, "Prod/GET/items/9")
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/9"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-User"] == "ann"
    assert event["multiValueHeaders"]["X-User"] == ["ann"]
    assert event["queryStringParameters"] == {"tenant": "acme"}
    assert event["pathParameters"] == {"id": "9"}
    assert event["stageVariables"] == {"env": "test"}
    assert event["requestContext"]["stage"] == "Prod"
    assert event["requestContext"]["resourcePath"] == "/items/{id}"


def test_request_authorizer_missing_identity_source_is_401_when_caching(apigw, client, functions):
    """With caching on, every identity source of a REQUEST authorizer must be present and
    non-empty; otherwise 401 without invoking the authorizer."""
    api_id = request_api(apigw)
    for path, headers in [
        ("/items/1", {"X-User": "ann"}),
        ("/items/1?tenant=acme", {}),
        ("/items/1?tenant=", {"X-User": "ann"}),
    ]:
        response = client.get(url(api_id, path), headers=headers)
        assert response.status_code == 401, (path, headers)
    assert functions.count(AUTHORIZER) == 0
    assert functions.count(BACKEND) == 0


def test_request_authorizer_without_caching_is_invoked_without_identity(apigw, client, functions):
    """When authorization caching is off, identity sources are optional: the REQUEST
    authorizer runs even if they are missing, and decides itself."""
    functions.handlers[AUTHORIZER] = lambda event: (
        policy("Allow", "*")
        if (event["headers"] or {}).get("X-User")
        else function_error("Unauthorized")
    )
    api_id = request_api(apigw, ttl=0)
    assert client.get(url(api_id, "/items/1")).status_code == 401
    assert functions.count(AUTHORIZER) == 1
    assert client.get(url(api_id, "/items/1"), headers={"X-User": "ann"}).status_code == 200


def test_request_authorizer_caches_per_identity_values(apigw, client, functions):
    """A REQUEST authorizer's cache key is the combination of its identity source values:
    the same header and query value hit the cache, another value of either one does not."""
    api_id = request_api(apigw)
    for _ in range(3):
        client.get(url(api_id, "/items/1?tenant=acme"), headers={"X-User": "ann"})
    assert functions.count(AUTHORIZER) == 1
    client.get(url(api_id, "/items/1?tenant=other"), headers={"X-User": "ann"})
    client.get(url(api_id, "/items/1?tenant=acme"), headers={"X-User": "bob"})
    assert functions.count(AUTHORIZER) == 3
    assert functions.count(BACKEND) == 5


def test_iam_authorization_is_refused_not_skipped(apigw, client, functions):
    """Authorization types the local cloud does not implement (AWS_IAM) are never let
    through: the request is refused with a 500 naming the type, and the backend never runs."""
    api_id = apigw.create_rest_api(name="iam-api")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{BACKEND}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName="Prod")
    response = client.get(url(api_id, "/"))
    assert response.status_code == 500
    assert "AWS_IAM" in json.loads(response.get_data())["message"]
    assert functions.count(BACKEND) == 0


def test_authorizer_context_reaches_non_proxy_integrations(apigw, client, functions):
    """An HTTP (or AWS) integration sees the authorizer's output as ``$context.authorizer`` in
    its mapping template and as ``context.authorizer.{key}`` in its request parameters
    ("Output from an API Gateway Lambda authorizer": the context is "accessible ... in the
    integration request mapping")."""
    from _apigateway_integration_helpers import Backend

    functions.handlers[AUTHORIZER] = lambda event: policy(
        "Allow", event["methodArn"], context={"tenant": "acme"}
    )
    api_id = token_api(apigw)
    resource = next(
        item["id"]
        for item in apigw.get_resources(restApiId=api_id)["items"]
        if item["path"] == "/other"
    )
    backend = Backend()
    try:
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="GET",
            type="HTTP",
            integrationHttpMethod="POST",
            uri=backend.url + "/seen",
            requestParameters={"integration.request.header.X-Tenant": "context.authorizer.tenant"},
            requestTemplates={
                "application/json": '{"principal": "$context.authorizer.principalId"}'
            },
        )
        apigw.put_integration_response(
            restApiId=api_id, resourceId=resource, httpMethod="GET", statusCode="200"
        )
        apigw.create_deployment(restApiId=api_id, stageName="Prod")
        response = client.get(url(api_id, "/other"), headers={"Authorization": "t"})
        assert response.status_code == 200, response.get_data()
        assert backend.last.headers["X-Tenant"] == "acme"
        assert json.loads(backend.last.body) == {"principal": "user-1"}
    finally:
        backend.close()
