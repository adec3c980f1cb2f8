"""Lambda authorizers of HTTP APIs (API Gateway developer guide, "Control access to HTTP APIs
with AWS Lambda authorizers").

- Identity sources (``$request.header.X``, ``$request.querystring.X``, ``$context.X``,
  ``$stageVariables.X``): when the authorizer names any and one of them is missing or empty,
  the answer is 401 ``{"message":"Unauthorized"}`` and the function is not invoked.
- Payload 2.0 event: the request (no body) plus ``type: REQUEST``, ``routeArn`` and
  ``identitySource`` (a list of the values); payload 1.0 event: the REST shape plus
  ``methodArn``, ``identitySource`` and ``authorizationToken`` (the values joined by commas).
- Answers: with simple responses (2.0 only) ``{"isAuthorized": bool, "context": {...}}``;
  otherwise an IAM policy (``principalId``, ``policyDocument``, ``context``) evaluated
  against the route ARN: an explicit Deny or no Allow is 403 ``{"message":"Forbidden"}``.
  A function error, a timeout or an answer of the wrong shape is 500
  ``{"message":"Internal Server Error"}``.
- Caching: ``authorizerResultTtlInSeconds`` (default 0: off) caches a result by authorizer and
  identity source values; a cached policy is evaluated again against each request's route.
- The integration sees the context as ``requestContext.authorizer.lambda`` (payload 2.0) or
  as ``requestContext.authorizer`` with the ``principalId`` (payload 1.0).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from localcloud.apigatewayv2.events import EventContext, v1_common, v2_common, v2_request_context
from localcloud.apigatewayv2.messages import HttpResponse, error_response
from localcloud.apigatewayv2.model import AuthorizerSpec

log = logging.getLogger("localcloud.apigatewayv2")

# (function URI or ARN, event) -> the function's JSON answer; raises AuthorizerFailed.
AuthorizerInvoke = Callable[[str, bytes], bytes]


class AuthorizerFailed(Exception):
    """The function could not answer (error, timeout, refusal): AWS answers 500."""


@dataclass(frozen=True)
class Admitted:
    """A request the authorizer let through, with what the integration is told about it."""

    kind: str  # "lambda", "jwt" or "none"
    principal_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    scopes: tuple[str, ...] | None = None

    def for_v2(self) -> dict[str, Any] | None:
        if self.kind == "lambda":
            return {"lambda": dict(self.context)}
        if self.kind == "jwt":
            return {
                "jwt": {
                    "claims": dict(self.context),
                    "scopes": list(self.scopes) if self.scopes is not None else None,
                }
            }
        return None

    def for_v1(self) -> dict[str, Any] | None:
        if self.kind == "lambda":
            document = dict(self.context)
            if self.principal_id is not None:
                document["principalId"] = self.principal_id
            return document
        if self.kind == "jwt":
            return {
                "claims": dict(self.context),
                "scopes": list(self.scopes) if self.scopes is not None else None,
            }
        return None


def unauthorized() -> HttpResponse:
    return error_response(401, "Unauthorized")


def forbidden() -> HttpResponse:
    return error_response(403, "Forbidden")


def internal_error() -> HttpResponse:
    return error_response(500, "Internal Server Error")


@dataclass(frozen=True)
class _Result:
    allowed: bool | None  # a simple response's verdict; None for a policy
    statements: tuple[dict[str, Any], ...]
    principal_id: str | None
    context: Mapping[str, Any]


def _lookup(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def identity_values(source: tuple[str, ...], context: EventContext) -> list[str] | None:
    """The values of the identity sources, or None when one is missing or empty."""
    request = context.request
    values: list[str] = []
    for expression in source:
        value: Any = None
        if expression.startswith("$request.header."):
            value = request.header(expression[len("$request.header.") :])
        elif expression.startswith("$request.querystring."):
            name = expression[len("$request.querystring.") :]
            found = [
                v for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k == name
            ]
            value = ",".join(found) if found else None
        elif expression.startswith("$stageVariables."):
            value = context.stage.stage_variables.get(expression[len("$stageVariables.") :])
        elif expression.startswith("$context."):
            value = _lookup(v2_request_context(context), expression[len("$context.") :])
        if value is None or str(value) == "":
            return None
        values.append(str(value))
    return values


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "^"
        + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        + "$"
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(statement: Mapping[str, Any], arn: str) -> bool:
    actions = [str(a) for a in _as_list(statement.get("Action", []))]
    if not any(_wildcard(a).match("execute-api:Invoke") for a in actions):
        return False
    return any(_wildcard(str(r)).match(arn) for r in _as_list(statement.get("Resource", [])))


def policy_allows(statements: tuple[dict[str, Any], ...], arn: str) -> bool:
    """IAM evaluation: an explicit Deny wins, else an Allow is needed."""
    matching = [s for s in statements if _matches(s, arn)]
    if any(str(s.get("Effect")) == "Deny" for s in matching):
        return False
    return any(str(s.get("Effect")) == "Allow" for s in matching)


def _context_values(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("context must be an object")
    return dict(raw)


def parse_answer(payload: bytes, authorizer: AuthorizerSpec) -> _Result:
    """The function's answer, or ValueError when it has the wrong shape."""
    document = json.loads(payload)
    if not isinstance(document, dict):
        raise ValueError(f"expected an object, got {type(document).__name__}")
    simple = authorizer.simple_responses and authorizer.payload_format_version == "2.0"
    if simple:
        verdict = document.get("isAuthorized")
        if not isinstance(verdict, bool):
            raise ValueError("isAuthorized must be a boolean")
        return _Result(verdict, (), None, _context_values(document.get("context")))
    policy = document.get("policyDocument")
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise ValueError("policyDocument with a Statement is required")
    statements = tuple(s for s in _as_list(policy["Statement"]) if isinstance(s, dict))
    principal = document.get("principalId")
    return _Result(
        None,
        statements,
        None if principal is None else str(principal),
        _context_values(document.get("context")),
    )


