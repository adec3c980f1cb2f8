"""The REST API data plane against the local cloud's control plane, with a stand-in Lambda.

APIs are created with the real API Gateway control-plane calls (boto3 against the local
cloud), requests go through the data plane's WSGI app in this process (it reads the same
moto state), and the Lambda side is an injected invoker, so every rule of the gateway itself
is checked without depending on the Lambda runtime. AWS rules, each cited in its test:
API Gateway developer guide ("Gateway response types", "Set up gateway responses to customize
error responses", "Amazon API Gateway quotas", "Amazon API Gateway important notes", "Input
format of a Lambda function for proxy integration", "Binary media types for REST APIs") and
Lambda developer guide ("Handling Lambda errors with an API Gateway API").
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client, EnvironBuilder

from localcloud.apigateway import (
    INTEGRATION_TIMEOUT_SECONDS,
    MAX_REQUEST_BODY_BYTES,
    ExecuteApiApp,
    GatewayLimits,
)
from localcloud.apigateway.config import MAX_BODY_ENV, TIMEOUT_ENV
from localcloud.apigateway.lambda_invoker import (
    InvocationResult,
    LambdaRejected,
    LambdaThrottled,
)
from localcloud.settings import CloudSettings

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "/_aws/execute-api"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def lambda_uri(function: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function}/invocations"


class FakeLambda:
    """Stands in for Lambda behind the invoker port: records events, answers with a handler."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.trace_headers: list[str | None] = []
        self.handler: Callable[[dict[str, Any]], Any] = lambda event: {
            "statusCode": 200,
            "body": json.dumps({"path": event["path"]}),
        }

    def invoke(
        self, function_arn: str, payload: bytes, trace_header: str | None = None
    ) -> InvocationResult:
        event = json.loads(payload)
        self.trace_headers.append(trace_header)
        self.calls.append((function_arn, event))
        answer = self.handler(event)
        if isinstance(answer, InvocationResult):
            return answer
        if isinstance(answer, bytes):
            return InvocationResult(answer)
        return InvocationResult(json.dumps(answer).encode())

    @property
    def last_event(self) -> dict[str, Any]:
        return self.calls[-1][1]


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
def fake_lambda() -> FakeLambda:
    return FakeLambda()


@pytest.fixture
def client(tmp_path, fake_lambda, monkeypatch) -> Client:
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    settings = CloudSettings(endpoint_url="http://127.0.0.1:4566", state_dir=tmp_path)
    return Client(ExecuteApiApp(settings, invoker=fake_lambda))


def create_api(
    apigw: Any,
    routes: dict[tuple[str, str], dict[str, Any]],
    *,
    stage: str = "Prod",
    variables: dict[str, str] | None = None,
    gateway_responses: dict[str, dict[str, Any]] | None = None,
) -> str:
    """A REST API with one method per ``(path, method)``: ``{"uri": ...}`` or put_method extras.

    ``gateway_responses`` maps a response type to PutGatewayResponse arguments (statusCode,
    responseParameters, responseTemplates), put before the deployment as on AWS.
    """
    api_id = apigw.create_rest_api(name="test-api")["id"]
    for response_type, customisation in (gateway_responses or {}).items():
        apigw.put_gateway_response(restApiId=api_id, responseType=response_type, **customisation)
    ids = {"/": apigw.get_resources(restApiId=api_id)["items"][0]["id"]}

    def resource_id(path: str) -> str:
        if path not in ids:
            parent, _, part = path.rpartition("/")
            ids[path] = apigw.create_resource(
                restApiId=api_id, parentId=resource_id(parent or "/"), pathPart=part
            )["id"]
        return ids[path]

    for (path, method), spec in routes.items():
        rid = resource_id(path)
        apigw.put_method(
            restApiId=api_id,
            resourceId=rid,
            httpMethod=method,
            authorizationType=spec.get("authorizationType", "NONE"),
            **({"authorizerId": spec["authorizerId"]} if "authorizerId" in spec else {}),
            **({"apiKeyRequired": True} if spec.get("apiKeyRequired") else {}),
        )
        extra = {"timeoutInMillis": spec["timeoutInMillis"]} if "timeoutInMillis" in spec else {}
        apigw.put_integration(
            restApiId=api_id,
            resourceId=rid,
            httpMethod=method,
            type=spec.get("type", "AWS_PROXY"),
            integrationHttpMethod="POST",
            uri=spec.get("uri", lambda_uri(function_arn("fn"))),
            **extra,
        )
    apigw.create_deployment(restApiId=api_id, stageName=stage, variables=variables or {})
    return api_id


