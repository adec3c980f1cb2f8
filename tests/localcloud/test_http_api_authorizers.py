"""Lambda and JWT authorizers of HTTP APIs.

AWS rules (API Gateway developer guide, "Control access to HTTP APIs with AWS Lambda
authorizers" and "... with JWT authorizers"):
- A missing or empty identity source is 401 ``Unauthorized`` without invoking the function.
- Simple responses: ``isAuthorized`` false is 403 ``Forbidden``; the ``context`` reaches the
  integration as ``requestContext.authorizer.lambda``. IAM policies are evaluated against the
  route ARN: explicit Deny or no Allow is 403.
- Errors and malformed answers of the authorizer are 500.
- Results are cached by identity source values for ``authorizerResultTtlInSeconds``.
- JWT: signature by the issuer's JWKS, ``iss``, ``aud``/``client_id``, ``exp``; 401 with
  ``www-authenticate`` on failure, 403 when the route's scopes are not granted; the claims
  and scopes reach the integration as ``requestContext.authorizer.jwt``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from localcloud.apigateway.lambda_invoker import InvocationResult
from localcloud.apigatewayv2.model import AuthorizerSpec, StageSpec

sys.path.insert(0, str(Path(__file__).parent))
from _http_api_helpers import (
    echo,
    invocation_uri,
    json_body,
    lambda_route,
    make_api,
    make_gateway,
    request,
)


def lambda_authorizer(**options: Any) -> AuthorizerSpec:
    values: dict[str, Any] = {
        "id": "auth1",
        "name": "Gatekeeper",
        "type": "REQUEST",
        "uri": invocation_uri("authorizer"),
        "payload_format_version": "2.0",
        "simple_responses": True,
        "identity_source": ("$request.header.Authorization",),
    }
    values.update(options)
    return AuthorizerSpec(**values)


def guarded_api(authorizer: AuthorizerSpec, stage: str = "$default"):
    return make_api(
        [
            lambda_route(
                "GET /orders/{id}", "fn", authorizer_id="auth1", authorization_type="CUSTOM"
            ),
            lambda_route(
                "GET /v1/{id}",
                "fn1",
                payload_format_version="1.0",
                authorizer_id="auth1",
                authorization_type="CUSTOM",
            ),
        ],
        stages=[StageSpec(stage)],
        authorizers=[authorizer],
    )


def simple(event: dict[str, Any]) -> dict[str, Any]:
    token = event["headers"].get("authorization")
    return {"isAuthorized": token == "letmein", "context": {"user": "ana", "level": 3}}


def test_missing_identity_source_is_401_without_invoking_the_authorizer():
    api = guarded_api(lambda_authorizer())
    gateway, invoker = make_gateway(api, {"authorizer": simple, "fn": echo})
    for headers in ([], [("Authorization", "")]):
        response = gateway.handle(api.api_id, request("GET", "/orders/1", headers=headers))
        assert response.status == 401
        assert json_body(response) == {"message": "Unauthorized"}
    assert invoker.calls == []


def test_simple_response_allows_or_forbids_and_hands_on_the_context():
    api = guarded_api(lambda_authorizer())
    gateway, invoker = make_gateway(
        api, {"authorizer": simple, "fn": echo, "fn1": lambda e: {"statusCode": 200, "body": ""}}
    )
    denied = gateway.handle(
        api.api_id, request("GET", "/orders/1", headers=[("Authorization", "nope")])
    )
    assert denied.status == 403
    assert json_body(denied) == {"message": "Forbidden"}
    allowed = gateway.handle(
        api.api_id, request("GET", "/orders/1?x=1", headers=[("Authorization", "letmein")])
    )
    assert allowed.status == 200
    assert json_body(allowed)["requestContext"]["authorizer"] == {
        "lambda": {"user": "ana", "level": 3}
    }
    event = invoker.events_of("authorizer")[-1]
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["identitySource"] == ["letmein"]
    assert event["routeArn"] == (
        f"arn:aws:execute-api:us-east-1:123456789012:{api.api_id}/$default/GET/orders/1"
    )
    assert event["routeKey"] == "GET /orders/{id}"
    assert event["pathParameters"] == {"id": "1"}
    assert event["queryStringParameters"] == {"x": "1"}
    assert "body" not in event
    assert len(invoker.events_of("fn")) == 1


def test_iam_policy_answers_are_evaluated_against_the_route_arn():
    def policy(event: dict[str, Any]) -> dict[str, Any]:
        arn_prefix = event["routeArn"].split("/", 1)[0]
        return {
            "principalId": "user-7",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "execute-api:Invoke",
                        "Resource": f"{arn_prefix}/*/GET/orders/*",
                    },
                    {
                        "Effect": "Deny",
                        "Action": "execute-api:Invoke",
                        "Resource": f"{arn_prefix}/*/GET/orders/secret",
                    },
                ],
            },
            "context": {"tier": "gold"},
        }

    api = guarded_api(lambda_authorizer(simple_responses=False), stage="live")
    gateway, _ = make_gateway(
        api,
        {
            "authorizer": policy,
            "fn": echo,
            "fn1": lambda e: {"statusCode": 200, "body": str(e["requestContext"]["authorizer"])},
        },
    )
    token = [("Authorization", "t")]
    allowed = gateway.handle(api.api_id, request("GET", "/live/orders/1", headers=token))
    assert allowed.status == 200
    assert json_body(allowed)["requestContext"]["authorizer"] == {"lambda": {"tier": "gold"}}
    assert (
        gateway.handle(api.api_id, request("GET", "/live/orders/secret", headers=token)).status
        == 403
    )
    # No Allow matches /v1/...: an implicit deny.
    assert gateway.handle(api.api_id, request("GET", "/live/v1/1", headers=token)).status == 403


def test_v1_authorizer_event_and_v1_integration_context():
    def policy(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "principalId": "p1",
            "policyDocument": {
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": event["methodArn"]}]
            },
            "context": {"k": "v"},
        }

    authorizer = lambda_authorizer(
        payload_format_version="1.0",
        simple_responses=False,
        identity_source=("$request.header.X-Key", "$request.querystring.tenant"),
    )
    api = guarded_api(authorizer)
    gateway, invoker = make_gateway(
        api,
        {
            "authorizer": policy,
            "fn1": lambda e: {"statusCode": 200, "body": json.dumps(e)},
        },
    )
    response = gateway.handle(
        api.api_id, request("GET", "/v1/5?tenant=acme", headers=[("X-Key", "k1")])
    )
    assert response.status == 200, response.body
    assert json_body(response)["requestContext"]["authorizer"] == {"k": "v", "principalId": "p1"}
    event = invoker.events_of("authorizer")[0]
    assert event["version"] == "1.0"
    assert event["identitySource"] == "k1,acme"
    assert event["authorizationToken"] == "k1,acme"
    assert event["methodArn"].endswith("/$default/GET/v1/5")
    # One identity source missing: 401.
    assert (
        gateway.handle(api.api_id, request("GET", "/v1/5", headers=[("X-Key", "k1")])).status == 401
    )


def test_authorizer_errors_and_malformed_answers_are_500():
    answers = iter(
        [
            InvocationResult(b'{"errorMessage": "Unauthorized"}', "Unhandled"),
            {"isAuthorized": "yes"},
            {"principalId": "x"},
        ]
    )
    api = guarded_api(lambda_authorizer())
    gateway, invoker = make_gateway(api, {"authorizer": lambda e: next(answers), "fn": echo})
    for _ in range(3):
        response = gateway.handle(
            api.api_id, request("GET", "/orders/1", headers=[("Authorization", "t")])
        )
        assert response.status == 500
        assert json_body(response) == {"message": "Internal Server Error"}
    assert invoker.events_of("fn") == []


def test_results_are_cached_per_identity_for_the_ttl_only():
    api = guarded_api(lambda_authorizer(ttl_seconds=300))
    gateway, invoker = make_gateway(api, {"authorizer": simple, "fn": echo})
    for _ in range(3):
        ok = gateway.handle(
            api.api_id, request("GET", "/orders/1", headers=[("Authorization", "letmein")])
        )
        assert ok.status == 200
    assert len(invoker.events_of("authorizer")) == 1
    gateway.handle(api.api_id, request("GET", "/orders/1", headers=[("Authorization", "other")]))
    assert len(invoker.events_of("authorizer")) == 2

    uncached = guarded_api(lambda_authorizer(ttl_seconds=0))
    gateway, invoker = make_gateway(uncached, {"authorizer": simple, "fn": echo})
    for _ in range(2):
        gateway.handle(
            uncached.api_id, request("GET", "/orders/1", headers=[("Authorization", "letmein")])
        )
    assert len(invoker.events_of("authorizer")) == 2


def test_cached_result_expires_after_the_ttl():
    from localcloud.apigatewayv2 import authorizers as module

    now = [1000.0]
    api = guarded_api(lambda_authorizer(ttl_seconds=60))
    gateway, invoker = make_gateway(api, {"authorizer": simple, "fn": echo})
    gateway._lambda_authorizers = module.LambdaAuthorizers(clock=lambda: now[0])
    headers = [("Authorization", "letmein")]
    gateway.handle(api.api_id, request("GET", "/orders/1", headers=headers))
    now[0] += 59
    gateway.handle(api.api_id, request("GET", "/orders/1", headers=headers))
    assert len(invoker.events_of("authorizer")) == 1
    now[0] += 2
    gateway.handle(api.api_id, request("GET", "/orders/1", headers=headers))
    assert len(invoker.events_of("authorizer")) == 2


ISSUER = "https://issuer.example.com/tenant"
AUDIENCE = "my-client"


class Issuer:
    """An OpenID issuer with one RSA key, serving its discovery document and JWKS."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.fetched: list[str] = []

    def fetch(self, url: str) -> Any:
        self.fetched.append(url)
        if url == f"{ISSUER}/.well-known/openid-configuration":
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks.json"}
        if url == f"{ISSUER}/jwks.json":
            return KeySet([self.key]).as_dict(private=False)
        raise AssertionError(url)

    def token(self, key: RSAKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "exp": now + 300, "iat": now}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode({"alg": "RS256", "kid": "k1"}, body, key or self.key)


