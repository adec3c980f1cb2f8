"""REST API -> real Lambda functions on the local cloud, and the Lambda port's moto adapter.

The first part runs the whole path a client takes: HTTP to the local cloud, the API Gateway
data plane, moto's Lambda backend, a real handler process, and back. The second part checks
the adapter that turns moto's Lambda answers into the gateway's four outcomes (payload,
function error, throttle, refusal), with a stand-in backend.

AWS rules (Lambda developer guide, "Handling Lambda errors with an API Gateway API"; API
Gateway developer guide, "Amazon API Gateway quotas", "Gateway response types"): a function
error or malformed proxy response is 502, a refused or throttled invoke is 500, both with
{"message": "Internal server error"}; an integration slower than 29 s is 504; a request
payload over 10 MB is 413; a route that does not exist is 403 "Missing Authentication Token".
Lambda's synchronous invoke accepts and returns at most 6 MB.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests
from moto.core.exceptions import JsonRESTError

from localcloud.apigateway.config import MAX_BODY_ENV, TIMEOUT_ENV
from localcloud.apigateway.lambda_invoker import (
    MAX_SYNC_REQUEST_BYTES,
    MAX_SYNC_RESPONSE_BYTES,
    LambdaRejected,
    LambdaThrottled,
    MotoLambdaInvoker,
)
from localcloud.urls import local_execute_api_url

REGION = "us-east-1"
ACCOUNT = "123456789012"

HANDLERS = """
import base64
import json
import time


def echo(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Function": context.function_name},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(event),
    }


def binary(event, context):
    data = base64.b64decode(event["body"]) if event["isBase64Encoded"] else b"text"
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(data[::-1]).decode(),
        "isBase64Encoded": True,
    }


def boom(event, context):
    raise RuntimeError("the function failed")


def malformed(event, context):
    return "a plain string is not a proxy response"


def slow(event, context):
    # Stands for a dependency slower than the gateway's (lowered) integration timeout.
    time.sleep(3)
    return {"statusCode": 200, "body": "late"}
"""


@pytest.fixture(scope="module")
def functions(aws, lambda_role, zip_files) -> Iterator[dict[str, str]]:
    """One function per handler, named uniquely: their ARNs by handler name."""
    lam = aws("lambda")
    code = zip_files({"handlers.py": HANDLERS})
    arns = {}
    for name in ("echo", "binary", "boom", "malformed", "slow"):
        arns[name] = lam.create_function(
            FunctionName=f"apigw-{name}-{uuid.uuid4().hex[:8]}",
            Runtime="python3.13",
            Role=lambda_role,
            Handler=f"handlers.{name}",
            Code={"ZipFile": code},
            Timeout=10,
        )["FunctionArn"]
    yield arns
    for arn in arns.values():
        lam.delete_function(FunctionName=arn)


def lambda_uri(function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


@pytest.fixture(scope="module")
def api(local_cloud, aws, functions) -> Iterator[str]:
    """The stage URL as a stack output would give it: routes /{handler} to each function."""
    apigw = aws("apigateway")
    api_id = apigw.create_rest_api(name=f"apigw-e2e-{uuid.uuid4().hex[:8]}")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    for name, arn in functions.items():
        rid = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=name)["id"]
        apigw.put_method(
            restApiId=api_id, resourceId=rid, httpMethod="ANY", authorizationType="NONE"
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=rid,
            httpMethod="ANY",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(arn),
        )
    apigw.update_rest_api(
        restApiId=api_id,
        patchOperations=[
            {"op": "add", "path": "/binaryMediaTypes/image~1png", "value": "image/png"}
        ],
    )
    apigw.create_deployment(restApiId=api_id, stageName="Prod")
    aws_url = f"https://{api_id}.execute-api.{REGION}.amazonaws.com/Prod"
    yield local_execute_api_url(aws_url, local_cloud.endpoint_url)
    apigw.delete_rest_api(restApiId=api_id)


def test_real_function_sees_the_v1_event_and_shapes_the_response(api, functions):
    """The handler receives the REST v1 event and its proxy response becomes the HTTP one."""
    response = requests.get(
        f"{api}/echo?color=red&color=blue", headers={"X-Custom": "v"}, timeout=30
    )
    assert response.status_code == 200, response.text
    event = response.json()
    assert event["resource"] == "/echo"
    assert event["path"] == "/echo"
    assert event["requestContext"]["path"] == "/Prod/echo"
    assert event["requestContext"]["stage"] == "Prod"
    assert event["queryStringParameters"] == {"color": "blue"}
    assert event["multiValueQueryStringParameters"] == {"color": ["red", "blue"]}
    assert event["headers"]["X-Custom"] == "v"
    assert event["body"] is None
    assert response.headers["X-Function"] == functions["echo"].rsplit(":", 1)[-1]
    assert response.headers["x-amzn-RequestId"] == event["requestContext"]["requestId"]
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_binary_round_trip_through_a_real_function(api):
    """image/png in binaryMediaTypes: bytes in base64 to the function, bytes back to a client
    accepting image/png."""
    data = bytes(range(256))
    response = requests.post(
        f"{api}/binary",
        data=data,
        headers={"Content-Type": "image/png", "Accept": "image/png"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.content == data[::-1]


def test_function_error_is_502(api):
    """A handler that raises: 502 {"message": "Internal server error"}."""
    response = requests.get(f"{api}/boom", timeout=30)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_malformed_response_is_502(api):
    """A handler that returns something other than a proxy response: 502."""
    response = requests.get(f"{api}/malformed", timeout=30)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_slow_function_is_504(api, monkeypatch):
    """An integration slower than the timeout (lowered from 29 s): 504."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    response = requests.get(f"{api}/slow", timeout=30)
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}