def url(api_id: str, path: str, stage: str = "Prod") -> str:
    return f"{PREFIX}/{api_id}/{stage}{path}"


def message(response) -> str:
    return json.loads(response.get_data())["message"]


# --- routing, stages, and AWS's own error answers ---------------------------------------------


def test_request_reaches_the_function_with_path_parameters(apigw, client, fake_lambda):
    """A deployed AWS_PROXY method invokes its function with the v1 event of the request."""
    api_id = create_api(apigw, {("/items/{id}", "GET"): {}})
    response = client.get(url(api_id, "/items/42?tag=a&tag=b"), headers={"X-Tag": "t"})
    assert response.status_code == 200
    assert json.loads(response.get_data()) == {"path": "/items/42"}
    arn, event = fake_lambda.calls[-1]
    assert arn == function_arn("fn")
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["headers"]["X-Tag"] == "t"
    assert event["requestContext"]["stage"] == "Prod"
    assert event["requestContext"]["path"] == "/Prod/items/42"
    assert event["requestContext"]["apiId"] == api_id


def test_literal_beats_variable_beats_greedy_through_the_control_plane(apigw, client, fake_lambda):
    """Resources created with CreateResource follow AWS precedence: literal, {var}, {proxy+}."""
    api_id = create_api(
        apigw,
        {
            ("/items/new", "GET"): {},
            ("/items/{id}", "GET"): {},
            ("/{proxy+}", "ANY"): {},
        },
    )
    for path, resource in [
        ("/items/new", "/items/new"),
        ("/items/7", "/items/{id}"),
        ("/items/7/parts", "/{proxy+}"),
        ("/other", "/{proxy+}"),
    ]:
        assert client.get(url(api_id, path)).status_code == 200
        assert fake_lambda.last_event["resource"] == resource
    assert client.delete(url(api_id, "/a/b")).status_code == 200
    assert fake_lambda.last_event["pathParameters"] == {"proxy": "a/b"}
    assert fake_lambda.last_event["httpMethod"] == "DELETE"


def test_unknown_route_is_missing_authentication_token(apigw, client, fake_lambda):
    """No resource or no method for the request: 403 "Missing Authentication Token"."""
    api_id = create_api(apigw, {("/items", "GET"): {}})
    for response in (client.get(url(api_id, "/nope")), client.post(url(api_id, "/items"))):
        assert response.status_code == 403
        assert message(response) == "Missing Authentication Token"
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert fake_lambda.calls == []


def test_unknown_api_or_stage_is_forbidden(apigw, client):
    """An API id or stage that does not exist: 403 "Forbidden"."""
    api_id = create_api(apigw, {("/items", "GET"): {}})
    for path in (f"{PREFIX}/doesnotexist/Prod/items", url(api_id, "/items", stage="Nope")):
        response = client.get(path)
        assert response.status_code == 403
        assert message(response) == "Forbidden"
    assert client.get(f"{PREFIX}/{api_id}").status_code == 403


def test_gateway_response_headers(apigw, client, fake_lambda):
    """Every answer carries x-amzn-RequestId (= requestContext.requestId), x-amz-apigw-id
    (= extendedRequestId) and X-Amzn-Trace-Id."""
    api_id = create_api(apigw, {("/items", "GET"): {}})
    response = client.get(url(api_id, "/items"))
    context = fake_lambda.last_event["requestContext"]
    assert response.headers["x-amzn-RequestId"] == context["requestId"]
    assert response.headers["x-amz-apigw-id"] == context["extendedRequestId"]
    trace = fake_lambda.last_event["headers"]["X-Amzn-Trace-Id"]
    assert response.headers["X-Amzn-Trace-Id"] == trace
    assert fake_lambda.trace_headers[-1] == trace  # the function joins the request's trace
    assert response.headers["Content-Type"] == "application/json"
    error = client.get(url(api_id, "/missing"))
    assert error.headers["x-amzn-RequestId"]


