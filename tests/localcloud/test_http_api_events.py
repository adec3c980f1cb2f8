"""The Lambda proxy integration of HTTP APIs: the 2.0 and 1.0 events and response mapping.

AWS rules (API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP APIs"):
- 2.0 event: lower-case header names, repeated headers and query parameters joined with
  commas, cookies in ``cookies``, ``rawPath``/``requestContext.http.path`` with the stage
  segment of a named stage, empty fields left out; bodies of non-text types base64.
- 2.0 response: an object without ``statusCode`` (or any other JSON) is a 200 JSON body; a
  string is the body itself; ``statusCode``/``headers``/``cookies``/``body``/
  ``isBase64Encoded`` otherwise.
- 1.0: the REST proxy event and response; no ``statusCode`` is an error.
- Lambda errors and malformed answers: 500 ``{"message":"Internal Server Error"}``; an
  integration slower than its timeout (at most 30 s): 503 ``{"message":"Service
  Unavailable"}``; payloads over 10 MB: 413.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from pathlib import Path

from localcloud.apigateway.lambda_invoker import InvocationResult, LambdaThrottled
from localcloud.apigatewayv2.gateway import MAX_REQUEST_BODY_BYTES
from localcloud.apigatewayv2.model import StageSpec

sys.path.insert(0, str(Path(__file__).parent))
from _http_api_helpers import (
    echo,
    json_body,
    lambda_route,
    make_api,
    make_gateway,
    request,
)


def test_v2_event_fields():
    api = make_api(
        [lambda_route("POST /orders/{id}", "fn")],
        stages=[StageSpec("dev", stage_variables={"table": "orders-dev"})],
    )
    gateway, invoker = make_gateway(api, {"fn": echo})
    response = gateway.handle(
        api.api_id,
        request(
            "POST",
            "/dev/orders/42?tag=a&tag=b&empty=",
            headers=[
                ("Content-Type", "application/json"),
                ("X-Multi", "one"),
                ("X-Multi", "two"),
                ("Cookie", "session=abc; theme=dark"),
                ("User-Agent", "tests/1.0"),
            ],
            body=b'{"qty": 2}',
        ),
    )
    assert response.status == 200, response.body
    event = invoker.events_of("fn")[0]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /orders/{id}"
    assert event["rawPath"] == "/dev/orders/42"
    assert event["rawQueryString"] == "tag=a&tag=b&empty="
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-forwarded-for"] == "198.51.100.7"
    assert event["headers"]["x-amzn-trace-id"].startswith("Root=1-")
    assert event["queryStringParameters"] == {"tag": "a,b", "empty": ""}
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] == {"table": "orders-dev"}
    assert event["body"] == '{"qty": 2}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/dev/orders/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "198.51.100.7",
        "userAgent": "tests/1.0",
    }
    assert context["stage"] == "dev"
    assert context["routeKey"] == "POST /orders/{id}"
    assert context["apiId"] == api.api_id
    assert context["domainName"] == f"{api.api_id}.execute-api.us-east-1.amazonaws.com"
    assert context["requestId"] == response.header("apigw-requestid")
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")
    assert "authorizer" not in context


def test_v2_event_leaves_out_empty_fields_and_base64_encodes_binary_bodies():
    api = make_api([lambda_route("$default", "fn")])
    gateway, invoker = make_gateway(api, {"fn": echo})
    gateway.handle(api.api_id, request("GET", "/"))
    bare = invoker.events_of("fn")[0]
    for absent in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert absent not in bare
    assert bare["rawPath"] == "/"
    assert bare["requestContext"]["stage"] == "$default"
    for content_type, encoded in (
        ("application/octet-stream", True),
        ("application/x-www-form-urlencoded", True),
        (None, True),
        ("text/csv; charset=utf-8", False),
        ("application/xml", False),
    ):
        headers = [("Content-Type", content_type)] if content_type else []
        gateway.handle(api.api_id, request("PUT", "/x", headers=headers, body=b"a=1"))
        event = invoker.calls[-1][1]
        assert event["isBase64Encoded"] is encoded, content_type
        expected = base64.b64encode(b"a=1").decode() if encoded else "a=1"
        assert event["body"] == expected


def test_v1_event_is_the_rest_proxy_shape():
    api = make_api(
        [lambda_route("GET /items/{id}", "fn", payload_format_version="1.0")],
        stages=[StageSpec("$default")],
    )
    gateway, _invoker = make_gateway(
        api, {"fn": lambda event: {"statusCode": 200, "body": json.dumps(event)}}
    )
    response = gateway.handle(
        api.api_id, request("GET", "/items/7?c=red&c=blue", headers=[("X-A", "1")])
    )
    assert response.status == 200
    event = json_body(response)
    assert event["version"] == "1.0"
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/7"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"c": "blue"}
    assert event["multiValueQueryStringParameters"] == {"c": ["red", "blue"]}
    assert event["headers"]["x-a"] == "1"
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["requestContext"]["identity"]["sourceIp"] == "198.51.100.7"
    assert event["requestContext"]["stage"] == "$default"


def test_v2_response_inference():
    answers = {
        "dict": {"hello": "world"},
        "string": "Hello from Lambda!",
        "list": [1, 2],
        "full": {
            "statusCode": 201,
            "headers": {"X-Id": "9", "content-type": "text/csv"},
            "cookies": ["a=1; Secure", "b=2"],
            "body": "x,y",
        },
        "binary": {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        },
    }
    api = make_api([lambda_route("GET /{kind}", "fn")])
    gateway, _ = make_gateway(api, {"fn": lambda event: answers[event["pathParameters"]["kind"]]})

    def get(kind: str):
        return gateway.handle(api.api_id, request("GET", f"/{kind}"))

    dict_answer = get("dict")
    assert (dict_answer.status, dict_answer.header("Content-Type")) == (200, "application/json")
    assert json_body(dict_answer) == {"hello": "world"}
    assert get("string").body == b"Hello from Lambda!"
    assert json_body(get("list")) == [1, 2]
    full = get("full")
    assert full.status == 201
    assert full.header("X-Id") == "9"
    assert full.header("content-type") == "text/csv"
    assert [v for k, v in full.headers if k == "Set-Cookie"] == ["a=1; Secure", "b=2"]
    assert full.body == b"x,y"
    assert get("binary").body == b"\x89PNG"


def test_v1_response_without_status_code_is_500():
    api = make_api([lambda_route("GET /x", "fn", payload_format_version="1.0")])
    gateway, _ = make_gateway(api, {"fn": lambda event: {"hello": "world"}})
    response = gateway.handle(api.api_id, request("GET", "/x"))
    assert response.status == 500
    assert json_body(response) == {"message": "Internal Server Error"}


def test_function_errors_throttles_and_malformed_answers_are_500():
    api = make_api([lambda_route("GET /{kind}", "fn")])
    error = InvocationResult(b'{"errorMessage": "boom", "errorType": "RuntimeError"}', "Unhandled")

    def answer(event):
        kind = event["pathParameters"]["kind"]
        if kind == "error":
            return error
        if kind == "throttled":
            raise LambdaThrottled("Rate Exceeded")
        return {"statusCode": "not a number"}

    gateway, _ = make_gateway(api, {"fn": answer})
    for kind in ("error", "throttled", "malformed"):
        response = gateway.handle(api.api_id, request("GET", f"/{kind}"))
        assert response.status == 500, kind
        assert json_body(response) == {"message": "Internal Server Error"}


def test_integration_timeout_is_503_service_unavailable():
    release = threading.Event()
    api = make_api([lambda_route("GET /slow", "fn", timeout_in_millis=100)])

    def slow(event):
        release.wait(5)
        return {"statusCode": 200, "body": "late"}

    gateway, _ = make_gateway(api, {"fn": slow})
    try:
        response = gateway.handle(api.api_id, request("GET", "/slow"))
    finally:
        release.set()
    assert response.status == 503
    assert json_body(response) == {"message": "Service Unavailable"}


def test_request_over_10_mb_is_413_without_invoking():
    api = make_api([lambda_route("POST /upload", "fn")])
    gateway, invoker = make_gateway(api, {"fn": echo})
    big = b"x" * (MAX_REQUEST_BODY_BYTES + 1)
    response = gateway.handle(api.api_id, request("POST", "/upload", body=big))
    assert response.status == 413
    assert invoker.calls == []


def test_unsupported_integration_fails_loudly_by_name():
    route, integration = lambda_route("POST /send", "fn")
    sqs = type(integration)(
        id=integration.id, type="AWS_PROXY", uri=None, subtype="SQS-SendMessage"
    )
    api = make_api([(route, sqs)])
    gateway, invoker = make_gateway(api, {"fn": echo})
    response = gateway.handle(api.api_id, request("POST", "/send"))
    assert response.status == 500
    assert "SQS-SendMessage" in json_body(response)["message"]
    assert invoker.calls == []
