"""Dispatch of the non-Lambda integrations: ``HTTP``, ``HTTP_PROXY`` and ``AWS``.

The gateway hands over the routed request; this module builds what mapping templates see
(``$context`` is the proxy event's ``requestContext``), applies the method's timeout and turns
mapping failures into API Gateway's answers: a Content-Type without template under a strict
``passthroughBehavior`` is 415 ``UNSUPPORTED_MEDIA_TYPE``; a configuration error (URI variable
without value, no integration response for the status, unsupported parameter source) is 500
``API_CONFIGURATION_ERROR``; a template the local cloud cannot evaluate is a 500 naming it.
"""

from __future__ import annotations

import logging
from typing import Any

from localcloud.apigateway import gateway_responses
from localcloud.apigateway.aws_integration import call_aws
from localcloud.apigateway.config import GatewayLimits
from localcloud.apigateway.gateway_responses import GatewayError
from localcloud.apigateway.http_integration import LocalDispatch, call_http
from localcloud.apigateway.integration_uri import IntegrationConfigError
from localcloud.apigateway.mapping import MappingConfigError, MethodRequest, UnsupportedMediaType
from localcloud.apigateway.messages import HttpRequest, HttpResponse, gateway_error
from localcloud.apigateway.model import DeployedStage, MethodSpec
from localcloud.apigateway.proxy_event import RequestIds, build_proxy_event
from localcloud.apigateway.routing import RouteMatch
from localcloud.apigateway.vtl import VtlError

log = logging.getLogger("localcloud.apigateway")

SUPPORTED = frozenset({"HTTP", "HTTP_PROXY", "AWS"})


def call_integration(
    request: HttpRequest,
    stage: DeployedStage,
    match: RouteMatch,
    method: MethodSpec,
    limits: GatewayLimits,
    ids: RequestIds,
    *,
    forwarded_port: str,
    forwarded_proto: str,
    local: LocalDispatch | None = None,
    authorizer_context: dict[str, Any] | None = None,
) -> HttpResponse | GatewayError:
    """The answer of the method's ``HTTP``, ``HTTP_PROXY`` or ``AWS`` integration.

    ``authorizer_context`` (a Lambda authorizer's principalId and context) is
    ``$context.authorizer`` of the templates and ``context.authorizer.*`` of the parameters.
    """
    integration = method.integration
    assert integration is not None
    assert integration.type in SUPPORTED
    event = build_proxy_event(
        request,
        stage=stage,
        resource=match.resource,
        path_parameters=match.path_parameters,
        ids=ids,
        forwarded_port=forwarded_port,
        forwarded_proto=forwarded_proto,
        operation_name=method.operation_name,
    )
    if authorizer_context is not None:
        event["requestContext"]["authorizer"] = authorizer_context
    method_request = MethodRequest(
        request=request,
        path_parameters=match.path_parameters,
        context=event["requestContext"],
        stage_variables=stage.stage_variables,
    )
    timeout = limits.integration_timeout_seconds
    if integration.timeout_in_millis:
        timeout = min(timeout, integration.timeout_in_millis / 1000)
    try:
        if integration.type == "AWS":
            endpoint = f"{forwarded_proto}://127.0.0.1:{forwarded_port}"
            return call_aws(integration, method_request, endpoint, timeout)
        return call_http(integration, method_request, timeout, ids.trace_id, local)
    except UnsupportedMediaType as error:
        log.info("415 Unsupported Media Type: %s", error)
        return GatewayError(
            "UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported Media Type", "UnsupportedMediaTypeException"
        )
    except (MappingConfigError, IntegrationConfigError) as error:
        log.error("Execution failed due to configuration error: %s", error)
        return GatewayError(
            gateway_responses.API_CONFIGURATION_ERROR,
            500,
            "Internal server error",
            "InternalServerErrorException",
        )
    except VtlError as error:
        message = (
            f"localcloud cannot evaluate the mapping template of {method.http_method} "
            f"{match.resource.path} on {stage.api_id}/{stage.stage_name}: {error}"
        )
        log.error("%s", message)
        return gateway_error(500, message, "InternalServerErrorException")
