"""CORS and stage throttling of HTTP APIs.

AWS rules (API Gateway developer guide, "Configure CORS for HTTP APIs"; "Protect your HTTP
APIs: throttling"): with a CORS configuration API Gateway answers preflight requests itself,
before routes and authorizers, and puts its own CORS headers on the integration's responses
in place of the integration's. Throttling is a token bucket per route (burst, then the
rate); an empty bucket answers 429 ``{"message":"Too Many Requests"}``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from localcloud.apigatewayv2.model import CorsSpec, StageSpec, ThrottleSettings
from localcloud.apigatewayv2.throttling import StageThrottle

sys.path.insert(0, str(Path(__file__).parent))
from _http_api_helpers import json_body, lambda_route, make_api, make_gateway, request

CORS = CorsSpec(
    allow_origins=("https://app.example.com",),
    allow_methods=("GET", "POST"),
    allow_headers=("content-type", "authorization"),
    expose_headers=("x-request-id",),
    allow_credentials=True,
    max_age=600,
)


def with_cors_header(event):
    return {
        "statusCode": 200,
        "headers": {"Access-Control-Allow-Origin": "*", "X-Request-Id": "r1"},
        "body": "ok",
    }


def test_preflight_is_answered_by_the_gateway_before_routes_and_authorizers():
    api = make_api(
        [lambda_route("POST /orders", "fn", authorization_type="CUSTOM", authorizer_id="missing")],
        cors=CORS,
    )
    gateway, invoker = make_gateway(api, {"fn": with_cors_header})
    preflight = [
        ("Origin", "https://app.example.com"),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type"),
    ]
    for target in ("/orders", "/no/such/route"):
        response = gateway.handle(api.api_id, request("OPTIONS", target, headers=preflight))
        assert response.status == 204
        assert response.header("Access-Control-Allow-Origin") == "https://app.example.com"
        assert response.header("Access-Control-Allow-Methods") == "GET,POST"
        assert response.header("Access-Control-Allow-Headers") == "content-type,authorization"
        assert response.header("Access-Control-Max-Age") == "600"
        assert response.header("Access-Control-Allow-Credentials") == "true"
    stranger = [("Origin", "https://evil.example.com"), ("Access-Control-Request-Method", "POST")]
    refused = gateway.handle(api.api_id, request("OPTIONS", "/orders", headers=stranger))
    assert refused.status == 204
    assert refused.header("Access-Control-Allow-Origin") is None
    assert invoker.calls == []


def test_integration_cors_headers_are_replaced_by_the_apis():
    open_route = lambda_route("GET /orders", "fn")
    api = make_api([open_route], cors=CORS)
    gateway, _ = make_gateway(api, {"fn": with_cors_header})
    response = gateway.handle(
        api.api_id, request("GET", "/orders", headers=[("Origin", "https://app.example.com")])
    )
    assert response.status == 200
    assert [v for k, v in response.headers if k.lower() == "access-control-allow-origin"] == [
        "https://app.example.com"
    ]
    assert response.header("Access-Control-Expose-Headers") == "x-request-id"
    other = gateway.handle(
        api.api_id, request("GET", "/orders", headers=[("Origin", "https://evil.example.com")])
    )
    assert other.header("Access-Control-Allow-Origin") is None


def test_without_cors_configuration_options_goes_to_the_routes():
    api = make_api([lambda_route("GET /orders", "fn")])
    gateway, _ = make_gateway(api, {"fn": with_cors_header})
    preflight = [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "GET")]
    response = gateway.handle(api.api_id, request("OPTIONS", "/orders", headers=preflight))
    assert response.status == 404
    assert json_body(response) == {"message": "Not Found"}


def test_stage_throttling_answers_429_once_the_burst_is_spent():
    api = make_api(
        [lambda_route("GET /limited", "fn"), lambda_route("GET /free", "fn")],
        stages=[
            StageSpec(
                "$default",
                default_throttle=ThrottleSettings(burst_limit=100, rate_limit=100),
                route_throttles={"GET /limited": ThrottleSettings(burst_limit=2, rate_limit=0.001)},
            )
        ],
    )
    gateway, invoker = make_gateway(api, {"fn": lambda e: {"statusCode": 200, "body": "ok"}})
    statuses = [gateway.handle(api.api_id, request("GET", "/limited")).status for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    throttled = gateway.handle(api.api_id, request("GET", "/limited"))
    assert json_body(throttled) == {"message": "Too Many Requests"}
    assert gateway.handle(api.api_id, request("GET", "/free")).status == 200
    assert len(invoker.calls) == 3


def test_token_bucket_refills_at_the_rate():
    now = [0.0]
    throttle = StageThrottle(clock=lambda: now[0])
    settings = ThrottleSettings(burst_limit=1, rate_limit=2)
    assert throttle.admit(("k",), settings)
    assert not throttle.admit(("k",), settings)
    now[0] += 0.5  # two tokens a second: one more after half a second
    assert throttle.admit(("k",), settings)
    assert not throttle.admit(("k",), settings)
    assert throttle.admit(("k",), ThrottleSettings())  # no settings: no throttling
    assert not throttle.admit(("zero",), ThrottleSettings(burst_limit=0, rate_limit=10))
