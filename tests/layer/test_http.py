"""common_layer.http: body parsing with clear 400/413 messages, and JSON error responses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from common_layer.http import (
    ApiError,
    Conflict,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    install_error_handlers,
    parse_json_object,
)
from common_layer.validation import SchemaViolation, validate
from layer_helpers import python_env, rest_event, run_python

ORDER = {
    "type": "object",
    "required": ["name", "quantity"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
        "note": {"type": ["string", "null"]},
        "size": {"enum": ["S", "M", "L"]},
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}},
        },
        "price": {"type": "number", "exclusiveMinimum": 0},
    },
}


def invalid(body: str | bytes | None, schema: dict[str, Any] | None = None) -> str:
    with pytest.raises(InvalidRequest) as caught:
        parse_json_object(body, schema)
    assert caught.value.status_code == 400
    return caught.value.message


def test_a_valid_object_is_returned_as_a_dict():
    body = '{"name": "pen", "quantity": 2, "tags": ["blue"], "address": {"city": "Lyon"}}'
    assert parse_json_object(body, ORDER) == {
        "name": "pen",
        "quantity": 2,
        "tags": ["blue"],
        "address": {"city": "Lyon"},
    }
    assert parse_json_object(b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "body is not valid JSON: Expecting value at line 1 column 1"),
        (
            '{"name": "pen",\n "quantity": }',
            "body is not valid JSON: Expecting value at line 2 column 14",
        ),
        ('{"a": NaN}', "body is not valid JSON: NaN is not allowed"),
        ("", "body is empty; expected a JSON object"),
        (None, "body is empty; expected a JSON object"),
        ("   ", "body is empty; expected a JSON object"),
        (b"\xff\xfe{}", "body is not valid UTF-8 (byte 0)"),
        ("[1, 2]", "body must be a JSON object, not an array"),
        ('"text"', "body must be a JSON object, not a string"),
        ("42", "body must be a JSON object, not a number"),
        ("null", "body must be a JSON object, not null"),
        ("true", "body must be a JSON object, not a boolean"),
        ("[" * 100_000 + "]" * 100_000, "body is not valid JSON: it is nested too deeply"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(body, message):
    assert invalid(body) == message


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ({"name": 5, "quantity": 1}, "field 'name' must be a string"),
        ({}, "missing required fields 'name', 'quantity'"),
        (
            {"name": "pen", "quantity": 1, "colour": "red"},
            "unexpected field 'colour'; allowed: 'name', 'quantity', 'note', 'size', 'sku', "
            "'tags', 'address', 'price'",
        ),
        ({"name": "pen", "quantity": 1, "address": {}}, "missing required field 'address.city'"),
    ],
)
def test_a_schema_violation_is_400_with_the_validation_message(order, message):
    # The wording itself is common_layer.validation's (tests/layer/test_validation.py).
    with pytest.raises(SchemaViolation) as violation:
        validate(order, ORDER)
    assert violation.value.message == message
    assert invalid(json.dumps(order), ORDER) == message


def test_a_body_over_the_limit_is_413_with_both_sizes():
    with pytest.raises(PayloadTooLarge) as caught:
        parse_json_object('{"a": "' + "x" * 100 + '"}', max_bytes=64)
    assert caught.value.status_code == 413
    assert caught.value.message == "body is 109 bytes; the limit is 64"


def test_the_limit_counts_bytes_not_characters():
    body = json.dumps({"a": "é" * 30}, ensure_ascii=False)  # 30 characters, 60 bytes in "é"
    with pytest.raises(PayloadTooLarge, match="body is 69 bytes; the limit is 64"):
        parse_json_object(body, max_bytes=64)
    assert parse_json_object(body, max_bytes=69) == {"a": "é" * 30}


def test_error_classes_carry_their_status_codes():
    assert issubclass(InvalidRequest, ApiError)
    assert [c.status_code for c in (InvalidRequest, NotFound, MethodNotAllowed, Conflict)] == [
        400,
        404,
        405,
        409,
    ]
    error = MethodNotAllowed("delete", ["post", "GET"])
    assert error.message == "method DELETE is not allowed; use GET, POST"
    assert error.headers == {"Allow": "GET, POST"}


def test_importing_the_module_does_not_import_the_event_handler():
    code = (
        "import sys, common_layer.http as h\n"
        "h.parse_json_object('{\"a\": 1}', {'type': 'object'})\n"
        "print('LOADED', 'aws_lambda_powertools.event_handler' in sys.modules)\n"
    )
    assert "LOADED False" in run_python(code, python_env()).stdout


# --- install_error_handlers with a real resolver and REST API (v1) events ----------------

ITEMS: dict[str, dict[str, Any]] = {"1": {"id": "1", "name": "pen", "quantity": 1}}

app = APIGatewayRestResolver()
install_error_handlers(app)


@app.post("/items")
def create_item() -> tuple[dict[str, Any], int]:
    item = parse_json_object(app.current_event.decoded_body, ORDER, max_bytes=256)
    if any(existing["name"] == item["name"] for existing in ITEMS.values()):
        raise Conflict(f"an item named '{item['name']}' exists")
    return {"id": "2", **item}, 201


@app.get("/items/<item_id>")
def get_item(item_id: str) -> dict[str, Any]:
    if item_id not in ITEMS:
        raise NotFound(f"item {item_id} does not exist")
    return ITEMS[item_id]


@app.put("/items/<item_id>")
def replace_item(item_id: str) -> dict[str, Any]:
    raise BadRequestError("items are immutable")


def call(method: str, path: str, body: str | None = None) -> tuple[int, dict[str, Any], Any]:
    response = app.resolve(rest_event(method, path, body), {})
    headers = {k: v for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    return response["statusCode"], headers, json.loads(response["body"])


def test_a_valid_request_reaches_the_route():
    status, headers, body = call("POST", "/items", '{"name": "ink", "quantity": 3}')
    assert status == 201
    assert body == {"id": "2", "name": "ink", "quantity": 3}
    assert headers["Content-Type"] == "application/json"


def test_invalid_input_is_400_with_the_message():
    status, headers, body = call("POST", "/items", '{"name": 5, "quantity": 1}')
    assert (status, body) == (400, {"message": "field 'name' must be a string"})
    assert headers["Content-Type"] == "application/json"


def test_malformed_json_is_400():
    status, _, body = call("POST", "/items", "{oops")
    assert status == 400
    assert body["message"].startswith("body is not valid JSON: Expecting property name")


def test_a_large_body_is_413():
    status, _, body = call("POST", "/items", json.dumps({"name": "x" * 300, "quantity": 1}))
    assert (status, body) == (413, {"message": "body is 327 bytes; the limit is 256"})


def test_a_missing_resource_is_404_with_the_routes_message():
    status, _, body = call("GET", "/items/9")
    assert (status, body) == (404, {"message": "item 9 does not exist"})


def test_a_path_with_no_route_is_404():
    status, _, body = call("GET", "/orders")
    assert (status, body) == (404, {"message": "no route for GET /orders"})


def test_a_known_path_with_another_method_is_405_with_allow():
    status, headers, body = call("DELETE", "/items/1")
    assert status == 405
    assert headers["Allow"] == "GET, PUT"
    assert body == {"message": "method DELETE is not allowed; use GET, PUT"}


def test_a_conflict_is_409():
    status, _, body = call("POST", "/items", '{"name": "pen", "quantity": 1}')
    assert (status, body) == (409, {"message": "an item named 'pen' exists"})


def test_powertools_service_errors_get_the_same_shape():
    status, _, body = call("PUT", "/items/1", "{}")
    assert (status, body) == (400, {"message": "items are immutable"})


def test_unexpected_errors_still_fail_the_invocation():
    failing = APIGatewayRestResolver()
    install_error_handlers(failing)

    @failing.get("/boom")
    def boom() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        failing.resolve(rest_event("GET", "/boom"), {})
