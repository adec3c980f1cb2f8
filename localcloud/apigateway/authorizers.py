"""Lambda authorizers (TOKEN and REQUEST) of REST APIs: identity, invocation, policy, cache.

The rules (API Gateway developer guide, "Use API Gateway Lambda authorizers", "Input to an
API Gateway Lambda authorizer", "Output from an API Gateway Lambda authorizer"):

- TOKEN: the token is the value of the identity source header
  (``method.request.header.Authorization`` by default). Missing or empty, or not matching the
  authorizer's ``identityValidationExpression``: 401 ``Unauthorized`` and the function is not
  invoked. The event is ``{"type": "TOKEN", "authorizationToken", "methodArn"}``.
- REQUEST: the identity sources are headers, query strings, stage variables or ``$context``
  values. When caching is on (TTL > 0) every one must be present and non-empty, else 401
  without invoking; with caching off they are optional. The event carries the request
  (headers, query, path parameters, stage variables, requestContext).
- The function answers ``principalId``, ``policyDocument`` (IAM policy), optional ``context``
  (string, number or boolean values) and optional ``usageIdentifierKey``. API Gateway evaluates
  the policy against the request's method ARN
  ``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}``: an explicit Deny
  or no matching Allow is 403 (ACCESS_DENIED). An error whose message is ``Unauthorized`` is
  401 (UNAUTHORIZED); any other error, a timeout or a malformed answer is 500 with
  ``{"message": null}`` (AUTHORIZER_CONFIGURATION_ERROR, AuthorizerConfigurationException).
- Results are cached per authorizer and identity (the token, or the identity source values)
  for ``authorizerResultTtlInSeconds`` (default 300, 0 disables); a cached policy is evaluated
  again against each request's method ARN. A redeployment starts a new cache.

The authorizer's function is invoked like an integration's, through the Lambda port; the
invoke permission (``lambda:InvokeFunction`` for apigateway.amazonaws.com) is not checked,
because the local cloud does not enforce IAM.
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

from localcloud.apigateway.gateway_responses import GatewayError
from localcloud.apigateway.integration_uri import IntegrationConfigError, lambda_function_arn
from localcloud.apigateway.lambda_invoker import InvocationResult
from localcloud.apigateway.messages import HttpRequest, HttpResponse
from localcloud.apigateway.model import AuthorizerSpec, DeployedStage

log = logging.getLogger("localcloud.apigateway")

UNAUTHORIZED = "UNAUTHORIZED"
ACCESS_DENIED = "ACCESS_DENIED"
AUTHORIZER_CONFIGURATION_ERROR = "AUTHORIZER_CONFIGURATION_ERROR"
AUTHORIZER_FAILURE = "AUTHORIZER_FAILURE"

EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
IMPLICIT_DENY = "User is not authorized to access this resource"
DEFAULT_TOKEN_SOURCE = "method.request.header.Authorization"

# Invokes an authorizer function: (function ARN, event payload) -> result; raises on refusal.
AuthorizerInvoke = Callable[[str, bytes], InvocationResult]


class _ExplicitDenyError(GatewayError):
    """AWS writes this one body with a capital ``Message`` key."""

    def default_response(self) -> HttpResponse:
        response = super().default_response()
        response.body = json.dumps({"Message": self.message}).encode()
        return response


class _NullMessageError(GatewayError):
    """AuthorizerConfigurationException: AWS's body is ``{"message": null}``."""

    def default_response(self) -> HttpResponse:
        response = super().default_response()
        response.body = b'{"message":null}'
        return response


def unauthorized() -> GatewayError:
    return GatewayError(UNAUTHORIZED, 401, "Unauthorized", "UnauthorizedException")


def explicit_deny() -> GatewayError:
    return _ExplicitDenyError(ACCESS_DENIED, 403, EXPLICIT_DENY, "AccessDeniedException")


def implicit_deny() -> GatewayError:
    return GatewayError(ACCESS_DENIED, 403, IMPLICIT_DENY, "AccessDeniedException")


def configuration_error() -> GatewayError:
    # The message is null on AWS; a customised template's $context.error.message sees "null".
    return _NullMessageError(
        AUTHORIZER_CONFIGURATION_ERROR, 500, "null", "AuthorizerConfigurationException"
    )


class MalformedAuthorizerResult(Exception):
    """The function's answer is not a valid authorizer output."""


