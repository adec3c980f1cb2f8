"""Stage and route selection of HTTP APIs.

AWS rules (API Gateway developer guide, "Working with routes for HTTP APIs", "Working with
stages for HTTP APIs"): the most specific route wins: a full match over a path variable over
a greedy ``{proxy+}``; for the same path, the request's method over ``ANY``; ``$default``
catches everything else. The ``$default`` stage is served at the root of the API URL, a named
stage under its name. Nothing matches: 404 ``{"message":"Not Found"}``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from localcloud.apigatewayv2.model import RouteSpec, StageSpec
from localcloud.apigatewayv2.routing import select_route, select_stage

sys.path.insert(0, str(Path(__file__).parent))
from _http_api_helpers import (
    echo,
    json_body,
    lambda_route,
    make_api,
    make_gateway,
    request,
)


def routes(*keys: str) -> list[RouteSpec]:
    return [RouteSpec(id=key, route_key=key, target=None) for key in keys]


@pytest.mark.parametrize(
    ("method", "path", "expected", "parameters"),
    [
        ("GET", "/pets/dog", "GET /pets/dog", {}),
        ("GET", "/pets/cat", "GET /pets/{name}", {"name": "cat"}),
        ("GET", "/pets/cat/toys/ball", "ANY /pets/{proxy+}", {"proxy": "cat/toys/ball"}),
        ("POST", "/pets/dog", "ANY /pets/{proxy+}", {"proxy": "dog"}),
        ("DELETE", "/pets", "ANY /pets", {}),
        ("GET", "/pets", "GET /pets", {}),
        ("GET", "/other/thing", "$default", {}),
        ("GET", "/", "$default", {}),
    ],
)
def test_the_most_specific_route_wins(method, path, expected, parameters):
    table = routes(
        "GET /pets/dog",
        "GET /pets/{name}",
        "ANY /pets/{proxy+}",
        "GET /pets",
        "ANY /pets",
        "$default",
    )
    match = select_route(table, method, path)
    assert match is not None
    assert match.route.route_key == expected
    assert dict(match.path_parameters) == parameters


def test_method_route_wins_over_any_for_the_same_path():
    table = routes("ANY /items/{id}", "PUT /items/{id}")
    assert select_route(table, "PUT", "/items/1").route.route_key == "PUT /items/{id}"
    assert select_route(table, "GET", "/items/1").route.route_key == "ANY /items/{id}"


def test_greedy_variable_needs_at_least_one_segment_and_matching_is_case_sensitive():
    table = routes("GET /files/{proxy+}", "GET /Items")
    assert select_route(table, "GET", "/files") is None
    assert select_route(table, "GET", "/items") is None
    assert select_route(table, "GET", "/Items/") is not None  # trailing slash: same resource


def test_an_encoded_slash_stays_inside_its_path_parameter():
    match = select_route(routes("GET /keys/{key}"), "GET", "/keys/a%2Fb")
    assert match is not None
    assert match.path_parameters == {"key": "a/b"}


def test_stage_selection_default_stage_has_no_segment_named_stage_has_one():
    stages = {"$default": StageSpec("$default"), "dev": StageSpec("dev")}
    dev = select_stage(stages, "/dev/items")
    assert dev is not None
    assert (dev.stage.name, dev.raw_path) == ("dev", "/items")
    default = select_stage(stages, "/items")
    assert default is not None
    assert (default.stage.name, default.raw_path) == ("$default", "/items")
    assert select_stage({"dev": StageSpec("dev")}, "/prod/items") is None


def test_no_route_or_no_stage_is_404_not_found_without_invoking():
    api = make_api([lambda_route("GET /items", "fn")], stages=[StageSpec("live")])
    gateway, invoker = make_gateway(api, {"fn": echo})
    for target in ("/live/other", "/items", "/other/items"):
        response = gateway.handle(api.api_id, request("GET", target))
        assert response.status == 404
        assert json_body(response) == {"message": "Not Found"}
        assert response.header("apigw-requestid")
    assert gateway.handle(api.api_id, request("POST", "/live/items")).status == 404
    assert invoker.calls == []
    assert gateway.handle(api.api_id, request("GET", "/live/items")).status == 200


def test_unknown_api_is_404_and_disabled_endpoint_is_403():
    api = make_api([lambda_route("GET /items", "fn")], disabled=True)
    gateway, invoker = make_gateway(api, {"fn": echo})
    assert gateway.handle("nosuchapi", request("GET", "/items")).status == 404
    response = gateway.handle(api.api_id, request("GET", "/items"))
    assert response.status == 403
    assert json_body(response) == {"message": "Forbidden"}
    assert invoker.calls == []
