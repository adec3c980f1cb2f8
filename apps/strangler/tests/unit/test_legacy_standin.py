"""The stand-in legacy system: its catalogue, its own 404, and the echo of each request."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from strangler_legacy import legacy


def test_known_item_is_answered_with_a_made_up_record_and_the_echo() -> None:
    request = legacy.LegacyRequest("GET", "/customers/42", {"tag": ["a", "b"]})
    result = legacy.answer(request)
    assert result.status == 200
    assert result.body["served_by"] == "legacy"
    assert result.body["record"] == {"id": "42", "kind": "customer", "source": "legacy"}
    assert result.body["request"]["query"] == {"tag": ["a", "b"]}


def test_post_to_a_collection_is_201_and_other_methods_200() -> None:
    assert legacy.answer(legacy.LegacyRequest("POST", "/orders", body="{}")).status == 201
    assert legacy.answer(legacy.LegacyRequest("GET", "/orders")).status == 200
    assert legacy.answer(legacy.LegacyRequest("DELETE", "/orders/1")).status == 200


@pytest.mark.parametrize("path", ["/nothing", "/customers/1/history", "/v0/orders"])
def test_unknown_resources_are_the_legacy_systems_own_404(path: str) -> None:
    result = legacy.answer(legacy.LegacyRequest("GET", path))
    assert result.status == 404
    assert result.body["message"] == f"legacy system has no resource {path}"
    assert result.body["request"]["path"] == path


def test_root_lists_the_collections() -> None:
    result = legacy.answer(legacy.LegacyRequest("GET", "/"))
    assert result.status == 200
    assert result.body["collections"] == list(legacy.COLLECTIONS)


def test_handler_echoes_method_path_query_and_body(
    rest_event: Callable[..., dict[str, Any]], call_legacy: Callable[..., Any]
) -> None:
    body = json.dumps({"name": "Ada"})
    response = call_legacy(rest_event("PATCH", "/customers/7", body=body, query={"x": ["1", "2"]}))
    assert response.status == 200
    assert response.headers["x-served-by"] == "legacy"
    assert response.json()["request"] == {
        "method": "PATCH",
        "path": "/customers/7",
        "query": {"x": ["1", "2"]},
        "body": body,
        "content_type": "application/json",
    }


def test_handler_decodes_a_base64_body(
    rest_event: Callable[..., dict[str, Any]], call_legacy: Callable[..., Any]
) -> None:
    encoded = base64.b64encode(b"plain text").decode()
    event = rest_event(
        "POST", "/products", body=encoded, headers={"Content-Type": "text/plain"}, base64_body=True
    )
    response = call_legacy(event)
    assert response.status == 201
    assert response.json()["request"]["body"] == "plain text"
    assert response.json()["request"]["content_type"] == "text/plain"


def test_handler_answers_unknown_paths_with_404(
    rest_event: Callable[..., dict[str, Any]], call_legacy: Callable[..., Any]
) -> None:
    response = call_legacy(rest_event("GET", "/nope"))
    assert response.status == 404
    assert response.json()["served_by"] == "legacy"
