"""One request through a REST API: stage, route, guard, integration, response.

The status codes and messages are API Gateway's own (Lambda developer guide, "Handling Lambda
errors with an API Gateway API"): Lambda refusing or throttling the invoke is a 500, a function
error or a malformed proxy response is a 502, both with ``{"message": "Internal server
error"}``; an integration slower than the timeout is a 504. Each of these errors is a
:class:`~.gateway_responses.GatewayError` of its response type, answered as the API's gateway
responses say (:mod:`.gateway_responses`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from localcloud.apigateway import gateway_responses, integrations
from localcloud.apigateway.authorizers import Admitted, Authorizers
from localcloud.apigateway.authorizers import configuration_error as authorizer_configuration_error
from localcloud.apigateway.config import GatewayLimits
from localcloud.apigateway.gateway_responses import ErrorContext, GatewayError
from localcloud.apigateway.http_integration import over_the_network
from localcloud.apigateway.integration_uri import IntegrationConfigError, lambda_function_arn
from localcloud.apigateway.lambda_invoker import (
    InvocationResult,
    LambdaInvoker,
    LambdaRejected,
    LambdaThrottled,
)
from localcloud.apigateway.messages import HttpRequest, HttpResponse, gateway_error
from localcloud.apigateway.mock_integration import MockConfigError, UnsupportedMock, mock_response
from localcloud.apigateway.model import ApiCatalog, DeployedStage, MethodSpec
from localcloud.apigateway.proxy_event import RequestIds, build_proxy_event, trace_id_for
from localcloud.apigateway.responses import MalformedProxyResponse, map_proxy_response
from localcloud.apigateway.routing import RouteMatch, route, split_stage_path
from localcloud.apigateway.usage_plans import UsageControl
from localcloud.apigateway.validation import validate_request
from localcloud.settings import EXECUTE_API_PREFIX

log = logging.getLogger("localcloud.apigateway")

_T = TypeVar("_T")

INTERNAL_ERROR = "Internal server error"
INTERNAL_ERROR_TYPE = "InternalServerErrorException"


def _api_configuration_error() -> GatewayError:
    return GatewayError(
        gateway_responses.API_CONFIGURATION_ERROR, 500, INTERNAL_ERROR, INTERNAL_ERROR_TYPE
    )


def _integration_failure() -> GatewayError:
    # INTEGRATION_FAILURE's table status is 504, but the built-in answer to a refused or
    # throttled invoke is 500; a customisation without a status code answers 504.
    return GatewayError(
        gateway_responses.INTEGRATION_FAILURE, 500, INTERNAL_ERROR, INTERNAL_ERROR_TYPE
    )


def _bad_lambda_answer() -> GatewayError:
    # A function error or malformed proxy response has no response type of its own: only a
    # customised DEFAULT_5XX changes this 502.
    return GatewayError(gateway_responses.DEFAULT_5XX, 502, INTERNAL_ERROR, INTERNAL_ERROR_TYPE)


# https://{api_id}.execute-api.{region}.amazonaws.com, the public host of a REST API.
EXECUTE_API_HOST = re.compile(r"(?P<api_id>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com")
# How many local APIs deep HTTP integrations may call each other before the loop is refused.
MAX_LOCAL_DEPTH = 8
_LOCAL_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("local_depth", default=0)


class IntegrationTimeout(Exception):
    pass


def call_with_timeout(function: Callable[[], _T], timeout: float) -> _T:
    """``function()``, or :class:`IntegrationTimeout` after ``timeout`` seconds.

    The call keeps running in its daemon thread after a timeout, as the Lambda invocation
    keeps running on AWS after API Gateway gave up on it. It runs in a copy of the caller's
    context, so context variables (the local call depth) follow it.
    """
    future: Future[_T] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            future.set_result(context.run(function))
        except BaseException as error:  # handed to the waiting request thread
            future.set_exception(error)

    threading.Thread(target=run, name="localcloud-apigw-integration", daemon=True).start()
    try:
        return future.result(timeout=timeout)
    except TimeoutError as error:
        raise IntegrationTimeout from error


def unsupported(what: str, request: HttpRequest, stage: DeployedStage) -> HttpResponse:
    """A 500 naming what the local cloud cannot do, rather than skipping it silently."""
    message = (
        f"localcloud does not support {what} yet "
        f"({request.method} {request.path} on {stage.api_id}/{stage.stage_name})"
    )
    log.error("%s", message)
    return gateway_error(500, message, "InternalServerErrorException")


class Gateway:
    """The REST API data plane, independent of WSGI and of moto."""

    def __init__(
        self,
        catalog: ApiCatalog,
        invoker: LambdaInvoker,
        forwarded_port: str = "443",
        forwarded_proto: str = "https",
    ) -> None:
        self._catalog = catalog
        self._invoker = invoker
        self._forwarded_port = forwarded_port
        self._forwarded_proto = forwarded_proto
        self._authorizers = Authorizers()
        self._usage = UsageControl()

    def handle(
        self,
        api_id: str,
        stage_name: str | None,
        request: HttpRequest,
        limits: GatewayLimits | None = None,
    ) -> HttpResponse:
        limits = limits or GatewayLimits.from_env()
        ids = RequestIds(trace_id=trace_id_for(request))
        response = self._respond(api_id, stage_name, request, limits, ids)
        own = [
            ("x-amzn-RequestId", ids.request_id),
            ("x-amz-apigw-id", ids.extended_request_id),
            ("X-Amzn-Trace-Id", ids.trace_id),
        ]
        # This request's ids win over any a backend answered (another API it proxied to).
        names = {name.lower() for name, _ in own}
        response.headers = [(k, v) for k, v in response.headers if k.lower() not in names] + own
        return response

    def _respond(
        self,
        api_id: str,
        stage_name: str | None,
        request: HttpRequest,
        limits: GatewayLimits,
        ids: RequestIds,
    ) -> HttpResponse:
        if len(request.body) > limits.max_request_body_bytes:
            # REQUEST_TOO_LARGE, which REST APIs do not let an API customise.
            return gateway_error(413, "Request Too Long")
        stage = self._catalog.find_stage(api_id, stage_name) if stage_name else None
        if stage is None:
            # AWS says no more than "Forbidden"; the local log says why, to save a search.
            # No stage, no deployment: no gateway response of the API applies.
            log.info("403 Forbidden: no REST API %s with a stage %r", api_id, stage_name)
            return gateway_error(403, "Forbidden", "ForbiddenException")
        path_parameters: dict[str, str] = {}
        outcome = self._in_stage(request, stage, limits, ids, path_parameters)
        if isinstance(outcome, HttpResponse):
            return outcome
        context = ErrorContext(
            request=request,
            request_id=ids.request_id,
            extended_request_id=ids.extended_request_id,
            api_id=stage.api_id,
            stage=stage.stage_name,
            stage_variables=stage.stage_variables,
            path_parameters=path_parameters,
        )
        return gateway_responses.render(outcome, stage.gateway_responses, context)

    def _in_stage(
        self,
        request: HttpRequest,
        stage: DeployedStage,
        limits: GatewayLimits,
        ids: RequestIds,
        path_parameters: dict[str, str],
    ) -> HttpResponse | GatewayError:
        """The answer of the stage: a response, or an error its gateway responses shape.

        ``path_parameters`` is filled once the route is known (gateway responses may use them).
        """
        found = route(stage.resources, request.segments, request.method)
        if found is None:
            log.info(
                "403 Missing Authentication Token: no method answers %s %s on %s/%s (routes: %s)",
                request.method,
                request.path,
                stage.api_id,
                stage.stage_name,
                ", ".join(
                    f"{name} {resource.path}"
                    for resource in stage.resources
                    for name in resource.methods
                )
                or "none",
            )
            return GatewayError(
                gateway_responses.MISSING_AUTHENTICATION_TOKEN,
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
            )
        match, method = found
        path_parameters.update(match.path_parameters)
        admitted = self._guard(request, stage, match, method, limits, ids)
        if not isinstance(admitted, Admitted):
            return admitted
        # After authorization, API key and throttling, before any integration (AWS's order).
        invalid = validate_request(request, method, match.path_parameters, stage.models)
        if invalid is not None:
            return invalid
        integration = method.integration
        if integration is None:
            log.error("no integration on %s %s", method.http_method, match.resource.path)
            return _api_configuration_error()
        if integration.type == "AWS_PROXY":
            return self._lambda_proxy(
                request, stage, match, method, limits, ids, admitted.request_context
            )
        if integration.type == "MOCK":
            try:
                return mock_response(integration, request.header("Content-Type"))
            except UnsupportedMock as error:
                return unsupported(str(error), request, stage)
            except MockConfigError as error:
                log.error("Execution failed due to configuration error: %s", error)
                return _api_configuration_error()
        if integration.type in integrations.SUPPORTED:  # HTTP, HTTP_PROXY, AWS
            return integrations.call_integration(
                request,
                stage,
                match,
                method,
                limits,
                ids,
                forwarded_port=self._forwarded_port,
                forwarded_proto=self._forwarded_proto,
                local=self.dispatch_local,
                authorizer_context=admitted.request_context,
            )
        return unsupported(f"integration type {integration.type}", request, stage)

    def dispatch_local(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> HttpResponse | GatewayError | None:
        """An HTTP integration's call to ``https://{api}.execute-api.{region}.amazonaws.com/...``
        of an API this local cloud serves: a REST API answers in-process, an HTTP API (v2)
        through the local endpoint; None for any other URL (it goes out over the network).

        On AWS that host is public; here it resolves to nothing (or to real AWS), so a stack
        whose API proxies to another of its APIs would not work offline without this.
        """
        parts = urlsplit(url)
        found = EXECUTE_API_HOST.fullmatch((parts.hostname or "").lower())
        if found is None:
            return None
        if not self._catalog.has_api(found.group("api_id")):
            if not self._catalog.has_http_api(found.group("api_id")):
                return None
            # An HTTP API: its own data plane answers on this local cloud's endpoint.
            local_url = urlunsplit(
                (
                    self._forwarded_proto,
                    f"127.0.0.1:{self._forwarded_port}",
                    f"{EXECUTE_API_PREFIX}/{found.group('api_id')}{parts.path}",
                    parts.query,
                    "",
                )
            )
            log.info("HTTP integration to local HTTP API: %s %s -> %s", method, url, local_url)
            return over_the_network(method, local_url, headers, body, timeout)
        depth = _LOCAL_DEPTH.get()
        if depth >= MAX_LOCAL_DEPTH:
            # On AWS such a loop ends when the outermost call times out: answer that at once.
            log.error("HTTP integrations loop between local APIs (%d calls deep): %s", depth, url)
            return GatewayError(
                gateway_responses.INTEGRATION_TIMEOUT, 504, "Endpoint request timed out"
            )
        stage, path, segments = split_stage_path(parts.path.lstrip("/"))
        inner = HttpRequest(
            method=method,
            path=path,
            segments=segments,
            query_string=parts.query,
            headers=(("Host", parts.netloc), *headers.items()),
            body=body,
        )

        def call() -> HttpResponse:
            token = _LOCAL_DEPTH.set(depth + 1)
            try:
                return self.handle(found.group("api_id"), stage, inner)
            finally:
                _LOCAL_DEPTH.reset(token)

        log.info("HTTP integration to local API %s: %s %s", found.group("api_id"), method, url)
        try:
            return call_with_timeout(call, timeout)
        except IntegrationTimeout:
            log.warning(
                "Execution failed due to a timeout error (%.3f s): %s %s", timeout, method, url
            )
            return GatewayError(
                gateway_responses.INTEGRATION_TIMEOUT, 504, "Endpoint request timed out"
            )

    def _guard(
        self,
        request: HttpRequest,
        stage: DeployedStage,
        match: RouteMatch,
        method: MethodSpec,
        limits: GatewayLimits,
        ids: RequestIds,
    ) -> HttpResponse | GatewayError | Admitted:
        """Authorizer, API key, usage plan and stage throttling, in API Gateway's order.

        Never lets a call through a guard the local cloud does not implement (IAM, Cognito).
        """
        authorization = (method.authorization_type or "NONE").upper()
        admitted = Admitted(request_context=None)
        if authorization == "CUSTOM":
            authorizer = stage.authorizers.get(method.authorizer_id or "")
            if authorizer is None or authorizer.type not in ("TOKEN", "REQUEST"):
                log.error(
                    "Execution failed due to configuration error: no Lambda authorizer %s",
                    method.authorizer_id,
                )
                return authorizer_configuration_error()
            proxy_event = build_proxy_event(
                request,
                stage=stage,
                resource=match.resource,
                path_parameters=match.path_parameters,
                ids=ids,
                forwarded_port=self._forwarded_port,
                forwarded_proto=self._forwarded_proto,
                operation_name=method.operation_name,
            )

            def invoke(function_arn: str, payload: bytes) -> InvocationResult:
                return call_with_timeout(
                    lambda: self._invoker.invoke(function_arn, payload, ids.trace_id),
                    limits.integration_timeout_seconds,
                )

            outcome = self._authorizers.authorize(authorizer, request, stage, proxy_event, invoke)
            if isinstance(outcome, GatewayError):
                return outcome
            admitted = outcome
        elif authorization != "NONE":
            detail = f" (authorizer {method.authorizer_id})" if method.authorizer_id else ""
            return unsupported(f"authorization type {authorization}{detail}", request, stage)
        http_method = method.http_method.upper()
        if http_method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
            http_method = "ANY"
        if method.api_key_required:
            refusal = self._usage.check_api_key(
                request, stage, admitted.usage_identifier_key, match.resource.path, http_method
            )
            if refusal is not None:
                return refusal
        throttled = self._usage.check_method_throttle(stage, match.resource.path, http_method)
        return admitted if throttled is None else throttled

    def _lambda_proxy(
        self,
        request: HttpRequest,
        stage: DeployedStage,
        match: RouteMatch,
        method: MethodSpec,
        limits: GatewayLimits,
        ids: RequestIds,
        authorizer_context: dict[str, Any] | None = None,
    ) -> HttpResponse | GatewayError:
        integration = method.integration
        assert integration is not None  # checked by the caller
        try:
            function_arn = lambda_function_arn(integration.uri, stage.stage_variables)
        except IntegrationConfigError as error:
            log.error("Execution failed due to configuration error: %s", error)
            return _api_configuration_error()
        event = build_proxy_event(
            request,
            stage=stage,
            resource=match.resource,
            path_parameters=match.path_parameters,
            ids=ids,
            forwarded_port=self._forwarded_port,
            forwarded_proto=self._forwarded_proto,
            operation_name=method.operation_name,
        )
        if authorizer_context is not None:
            # A Lambda authorizer's principalId and context, as requestContext.authorizer.
            event["requestContext"]["authorizer"] = authorizer_context
        payload = json.dumps(event).encode("utf-8")
        timeout = limits.integration_timeout_seconds
        if integration.timeout_in_millis:
            # The method's own timeout, capped by the account-wide one.
            timeout = min(timeout, integration.timeout_in_millis / 1000)
        try:
            result = call_with_timeout(
                lambda: self._invoker.invoke(function_arn, payload, ids.trace_id), timeout
            )
        except IntegrationTimeout:
            log.warning(
                "Execution failed due to a timeout error (%.3f s): %s", timeout, function_arn
            )
            return GatewayError(
                gateway_responses.INTEGRATION_TIMEOUT, 504, "Endpoint request timed out"
            )
        except LambdaThrottled as error:
            log.warning("Lambda throttled the invocation of %s: %s", function_arn, error)
            return _integration_failure()
        except LambdaRejected as error:
            log.error("Lambda invocation of %s failed: %s", function_arn, error)
            return _integration_failure()
        if result.function_error:
            log.warning(
                "Lambda execution failed with status 200 due to customer function error (%s): %s",
                result.function_error,
                result.payload[:1000].decode("utf-8", errors="replace"),
            )
            return _bad_lambda_answer()
        try:
            return map_proxy_response(
                result.payload,
                binary_media_types=stage.binary_media_types,
                accept=request.header("Accept"),
            )
        except MalformedProxyResponse as error:
            log.warning(
                "Execution failed due to configuration error: Malformed Lambda proxy response: %s",
                error,
            )
            return _bad_lambda_answer()