def test_response_headers_and_multi_value_headers_reach_the_client(apigw, client, fake_lambda):
    """The function's status, headers and multiValueHeaders become the HTTP response."""
    api_id = create_api(apigw, {("/items", "POST"): {}})
    fake_lambda.handler = lambda event: {
        "statusCode": 201,
        "headers": {"Location": "/items/1", "Content-Type": "text/plain"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "created",
    }
    response = client.post(url(api_id, "/items"), data="x")
    assert response.status_code == 201
    assert response.headers["Location"] == "/items/1"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.get_data() == b"created"


def test_unexpected_failure_answers_like_api_gateway(tmp_path):
    """A failure inside the data plane itself still answers API Gateway's JSON 500."""

    class BrokenCatalog:
        def find_stage(self, api_id, stage_name):
            raise RuntimeError("catalog unavailable")

    settings = CloudSettings(endpoint_url="http://127.0.0.1:4566", state_dir=tmp_path)
    app = ExecuteApiApp(settings, catalog=BrokenCatalog(), invoker=FakeLambda())
    response = Client(app).get(f"{PREFIX}/abc/Prod/items")
    assert response.status_code == 500
    assert message(response) == "Internal server error"


def test_head_answers_headers_without_body(apigw, client):
    """HEAD goes to the ANY method and gets no body back."""
    api_id = create_api(apigw, {("/items", "ANY"): {}})
    response = client.head(url(api_id, "/items"))
    assert response.status_code == 200
    assert response.get_data() == b""


def test_stage_variables_select_the_function(apigw, client, fake_lambda):
    """``${stageVariables.x}`` in the integration URI is replaced with the stage's value, and
    the variables reach the event."""
    uri = lambda_uri(function_arn("orders") + ":${stageVariables.alias}")
    api_id = create_api(apigw, {("/orders", "GET"): {"uri": uri}}, variables={"alias": "live"})
    assert client.get(url(api_id, "/orders")).status_code == 200
    arn, event = fake_lambda.calls[-1]
    assert arn == function_arn("orders") + ":live"
    assert event["stageVariables"] == {"alias": "live"}


def test_undefined_stage_variable_is_a_configuration_error(apigw, client, fake_lambda):
    """A URI naming a stage variable the stage lacks cannot be invoked: 500."""
    uri = lambda_uri(function_arn("orders") + ":${stageVariables.missing}")
    api_id = create_api(apigw, {("/orders", "GET"): {"uri": uri}})
    response = client.get(url(api_id, "/orders"))
    assert response.status_code == 500
    assert message(response) == "Internal server error"
    assert fake_lambda.calls == []


def test_api_imported_from_openapi_with_any_method(apigw, client, fake_lambda):
    """An API imported with ImportRestApi (x-amazon-apigateway-any-method) routes the same."""
    document = {
        "openapi": "3.0.1",
        "info": {"title": "imported", "description": "imported", "version": "1"},
        "paths": {
            "/pets/{petId}": {
                "x-amazon-apigateway-any-method": {
                    "x-amazon-apigateway-integration": {
                        "type": "aws_proxy",
                        "httpMethod": "POST",
                        "uri": lambda_uri(function_arn("pets")),
                    }
                }
            }
        },
    }
    api_id = apigw.import_rest_api(body=json.dumps(document))["id"]
    apigw.create_deployment(restApiId=api_id, stageName="v1")
    response = client.put(url(api_id, "/pets/9", stage="v1"), data="{}")
    assert response.status_code == 200
    arn, event = fake_lambda.calls[-1]
    assert arn == function_arn("pets")
    assert (event["resource"], event["pathParameters"]) == ("/pets/{petId}", {"petId": "9"})


# --- binary payloads ---------------------------------------------------------------------------


def add_binary_media_type(apigw: Any, api_id: str, media_type: str) -> None:
    escaped = media_type.replace("/", "~1")
    apigw.update_rest_api(
        restApiId=api_id,
        patchOperations=[
            {"op": "add", "path": f"/binaryMediaTypes/{escaped}", "value": media_type}
        ],
    )


def test_binary_request_and_response_round_trip(apigw, client, fake_lambda):
    """With image/png in binaryMediaTypes, a PNG upload reaches the function base64-encoded
    and a base64 answer reaches a client accepting image/png as the original bytes."""
    api_id = create_api(apigw, {("/images", "POST"): {}})
    add_binary_media_type(apigw, api_id, "image/png")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    fake_lambda.handler = lambda event: {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": event["body"],
        "isBase64Encoded": True,
    }
    response = client.post(
        url(api_id, "/images"),
        data=png,
        headers={"Content-Type": "image/png", "Accept": "image/png"},
    )
    assert fake_lambda.last_event["isBase64Encoded"] is True
    assert base64.b64decode(fake_lambda.last_event["body"]) == png
    assert response.status_code == 200
    assert response.get_data() == png
    # A client whose first Accept type is not binary gets the base64 text, as on AWS.
    text = client.post(
        url(api_id, "/images"), data=png, headers={"Content-Type": "image/png", "Accept": "*/*"}
    )
    assert text.get_data() == base64.b64encode(png)


def test_body_of_a_non_binary_type_is_text(apigw, client, fake_lambda):
    """A Content-Type outside binaryMediaTypes reaches the function as text."""
    api_id = create_api(apigw, {("/items", "POST"): {}})
    client.post(url(api_id, "/items"), data='{"name":"x"}', content_type="application/json")
    assert fake_lambda.last_event["body"] == '{"name":"x"}'
    assert fake_lambda.last_event["isBase64Encoded"] is False


# --- Lambda failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        b"not json at all",
        {"body": "no statusCode"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "unexpected": True},
    ],
)
def test_malformed_proxy_response_is_502(apigw, client, fake_lambda, answer):
    """A malformed Lambda proxy response: 502 {"message": "Internal server error"}."""
    api_id = create_api(apigw, {("/items", "GET"): {}})
    fake_lambda.handler = lambda event: answer
    response = client.get(url(api_id, "/items"))
    assert response.status_code == 502
    assert message(response) == "Internal server error"