class _Cache:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[tuple[Any, ...], tuple[float, _Result]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> _Result | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[Any, ...], result: _Result, ttl: int) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + ttl, result)


class LambdaAuthorizers:
    """Runs the Lambda authorizers of HTTP APIs, with their result cache."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache = _Cache(clock)

    def authorize(
        self, authorizer: AuthorizerSpec, context: EventContext, invoke: AuthorizerInvoke
    ) -> Admitted | HttpResponse:
        values: list[str] = []
        if authorizer.identity_source:
            found = identity_values(authorizer.identity_source, context)
            if found is None:
                log.info("401: identity source %s missing", ",".join(authorizer.identity_source))
                return unauthorized()
            values = found
        key = (context.api.api_id, authorizer.id, authorizer.uri, tuple(values))
        result = self._cache.get(key) if authorizer.ttl_seconds > 0 else None
        if result is None:
            try:
                payload = invoke(authorizer.uri or "", self._event(authorizer, context, values))
                result = parse_answer(payload, authorizer)
            except AuthorizerFailed as error:
                log.error("authorizer %s failed: %s", authorizer.name, error)
                return internal_error()
            except ValueError as error:
                log.error("authorizer %s answered a malformed response: %s", authorizer.name, error)
                return internal_error()
            if authorizer.ttl_seconds > 0:
                self._cache.put(key, result, authorizer.ttl_seconds)
        allowed = (
            result.allowed
            if result.allowed is not None
            else policy_allows(result.statements, context.route_arn())
        )
        if not allowed:
            return forbidden()
        return Admitted("lambda", result.principal_id, result.context)

    @staticmethod
    def _event(authorizer: AuthorizerSpec, context: EventContext, values: list[str]) -> bytes:
        if authorizer.payload_format_version == "2.0":
            event = v2_common(context)
            event.update(type="REQUEST", routeArn=context.route_arn(), identitySource=values)
        else:
            event = v1_common(context)
            joined = ",".join(values)
            event.update(
                type="REQUEST",
                methodArn=context.route_arn(),
                identitySource=joined,
                authorizationToken=joined,
            )
        return json.dumps(event).encode("utf-8")