@dataclass(frozen=True)
class AuthorizerResult:
    """What a function answered: its policy and what the integration receives."""

    principal_id: str
    statements: tuple[dict[str, Any], ...]
    context: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    usage_identifier_key: str | None = None


@dataclass(frozen=True)
class Admitted:
    """A request the authorizer let through."""

    # ``requestContext.authorizer`` of the proxy event: principalId and the context values
    # (None when the method has no authorizer).
    request_context: dict[str, Any] | None
    usage_identifier_key: str | None = None


def method_arn(stage: DeployedStage, http_method: str, path: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path without /}``."""
    return (
        f"arn:aws:execute-api:{stage.region}:{stage.account_id}:{stage.api_id}/"
        f"{stage.stage_name}/{http_method}/{path.lstrip('/')}"
    )


def _identity_sources(authorizer: AuthorizerSpec) -> list[str]:
    text = authorizer.identity_source or ""
    if authorizer.type == "TOKEN" and not text.strip():
        text = DEFAULT_TOKEN_SOURCE
    return [part.strip() for part in text.split(",") if part.strip()]


def _query_value(request: HttpRequest, name: str) -> str | None:
    values = [v for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k == name]
    return values[-1] if values else None


def identity_value(
    expression: str,
    request: HttpRequest,
    stage: DeployedStage,
    context: Mapping[str, Any],
) -> str | None:
    """The value a mapping expression names in this request, or None."""
    if expression.startswith("method.request.header."):
        return request.header(expression[len("method.request.header.") :])
    if expression.startswith("method.request.querystring."):
        return _query_value(request, expression[len("method.request.querystring.") :])
    if expression.startswith("stageVariables."):
        return stage.stage_variables.get(expression[len("stageVariables.") :])
    if expression.startswith("context."):
        value: Any = context
        for part in expression[len("context.") :].split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return None if value is None else str(value)
    log.warning("authorizer identity source %r is not understood here", expression)
    return None


def _pattern(resource: str) -> re.Pattern[str]:
    # IAM resource wildcards: * any run of characters, ? any one character.
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource),
        re.DOTALL,
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_matches(statement: Mapping[str, Any], arn: str) -> bool:
    actions = [str(a).lower() for a in _as_list(statement.get("Action", []))]
    if not any(a in ("*", "execute-api:*", "execute-api:invoke") for a in actions):
        return False
    resources = [str(r) for r in _as_list(statement.get("Resource", []))]
    return any(_pattern(resource).fullmatch(arn) for resource in resources)


def evaluate_policy(result: AuthorizerResult, arn: str) -> GatewayError | None:
    """None when the policy allows ``arn``; the 403 otherwise (an explicit Deny wins)."""
    matching = [s for s in result.statements if _statement_matches(s, arn)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return explicit_deny()
    if any(s.get("Effect") == "Allow" for s in matching):
        return None
    return implicit_deny()


def parse_result(payload: bytes) -> AuthorizerResult:
    """The function's answer, or :class:`MalformedAuthorizerResult`."""
    try:
        answer = json.loads(payload)
    except ValueError as error:
        raise MalformedAuthorizerResult(f"not JSON: {error}") from error
    if not isinstance(answer, dict):
        raise MalformedAuthorizerResult("the answer is not a JSON object")
    principal = answer.get("principalId")
    if principal is None or isinstance(principal, (dict, list)):
        raise MalformedAuthorizerResult("principalId is missing")
    policy = answer.get("policyDocument")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError as error:
            raise MalformedAuthorizerResult("policyDocument is not JSON") from error
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise MalformedAuthorizerResult("policyDocument with a Statement is missing")
    statements = _as_list(policy["Statement"])
    if not all(isinstance(s, dict) and s.get("Effect") in ("Allow", "Deny") for s in statements):
        raise MalformedAuthorizerResult("each statement needs an Effect of Allow or Deny")
    context = answer.get("context") or {}
    if not isinstance(context, dict) or not all(
        isinstance(v, (str, int, float, bool)) for v in context.values()
    ):
        # Objects and arrays are refused: context values are strings, numbers or booleans.
        raise MalformedAuthorizerResult("context values must be strings, numbers or booleans")
    key = answer.get("usageIdentifierKey")
    return AuthorizerResult(
        principal_id=str(principal),
        statements=tuple(statements),
        context=dict(context),
        usage_identifier_key=str(key) if key is not None else None,
    )


