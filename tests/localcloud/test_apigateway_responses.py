"""Mapping a Lambda proxy response to the client response (REST API), without a server.

AWS rules checked here (API Gateway developer guide, "Output format of a Lambda function for
proxy integration" and "Binary media types for REST APIs"; Lambda developer guide, "Handling
Lambda errors with an API Gateway API"): the function returns a JSON object with
``statusCode``, ``headers``, ``multiValueHeaders``, ``body`` and ``isBase64Encoded``; headers
and multiValueHeaders are merged, the multi-value ones winning for a name in both; Content-Type
defaults to application/json; a base64 body is decoded only when the client's first Accept
type is a binary media type; anything else is a malformed response that API Gateway answers
with 502.
"""

from __future__ import annotations

import base64
import json

import pytest

from localcloud.apigateway.responses import MalformedProxyResponse, map_proxy_response


def mapped(document, accept=None, binary=()):
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    return map_proxy_response(payload, binary_media_types=binary, accept=accept)


def test_status_headers_and_body():
    """statusCode, headers and a text body reach the client as given."""
    response = mapped(
        {"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Id": "9"}, "body": "ok"}
    )
    assert response.status == 201
    assert response.header("Content-Type") == "text/plain"
    assert response.header("X-Id") == "9"
    assert response.body == b"ok"


def test_content_type_defaults_to_json():
    """Without a Content-Type from the function, API Gateway sends application/json."""
    response = mapped({"statusCode": 200, "body": "{}"})
    assert response.header("Content-Type") == "application/json"


def test_headers_and_multi_value_headers_are_merged():
    """Both maps reach the client; for a name in both only the multi-value values are kept."""
    response = mapped(
        {
            "statusCode": 200,
            "headers": {"X-Single": "s", "Set-Cookie": "ignored=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Num": [1, True]},
        }
    )
    assert ("X-Single", "s") in response.headers
    cookies = [value for name, value in response.headers if name == "Set-Cookie"]
    assert cookies == ["a=1", "b=2"]
    assert [value for name, value in response.headers if name == "X-Num"] == ["1", "true"]


def test_reserved_headers_are_remapped():
    """Headers API Gateway reserves come back renamed x-amzn-Remapped-<name>."""
    response = mapped({"statusCode": 200, "headers": {"Date": "x", "WWW-Authenticate": "Basic"}})
    assert response.header("Date") is None
    assert response.header("x-amzn-Remapped-Date") == "x"
    assert response.header("x-amzn-Remapped-WWW-Authenticate") == "Basic"


def test_base64_body_is_decoded_when_accept_is_a_binary_media_type():
    """isBase64Encoded + first Accept type in binaryMediaTypes: the client gets the bytes."""
    data = bytes(range(256))
    document = {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(data).decode(),
        "isBase64Encoded": True,
    }
    assert mapped(document, accept="image/png", binary=["image/png"]).body == data
    assert mapped(document, accept="image/png, */*", binary=["image/*"]).body == data


def test_base64_body_stays_text_when_accept_is_not_binary():
    """Otherwise the client gets the base64 text, as on AWS (API Gateway uses the first Accept)."""
    encoded = base64.b64encode(b"\x00\x01").decode()
    document = {"statusCode": 200, "body": encoded, "isBase64Encoded": True}
    assert mapped(document, accept="*/*", binary=["image/png"]).body == encoded.encode()
    assert mapped(document, accept="application/json, image/png", binary=["image/png"]).body == (
        encoded.encode()
    )
    assert mapped(document, accept="image/png", binary=[]).body == encoded.encode()


def test_status_code_as_numeric_string_is_accepted():
    """A numeric string statusCode is read as the number."""
    assert mapped({"statusCode": "404"}).status == 404


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'"a string"',
        b"[]",
        b"null",
        json.dumps({"body": "no status"}).encode(),
        json.dumps({"statusCode": "OK"}).encode(),
        json.dumps({"statusCode": 700}).encode(),
        json.dumps({"statusCode": 200, "body": {"an": "object"}}).encode(),
        json.dumps({"statusCode": 200, "headers": ["x"]}).encode(),
        json.dumps({"statusCode": 200, "headers": {"X": {"nested": 1}}}).encode(),
        json.dumps({"statusCode": 200, "multiValueHeaders": {"X": "not a list"}}).encode(),
        json.dumps({"statusCode": 200, "isBase64Encoded": "yes"}).encode(),
        json.dumps({"statusCode": 200, "message": "extra field"}).encode(),
    ],
)
def test_malformed_responses_are_rejected(payload):
    """Anything but a well-formed proxy response is malformed (API Gateway answers 502)."""
    with pytest.raises(MalformedProxyResponse):
        mapped(payload)


def test_invalid_base64_is_malformed_when_it_must_be_decoded():
    """A body flagged base64 that is not base64 cannot be decoded: malformed."""
    document = {"statusCode": 200, "body": "%%%not-base64%%%", "isBase64Encoded": True}
    with pytest.raises(MalformedProxyResponse):
        mapped(document, accept="image/png", binary=["image/png"])