def test_throttled_function_is_500(aws, api, functions):
    """Reserved concurrency 0 makes Lambda throttle every invoke (429); API Gateway answers
    500 "Internal server error", not 429."""
    lam = aws("lambda")
    lam.put_function_concurrency(FunctionName=functions["echo"], ReservedConcurrentExecutions=0)
    try:
        response = requests.get(f"{api}/echo", timeout=30)
        assert response.status_code == 500
        assert response.json() == {"message": "Internal server error"}
    finally:
        lam.delete_function_concurrency(FunctionName=functions["echo"])


def test_streamed_upload_over_the_limit_is_413(api, monkeypatch):
    """A chunked upload past the payload limit (lowered from 10 MB): 413, and the connection
    still serves the next request."""
    monkeypatch.setenv(MAX_BODY_ENV, "1024")

    def body() -> Iterator[bytes]:
        for _ in range(8):
            yield b"z" * 512

    with requests.Session() as session:
        response = session.post(f"{api}/echo", data=body(), timeout=30)
        assert response.status_code == 413
        assert response.json() == {"message": "Request Too Long"}
        assert session.get(f"{api}/nowhere", timeout=30).status_code == 403


def test_unknown_route_is_403_over_http(api):
    """A path with no resource: 403 "Missing Authentication Token"."""
    response = requests.get(f"{api}/no/such/route", timeout=30)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


# --- the moto adapter of the Lambda port ----------------------------------------------------


class StandInBackend:
    """Answers like moto's LambdaBackend.invoke: payload returned, errors in headers."""

    def __init__(self, payload: bytes = b"{}", function_error: str | None = None, raises=None):
        self.payload = payload
        self.function_error = function_error
        self.raises = raises
        self.calls: list[tuple[str, dict[str, str]]] = []

    def invoke(self, name, qualifier, body, headers, response_headers):
        self.calls.append((name, dict(headers)))
        if self.raises is not None:
            raise self.raises
        if self.function_error:
            response_headers["x-amz-function-error"] = self.function_error
        return self.payload


FN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders:live"


def adapter(backend: StandInBackend, seen: list | None = None) -> MotoLambdaInvoker:
    def backend_for(account: str, region: str) -> StandInBackend:
        if seen is not None:
            seen.append((account, region))
        return backend

    return MotoLambdaInvoker(backend_for)


def test_adapter_invokes_the_function_of_the_arn_with_the_trace():
    """The backend of the ARN's account and region is called, synchronously, with the trace."""
    backend = StandInBackend(payload=b'{"statusCode": 200}')
    seen: list = []
    result = adapter(backend, seen).invoke(FN, b"{}", "Root=1-abc")
    assert result.payload == b'{"statusCode": 200}'
    assert result.function_error is None
    assert seen == [(ACCOUNT, "eu-west-1")]
    name, headers = backend.calls[0]
    assert name == FN
    assert headers["x-amz-invocation-type"] == "RequestResponse"
    assert headers["X-Amzn-Trace-Id"] == "Root=1-abc"


def test_adapter_reports_function_errors():
    """X-Amz-Function-Error from Lambda is a function error (the gateway's 502)."""
    result = adapter(StandInBackend(b'{"errorMessage":"x"}', "Unhandled")).invoke(FN, b"{}")
    assert result.function_error == "Unhandled"


def test_adapter_maps_429_to_throttled():
    """Lambda's 429 TooManyRequestsException is a throttle."""
    error = JsonRESTError("TooManyRequestsException", "Rate Exceeded.")
    error.code = 429
    with pytest.raises(LambdaThrottled):
        adapter(StandInBackend(raises=error)).invoke(FN, b"{}")


def test_adapter_maps_unknown_function_to_rejected(local_cloud):
    """An invoke of a function that does not exist is refused by Lambda (the gateway's 500)."""
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(LambdaRejected) as refused:
        MotoLambdaInvoker().invoke(missing, b"{}")
    assert not isinstance(refused.value, LambdaThrottled)


def test_adapter_enforces_lambda_payload_quotas():
    """6 MB in: refused before calling Lambda; 6 MB out: Function.ResponseSizeTooLarge."""
    backend = StandInBackend()
    with pytest.raises(LambdaRejected):
        adapter(backend).invoke(FN, b" " * (MAX_SYNC_REQUEST_BYTES + 1))
    assert backend.calls == []
    big = adapter(StandInBackend(payload=b"x" * (MAX_SYNC_RESPONSE_BYTES + 1))).invoke(FN, b"{}")
    assert big.function_error == "Unhandled"
    assert json.loads(big.payload)["errorType"] == "Function.ResponseSizeTooLarge"