def jwt_api():
    authorizer = AuthorizerSpec(
        id="auth1",
        name="Jwt",
        type="JWT",
        identity_source=("$request.header.Authorization",),
        jwt_issuer=ISSUER,
        jwt_audience=(AUDIENCE,),
    )
    return make_api(
        [
            lambda_route("GET /open", "fn", authorizer_id="auth1", authorization_type="JWT"),
            lambda_route(
                "GET /admin",
                "fn",
                authorizer_id="auth1",
                authorization_type="JWT",
                scopes=["admin", "root"],
            ),
        ],
        authorizers=[authorizer],
    )


def test_jwt_authorizer_accepts_a_valid_token_and_hands_on_claims_and_scopes():
    issuer = Issuer()
    api = jwt_api()
    gateway, _ = make_gateway(api, {"fn": echo}, fetch_json=issuer.fetch)
    token = issuer.token(scope="read admin", groups=["a", "b"])
    response = gateway.handle(
        api.api_id, request("GET", "/admin", headers=[("Authorization", f"Bearer {token}")])
    )
    assert response.status == 200, response.body
    jwt_context = json_body(response)["requestContext"]["authorizer"]["jwt"]
    assert jwt_context["claims"]["sub"] == "u1"
    assert jwt_context["claims"]["groups"] == "[a b]"
    assert jwt_context["claims"]["exp"].isdigit()
    assert jwt_context["scopes"] == ["read", "admin"]
    # The key set is fetched once and kept.
    gateway.handle(api.api_id, request("GET", "/open", headers=[("Authorization", token)]))
    assert len(issuer.fetched) == 2