def test_function_error_is_502(apigw, client, fake_lambda):
    """A function that fails (X-Amz-Function-Error): 502 {"message": "Internal server error"}."""
    api_id = create_api(apigw, {("/items", "GET"): {}})
    failure = {"errorMessage": "boom", "errorType": "ValueError"}
    fake_lambda.handler = lambda event: InvocationResult(json.dumps(failure).encode(), "Unhandled")
    response = client.get(url(api_id, "/items"))
    assert response.status_code == 502
    assert message(response) == "Internal server error"


def test_throttled_or_refused_invoke_is_500(apigw, client, fake_lambda):
    """Lambda refusing the invoke, throttling (429) included: API Gateway answers 500
    {"message": "Internal server error"}, never the 429 of Lambda's API."""
    api_id = create_api(apigw, {("/items", "GET"): {}})
    for refusal in (LambdaThrottled("TooManyRequestsException"), LambdaRejected("no function")):

        def refuse(event, refusal=refusal):
            raise refusal

        fake_lambda.handler = refuse
        response = client.get(url(api_id, "/items"))
        assert response.status_code == 500
        assert message(response) == "Internal server error"


# --- limits ------------------------------------------------------------------------------------


def test_limits_default_to_the_aws_quotas(monkeypatch):
    """REST API quotas: 29 s integration timeout, 10 MB request payload."""
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    assert INTEGRATION_TIMEOUT_SECONDS == 29.0
    assert MAX_REQUEST_BODY_BYTES == 10 * 1024 * 1024
    assert GatewayLimits.from_env() == GatewayLimits(29.0, 10 * 1024 * 1024)
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    monkeypatch.setenv(MAX_BODY_ENV, "100")
    assert GatewayLimits.from_env() == GatewayLimits(0.5, 100)


def test_payload_over_10_mb_is_413_without_invoking(apigw, client, fake_lambda):
    """A request payload over 10 MB: 413 "Request Too Long"; the function is not invoked.
    Exactly 10 MB is still accepted."""
    api_id = create_api(apigw, {("/upload", "POST"): {}})
    response = client.post(url(api_id, "/upload"), data=b"x" * (MAX_REQUEST_BODY_BYTES + 1))
    assert response.status_code == 413
    assert message(response) == "Request Too Long"
    assert fake_lambda.calls == []
    fake_lambda.handler = lambda event: {"statusCode": 200, "body": str(len(event["body"]))}
    at_limit = client.post(url(api_id, "/upload"), data=b"x" * MAX_REQUEST_BODY_BYTES)
    assert at_limit.status_code == 200
    assert at_limit.get_data() == str(MAX_REQUEST_BODY_BYTES).encode()


