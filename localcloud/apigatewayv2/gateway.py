"""One request through an HTTP API: stage, CORS preflight, route, throttle, authorizer,
integration, response.

API Gateway's own answers for HTTP APIs are ``{"message": "<reason phrase>"}``: 404 "Not
Found" when no stage or route matches, 413 over the 10 MB payload quota, 429 when throttled,
401/403 from authorizers, 500 "Internal Server Error" for a Lambda error, a refused invoke or
a malformed answer, 503 "Service Unavailable" when the Lambda integration outlives its
timeout (``timeoutInMillis``, at most 30 s). Every response carries ``apigw-requestid``.
What the local cloud cannot do (IAM authorization, AWS service integrations, parameter
mapping) is a 500 naming it, never a silently skipped step.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from localcloud.apigateway.integration_uri import (
    IntegrationConfigError,
    lambda_function_arn,
    split_function_arn,
    substitute_stage_variables,
)
from localcloud.apigateway.lambda_invoker import LambdaInvoker, LambdaRejected
from localcloud.apigatewayv2 import cors
from localcloud.apigatewayv2.authorizers import (
    Admitted,
    AuthorizerFailed,
    LambdaAuthorizers,
    internal_error,
)
from localcloud.apigatewayv2.events import (
    EventContext,
    RequestIds,
    build_v1_event,
    build_v2_event,
    trace_id_for,
)
from localcloud.apigatewayv2.http_proxy import call_http_proxy
from localcloud.apigatewayv2.jwt_authorizer import FetchJson, JwtAuthorizers
from localcloud.apigatewayv2.messages import HttpRequest, HttpResponse, error_response
from localcloud.apigatewayv2.model import HttpApiCatalog, HttpApiSpec, IntegrationSpec
from localcloud.apigatewayv2.responses import MalformedResponse, map_v1_response, map_v2_response
from localcloud.apigatewayv2.routing import select_route, select_stage
from localcloud.apigatewayv2.throttling import StageThrottle

log = logging.getLogger("localcloud.apigatewayv2")

_T = TypeVar("_T")

# HTTP API quotas: integrations time out after at most 30 s; payloads up to 10 MB.
MAX_INTEGRATION_TIMEOUT_SECONDS = 30.0
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
# How long a Lambda authorizer may take before the request fails (HTTP API quotas: 10 s).
AUTHORIZER_TIMEOUT_SECONDS = 10.0


class IntegrationTimeout(Exception):
    pass


def call_with_timeout(function: Callable[[], _T], timeout: float) -> _T:
    """``function()``, or :class:`IntegrationTimeout` after ``timeout`` seconds.

    The call goes on in its daemon thread, as a Lambda invocation goes on after API Gateway
    stopped waiting for it.
    """
    future: Future[_T] = Future()

    def run() -> None:
        try:
            future.set_result(function())
        except BaseException as error:  # handed over to the waiting request thread
            future.set_exception(error)

    threading.Thread(target=run, name="localcloud-httpapi-integration", daemon=True).start()
    try:
        return future.result(timeout=timeout)
    except TimeoutError as error:
        raise IntegrationTimeout from error


def unsupported(what: str, request: HttpRequest, api: HttpApiSpec) -> HttpResponse:
    message = (
        f"localcloud does not support {what} ({request.method} {request.path} on {api.api_id})"
    )
    log.error("%s", message)
    return error_response(500, message)


def function_arn(uri: str | None, stage_variables: dict[str, str]) -> str:
    """The function an ``AWS_PROXY`` integration or authorizer calls.

    HTTP APIs take the API Gateway invocation URI or the function ARN itself.
    """
    text = substitute_stage_variables(uri or "", stage_variables)
    if text.startswith("arn:") and ":lambda:" in text and ":apigateway:" not in text:
        split_function_arn(text)  # raises on a malformed ARN
        return text
    return lambda_function_arn(text, stage_variables)


class HttpApiGateway:
    """The HTTP API data plane, independent of WSGI and of moto."""

    def __init__(
        self,
        catalog: HttpApiCatalog,
        invoker: LambdaInvoker,
        fetch_json: FetchJson,
        forwarded_port: str = "443",
        forwarded_proto: str = "https",
    ) -> None:
        self._catalog = catalog
        self._invoker = invoker
        self._forwarded_port = forwarded_port
        self._forwarded_proto = forwarded_proto
        self._lambda_authorizers = LambdaAuthorizers()
        self._jwt_authorizers = JwtAuthorizers(fetch_json)
        self._throttle = StageThrottle()

    def handles(self, api_id: str) -> bool:
        return self._catalog.find_api(api_id) is not None

    def handle(self, api_id: str, request: HttpRequest) -> HttpResponse:
        ids = RequestIds(trace_id=trace_id_for(request))
        api = self._catalog.find_api(api_id)
        if api is None:
            response = error_response(404, "Not Found")
        else:
            response = self._respond(api, request, ids)
        response.headers.append(("apigw-requestid", ids.request_id))
        return response

    def _respond(self, api: HttpApiSpec, request: HttpRequest, ids: RequestIds) -> HttpResponse:
        if api.execute_api_endpoint_disabled:
            log.info("403: the execute-api endpoint of %s is disabled", api.api_id)
            return error_response(403, "Forbidden")
        if len(request.body) > MAX_REQUEST_BODY_BYTES:
            return error_response(413, "Request Entity Too Large")
        staged = select_stage(api.stages, request.raw_path)
        if staged is None:
            log.info(
                "404: %s has no stage for %s (stages: %s)",
                api.api_id,
                request.path,
                ", ".join(api.stages) or "none",
            )
            return error_response(404, "Not Found")
        if api.cors is not None and cors.is_preflight(request):
            return cors.preflight_response(api.cors, request)
        matched = select_route(api.routes, request.method, staged.raw_path)
        if matched is None:
            log.info(
                "404: no route of %s/%s answers %s %s (routes: %s)",
                api.api_id,
                staged.stage.name,
                request.method,
                staged.raw_path,
                ", ".join(r.route_key for r in api.routes) or "none",
            )
            return error_response(404, "Not Found")
        context = EventContext(
            request=request,
            api=api,
            stage=staged.stage,
            route=matched.route,
            stage_path=staged.raw_path,
            raw_path=request.raw_path,
            path_parameters=dict(matched.path_parameters),
            ids=ids,
            forwarded_port=self._forwarded_port,
            forwarded_proto=self._forwarded_proto,
        )
        response = self._in_route(api, context)
        if api.cors is not None:
            cors.apply_cors(api.cors, request, response)
        return response

    def _in_route(self, api: HttpApiSpec, context: EventContext) -> HttpResponse:
        route = context.route
        throttle = context.stage.throttle_for(route.route_key)
        if not self._throttle.admit((api.api_id, context.stage.name, route.route_key), throttle):
            return error_response(429, "Too Many Requests")
        admitted = self._authorize(api, context)
        if isinstance(admitted, HttpResponse):
            return admitted
        integration = api.integrations.get(route.integration_id or "")
        if integration is None:
            log.error("route %s has no integration (target %s)", route.route_key, route.target)
            return internal_error()
        if integration.request_parameters:
            return unsupported("parameter mapping (requestParameters)", context.request, api)
        if integration.type == "AWS_PROXY" and not integration.subtype:
            return self._lambda(integration, context, admitted)
        if (
            integration.type == "HTTP_PROXY"
            and integration.uri
            and integration.uri.startswith(("http://", "https://"))
        ):
            return call_http_proxy(
                integration,
                context.request,
                context.path_parameters,
                context.forwarded_headers(),
                self._timeout(integration),
            )
        what = f"integration type {integration.type}"
        if integration.subtype:
            what += f" with subtype {integration.subtype}"
        elif integration.type == "HTTP_PROXY":
            what += f" to {integration.uri} (private integrations need a VPC link)"
        return unsupported(what, context.request, api)

    def _authorize(self, api: HttpApiSpec, context: EventContext) -> Admitted | HttpResponse:
        route = context.route
        kind = route.authorization_type
        if kind == "NONE":
            return Admitted("none")
        authorizer = api.authorizers.get(route.authorizer_id or "")
        if kind == "CUSTOM" and authorizer is not None and authorizer.type == "REQUEST":
            return self._lambda_authorizers.authorize(
                authorizer, context, self._authorizer_invoke(context)
            )
        if kind == "JWT" and authorizer is not None and authorizer.type == "JWT":
            return self._jwt_authorizers.authorize(authorizer, route.authorization_scopes, context)
        if kind in ("CUSTOM", "JWT"):
            log.error(
                "route %s names no usable authorizer (%s)", route.route_key, route.authorizer_id
            )
            return internal_error()
        return unsupported(f"authorization type {kind}", context.request, api)

    def _authorizer_invoke(self, context: EventContext) -> Callable[[str, bytes], bytes]:
        def invoke(uri: str, payload: bytes) -> bytes:
            try:
                arn = function_arn(uri, dict(context.stage.stage_variables))
                result = call_with_timeout(
                    lambda: self._invoker.invoke(arn, payload, context.ids.trace_id),
                    AUTHORIZER_TIMEOUT_SECONDS,
                )
            except (IntegrationConfigError, LambdaRejected, IntegrationTimeout) as error:
                raise AuthorizerFailed(f"{type(error).__name__}: {error}") from error
            if result.function_error:
                raise AuthorizerFailed(result.payload[:1000].decode("utf-8", errors="replace"))
            return result.payload

        return invoke

    @staticmethod
    def _timeout(integration: IntegrationSpec) -> float:
        if integration.timeout_in_millis:
            return min(integration.timeout_in_millis / 1000, MAX_INTEGRATION_TIMEOUT_SECONDS)
        return MAX_INTEGRATION_TIMEOUT_SECONDS

    def _lambda(
        self, integration: IntegrationSpec, context: EventContext, admitted: Admitted
    ) -> HttpResponse:
        try:
            arn = function_arn(integration.uri, dict(context.stage.stage_variables))
        except IntegrationConfigError as error:
            log.error("integration %s cannot be called: %s", integration.id, error)
            return internal_error()
        version = integration.payload_format_version
        event: dict[str, Any]
        if version == "2.0":
            event = build_v2_event(context, admitted.for_v2())
        elif version == "1.0":
            event = build_v1_event(context, admitted.for_v1())
        else:
            log.error("integration %s has payload format %r", integration.id, version)
            return internal_error()
        payload = json.dumps(event).encode("utf-8")
        timeout = self._timeout(integration)
        try:
            result = call_with_timeout(
                lambda: self._invoker.invoke(arn, payload, context.ids.trace_id), timeout
            )
        except IntegrationTimeout:
            log.warning("Lambda integration timed out after %.3f s: %s", timeout, arn)
            return error_response(503, "Service Unavailable")
        except LambdaRejected as error:
            log.error("Lambda refused the invocation of %s: %s", arn, error)
            return internal_error()
        if result.function_error:
            log.warning(
                "Lambda function error (%s): %s",
                result.function_error,
                result.payload[:1000].decode("utf-8", errors="replace"),
            )
            return internal_error()
        try:
            if version == "2.0":
                return map_v2_response(result.payload)
            return map_v1_response(result.payload)
        except MalformedResponse as error:
            log.warning("malformed Lambda response from %s: %s", arn, error)
            return internal_error()