def _stringified(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_REQUEST_EVENT_FIELDS = (
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
)


class AuthorizerCache:
    """Results by (stage deployment, authorizer, identity), each until its deadline."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[tuple[Any, ...], tuple[float, AuthorizerResult]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> AuthorizerResult | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[Any, ...], result: AuthorizerResult, ttl_seconds: int) -> None:
        with self._lock:
            now = self._clock()
            # Drop expired entries now and then so the cache does not grow without end.
            if len(self._entries) > 10_000:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._entries[key] = (now + ttl_seconds, result)


class Authorizers:
    """Runs a method's Lambda authorizer for a request, with the result cache."""

    def __init__(self, cache: AuthorizerCache | None = None) -> None:
        self.cache = cache or AuthorizerCache()

    def authorize(
        self,
        authorizer: AuthorizerSpec,
        request: HttpRequest,
        stage: DeployedStage,
        proxy_event: Mapping[str, Any],
        invoke: AuthorizerInvoke,
    ) -> Admitted | GatewayError:
        """Let the request through (:class:`Admitted`) or refuse it (a gateway error).

        ``proxy_event`` is the request as the integration would see it: a REQUEST
        authorizer's event is its request part, and ``context.*`` identity sources read its
        ``requestContext``.
        """
        request_context = proxy_event.get("requestContext") or {}
        arn = method_arn(stage, request.method, request.path)
        ttl = max(0, authorizer.result_ttl_seconds)
        sources = _identity_sources(authorizer)
        values = [identity_value(s, request, stage, request_context) for s in sources]
        if authorizer.type == "TOKEN":
            token = values[0] if values else None
            if not token:
                log.info("401: the authorizer %s got no token (%s)", authorizer.id, sources[0])
                return unauthorized()
            expression = authorizer.identity_validation_expression
            if expression and not re.fullmatch(expression, token):
                log.info("401: the token does not match %r", expression)
                return unauthorized()
            event: dict[str, Any] = {
                "type": "TOKEN",
                "authorizationToken": token,
                "methodArn": arn,
            }
        else:
            if ttl > 0 and (not sources or not all(values)):
                log.info(
                    "401: the authorizer %s misses identity sources %s", authorizer.id, sources
                )
                return unauthorized()
            event = {"type": "REQUEST", "methodArn": arn}
            event.update({name: proxy_event.get(name) for name in _REQUEST_EVENT_FIELDS})
        cache_key = (stage.api_id, stage.stage_name, stage.deployment_id, authorizer.id, *values)
        result = self.cache.get(cache_key) if ttl > 0 else None
        if result is None:
            outcome = self._invoke(authorizer, stage, event, invoke)
            if isinstance(outcome, GatewayError):
                return outcome
            result = outcome
            if ttl > 0:
                self.cache.put(cache_key, result, ttl)
        refusal = evaluate_policy(result, arn)
        if refusal is not None:
            log.info("403: the policy of %s does not allow %s", result.principal_id, arn)
            return refusal
        context: dict[str, Any] = {k: _stringified(v) for k, v in result.context.items()}
        context["principalId"] = result.principal_id
        return Admitted(request_context=context, usage_identifier_key=result.usage_identifier_key)

    @staticmethod
    def _invoke(
        authorizer: AuthorizerSpec,
        stage: DeployedStage,
        event: dict[str, Any],
        invoke: AuthorizerInvoke,
    ) -> AuthorizerResult | GatewayError:
        try:
            function_arn = lambda_function_arn(authorizer.authorizer_uri, stage.stage_variables)
        except IntegrationConfigError as error:
            log.error("Execution failed due to configuration error: %s", error)
            return configuration_error()
        try:
            answer = invoke(function_arn, json.dumps(event).encode("utf-8"))
        except Exception as error:  # refused, throttled or timed out: all configuration errors
            log.error("Execution failed due to configuration error: Authorizer error: %s", error)
            return configuration_error()
        if answer.function_error:
            try:
                message = json.loads(answer.payload).get("errorMessage")
            except (ValueError, AttributeError):
                message = None
            if message == "Unauthorized":
                return unauthorized()
            log.warning(
                "Execution failed due to configuration error: Authorizer error: %s",
                answer.payload[:1000].decode("utf-8", errors="replace"),
            )
            return configuration_error()
        try:
            return parse_result(answer.payload)
        except MalformedAuthorizerResult as error:
            log.warning(
                "Execution failed due to configuration error: Invalid authorizer response: %s",
                error,
            )
            return configuration_error()