def test_payload_limit_applies_to_chunked_bodies(apigw, client, fake_lambda, monkeypatch):
    """The limit holds for a body streamed without Content-Length (lowered for speed)."""
    monkeypatch.setenv(MAX_BODY_ENV, "1000")
    api_id = create_api(apigw, {("/upload", "POST"): {}})

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 300

    environ = EnvironBuilder(path=url(api_id, "/upload"), method="POST").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input"] = stream = _IterStream(chunks())
    environ["wsgi.input_terminated"] = True
    statuses: list[str] = []
    body = b"".join(client.application(environ, lambda status, headers: statuses.append(status)))
    assert [status.split()[0] for status in statuses] == ["413"]
    assert json.loads(body) == {"message": "Request Too Long"}
    assert fake_lambda.calls == []
    assert stream.read() == b""  # the rest of the upload was drained, not left on the wire


class _IterStream:
    """A file-like WSGI input over an iterator of chunks (a streamed upload)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def test_integration_timeout_is_504(apigw, client, fake_lambda, monkeypatch):
    """An integration slower than the timeout (29 s on AWS, lowered here): 504
    "Endpoint request timed out"; the invocation itself is left to finish."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.2")
    api_id = create_api(apigw, {("/slow", "GET"): {}})
    release = threading.Event()
    finished = threading.Event()

    def slow(event):
        release.wait(timeout=30)
        finished.set()
        return {"statusCode": 200}

    fake_lambda.handler = slow
    try:
        response = client.get(url(api_id, "/slow"))
        assert response.status_code == 504
        assert message(response) == "Endpoint request timed out"
        assert not finished.is_set()
    finally:
        release.set()
    assert finished.wait(timeout=10)


def test_method_timeout_in_millis_is_honoured(apigw, client, fake_lambda):
    """An integration's own timeoutInMillis (50-29000 ms) bounds the wait."""
    api_id = create_api(apigw, {("/slow", "GET"): {"timeoutInMillis": 100}})
    release = threading.Event()
    fake_lambda.handler = lambda event: release.wait(timeout=30) and {"statusCode": 200}
    try:
        assert client.get(url(api_id, "/slow")).status_code == 504
    finally:
        release.set()


# --- guards and what is not supported: refused, never passed through ----------------------------


def test_method_with_a_missing_authorizer_is_refused_not_passed_through(apigw, client, fake_lambda):
    """A CUSTOM method whose authorizer does not exist cannot be authorized: API Gateway answers
    500 AUTHORIZER_CONFIGURATION_ERROR ("Gateway response types") and never calls the function
    unauthenticated."""
    api_id = create_api(
        apigw,
        {("/secret", "GET"): {"authorizationType": "CUSTOM", "authorizerId": "auth1"}},
    )
    response = client.get(url(api_id, "/secret"))
    assert response.status_code == 500
    assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert fake_lambda.calls == []


def test_api_key_required_without_a_key_is_forbidden(apigw, client, fake_lambda):
    """A method that requires an API key answers 403 "Forbidden" to a request without
    ``x-api-key`` ("Choose an API key source"), without calling the integration."""
    api_id = create_api(apigw, {("/keyed", "GET"): {"apiKeyRequired": True}})
    response = client.get(url(api_id, "/keyed"))
    assert response.status_code == 403
    assert message(response) == "Forbidden"
    assert fake_lambda.calls == []


@pytest.mark.parametrize("authorization", ["AWS_IAM", "COGNITO_USER_POOLS"])
def test_unsupported_authorization_type_fails_loudly_by_name(
    apigw, client, fake_lambda, authorization
):
    """IAM (SigV4) and Cognito authorization are not implemented by the local cloud: the call
    is refused with a 500 naming the authorization type, never let through unauthenticated."""
    api_id = create_api(apigw, {("/signed", "GET"): {"authorizationType": authorization}})
    response = client.get(url(api_id, "/signed"))
    assert response.status_code == 500
    assert f"authorization type {authorization}" in message(response)
    assert fake_lambda.calls == []


def test_mock_integration_answers_cors_preflight(apigw, client):
    """A MOCK integration (what SAM generates for CORS) answers with its integration response:
    the status selected by the request template and static header values."""
    api_id = apigw.create_rest_api(name="cors")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    rid = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=rid, httpMethod="OPTIONS", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=rid,
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(
        restApiId=api_id, resourceId=rid, httpMethod="OPTIONS", statusCode="200"
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=rid,
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={
            "method.response.header.Access-Control-Allow-Origin": "'*'",
            "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
        },
        responseTemplates={"application/json": ""},
    )
    apigw.create_deployment(restApiId=api_id, stageName="Prod")
    response = client.options(url(api_id, "/items"))
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"