def test_jwt_authorizer_rejects_bad_tokens_with_401_and_missing_scopes_with_403():
    issuer = Issuer()
    api = jwt_api()
    gateway, invoker = make_gateway(api, {"fn": echo}, fetch_json=issuer.fetch)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    bad_tokens = {
        "expired": issuer.token(exp=int(time.time()) - 10),
        "wrong issuer": issuer.token(iss="https://evil.example.com"),
        "wrong audience": issuer.token(aud="someone-else"),
        "wrong signature": issuer.token(key=stranger),
        "garbage": "not.a.jwt",
    }
    for reason, token in bad_tokens.items():
        response = gateway.handle(
            api.api_id, request("GET", "/open", headers=[("Authorization", f"Bearer {token}")])
        )
        assert response.status == 401, reason
        assert json_body(response) == {"message": "Unauthorized"}
        assert "invalid_token" in (response.header("www-authenticate") or ""), reason
    assert gateway.handle(api.api_id, request("GET", "/open")).status == 401
    # client_id stands in for a missing aud (Cognito access tokens).
    access = issuer.token(aud=None, client_id=AUDIENCE, scope="read")
    ok = gateway.handle(api.api_id, request("GET", "/open", headers=[("Authorization", access)]))
    assert ok.status == 200
    forbidden = gateway.handle(
        api.api_id, request("GET", "/admin", headers=[("Authorization", access)])
    )
    assert forbidden.status == 403
    assert json_body(forbidden) == {"message": "Forbidden"}
    assert len(invoker.events_of("fn")) == 1


def test_iam_authorization_fails_loudly_by_name():
    api = make_api([lambda_route("GET /x", "fn", authorization_type="AWS_IAM")])
    gateway, invoker = make_gateway(api, {"fn": echo})
    response = gateway.handle(api.api_id, request("GET", "/x"))
    assert response.status == 500
    assert "AWS_IAM" in json_body(response)["message"]
    assert invoker.calls == []