# --- gateway responses ---------------------------------------------------------------------------
# "Gateway response types for API Gateway" and "Set up gateway responses to customize error
# responses": a customisation of the error's own type wins, else DEFAULT_4XX / DEFAULT_5XX, else
# the built-in answer; header values are quoted static strings or request values; the body is
# the application/json template, whose $context.error.message(String) name the error.

NOT_FOUND = {
    "statusCode": "404",
    "responseTemplates": {"application/json": '{"message":"Not found"}'},
}
CORS = {"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}}


def test_customised_missing_authentication_token_answers_unknown_paths(apigw, client, fake_lambda):
    """MISSING_AUTHENTICATION_TOKEN customised to 404 with a static template (what SAM's
    GatewayResponses makes of it): a path or method without a route gets exactly that."""
    api_id = create_api(
        apigw,
        {("/items", "GET"): {}},
        gateway_responses={"MISSING_AUTHENTICATION_TOKEN": NOT_FOUND},
    )
    for response in (client.get(url(api_id, "/nope")), client.post(url(api_id, "/items"))):
        assert response.status_code == 404
        assert response.get_data() == b'{"message":"Not found"}'
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["x-amzn-RequestId"]
    assert fake_lambda.calls == []
    assert client.get(url(api_id, "/items")).status_code == 200  # routes are untouched


def test_default_4xx_applies_to_a_403_without_its_own_customisation(apigw, client, fake_lambda):
    """DEFAULT_4XX stands in for every 4xx type that is not customised itself: the 403 of an
    unknown route keeps its status and message and gains the header; 5xx errors do not."""
    api_id = create_api(apigw, {("/items", "GET"): {}}, gateway_responses={"DEFAULT_4XX": CORS})
    response = client.get(url(api_id, "/nope"))
    assert response.status_code == 403
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(response.get_data()) == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    fake_lambda.handler = lambda event: b"not a proxy response"
    failed = client.get(url(api_id, "/items"))
    assert failed.status_code == 502
    assert "Access-Control-Allow-Origin" not in failed.headers
    # A stage that does not exist has no deployment, so no gateway response of the API.
    forbidden = client.get(url(api_id, "/items", stage="Nope"))
    assert (forbidden.status_code, message(forbidden)) == (403, "Forbidden")
    assert "Access-Control-Allow-Origin" not in forbidden.headers


def test_default_4xx_status_code_replaces_the_status(apigw, client):
    """A status code on DEFAULT_4XX changes the status of the 4xx errors it stands in for."""
    api_id = create_api(
        apigw, {("/items", "GET"): {}}, gateway_responses={"DEFAULT_4XX": {"statusCode": "404"}}
    )
    response = client.get(url(api_id, "/nope"))
    assert response.status_code == 404
    assert message(response) == "Missing Authentication Token"


def test_default_5xx_applies_to_the_integration_timeout(apigw, client, fake_lambda, monkeypatch):
    """DEFAULT_5XX stands in for INTEGRATION_TIMEOUT (504) when that type is not customised;
    $context.error.responseType still names the type of the error."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.2")
    template = '{"error":$context.error.messageString,"type":"$context.error.responseType"}'
    api_id = create_api(
        apigw,
        {("/slow", "GET"): {}},
        gateway_responses={
            "DEFAULT_5XX": {**CORS, "responseTemplates": {"application/json": template}}
        },
    )
    release = threading.Event()
    fake_lambda.handler = lambda event: release.wait(timeout=30) and {"statusCode": 200}
    try:
        response = client.get(url(api_id, "/slow"))
    finally:
        release.set()
    assert response.status_code == 504
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(response.get_data()) == {
        "error": "Endpoint request timed out",
        "type": "INTEGRATION_TIMEOUT",
    }


def test_own_type_wins_over_default_5xx(apigw, client, fake_lambda, monkeypatch):
    """A customised INTEGRATION_TIMEOUT is used instead of DEFAULT_5XX."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.2")
    own = {"statusCode": "503", "responseTemplates": {"application/json": '{"retry":true}'}}
    api_id = create_api(
        apigw,
        {("/slow", "GET"): {}},
        gateway_responses={"DEFAULT_5XX": {"statusCode": "500"}, "INTEGRATION_TIMEOUT": own},
    )
    release = threading.Event()
    fake_lambda.handler = lambda event: release.wait(timeout=30) and {"statusCode": 200}
    try:
        response = client.get(url(api_id, "/slow"))
    finally:
        release.set()
    assert (response.status_code, response.get_data()) == (503, b'{"retry":true}')


def test_default_5xx_applies_to_lambda_errors(apigw, client, fake_lambda):
    """A function error or malformed proxy response (502) has no response type of its own:
    DEFAULT_5XX, and its status code, apply to it (how APIs add CORS headers to Lambda 502s)."""
    api_id = create_api(
        apigw,
        {("/items", "GET"): {}},
        gateway_responses={"DEFAULT_5XX": {**CORS, "statusCode": "500"}},
    )
    failure = {"errorMessage": "boom", "errorType": "ValueError"}
    for answer in (
        InvocationResult(json.dumps(failure).encode(), "Unhandled"),
        b"not a proxy response",
    ):
        fake_lambda.handler = lambda event, answer=answer: answer
        response = client.get(url(api_id, "/items"))
        assert response.status_code == 500
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert message(response) == "Internal server error"


def test_integration_failure_customised_without_status_is_504(apigw, client, fake_lambda):
    """A throttled invoke is INTEGRATION_FAILURE: 500 built in, but a customisation without a
    status code answers with the type's default status, 504; DEFAULT_5XX alone keeps 500."""

    def throttle(event):
        raise LambdaThrottled("TooManyRequestsException")

    fake_lambda.handler = throttle
    template = {"responseTemplates": {"application/json": '{"message":"Try again"}'}}
    own = create_api(
        apigw, {("/items", "GET"): {}}, gateway_responses={"INTEGRATION_FAILURE": template}
    )
    response = client.get(url(own, "/items"))
    assert (response.status_code, response.get_data()) == (504, b'{"message":"Try again"}')
    fallback = create_api(apigw, {("/items", "GET"): {}}, gateway_responses={"DEFAULT_5XX": CORS})
    response = client.get(url(fallback, "/items"))
    assert response.status_code == 500
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_context_error_message_substitution(apigw, client):
    """$context.error.messageString is the message as a quoted JSON string,
    $context.error.message the bare text; $context.requestId is the request's id."""
    template = (
        '{"error":$context.error.messageString,"text":"$context.error.message",'
        '"id":"$context.requestId"}'
    )
    api_id = create_api(
        apigw,
        {("/items", "GET"): {}},
        gateway_responses={
            "MISSING_AUTHENTICATION_TOKEN": {"responseTemplates": {"application/json": template}}
        },
    )
    response = client.get(url(api_id, "/nope"))
    assert response.status_code == 403
    assert json.loads(response.get_data()) == {
        "error": "Missing Authentication Token",
        "text": "Missing Authentication Token",
        "id": response.headers["x-amzn-RequestId"],
    }


def test_header_value_from_the_request(apigw, client):
    """A header value may name a request header (method.request.header.Origin): echoed when the
    request has it, left out when it does not."""
    parameters = {
        "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin"
    }
    api_id = create_api(
        apigw,
        {("/items", "GET"): {}},
        gateway_responses={"DEFAULT_4XX": {"responseParameters": parameters}},
    )
    echoed = client.get(url(api_id, "/nope"), headers={"Origin": "https://app.example.com"})
    assert echoed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in client.get(url(api_id, "/nope")).headers


def test_request_too_large_is_not_customisable(apigw, client):
    """REST APIs do not support customising 413 REQUEST_TOO_LARGE ("Amazon API Gateway important
    notes"): the built-in answer stays whatever the API customised."""
    api_id = create_api(
        apigw,
        {("/upload", "POST"): {}},
        gateway_responses={"REQUEST_TOO_LARGE": NOT_FOUND, "DEFAULT_4XX": CORS},
    )
    response = client.post(url(api_id, "/upload"), data=b"x" * (MAX_REQUEST_BODY_BYTES + 1))
    assert response.status_code == 413
    assert message(response) == "Request Too Long"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_without_gateway_responses_the_built_in_answers_are_unchanged(apigw, client, fake_lambda):
    """An API that customises nothing gets API Gateway's own answers, byte for byte."""
    api_id = create_api(apigw, {("/items", "GET"): {}})
    missing = client.get(url(api_id, "/nope"))
    assert missing.status_code == 403
    assert missing.get_data() == b'{"message": "Missing Authentication Token"}'
    fake_lambda.handler = lambda event: b"not a proxy response"
    failed = client.get(url(api_id, "/items"))
    assert failed.status_code == 502
    assert failed.get_data() == b'{"message": "Internal server error"}'
    assert failed.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
