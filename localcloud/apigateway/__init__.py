"""The API Gateway data plane of the local cloud: REST APIs (v1).

``ExecuteApiApp(settings)`` is the WSGI app the server mounts under ``/_aws/execute-api``.
Module by module: :mod:`.app` (WSGI glue), :mod:`.gateway` (the request pipeline, and HTTP
integrations to ``{api}.execute-api`` hosts of local APIs served in-process),
:mod:`.routing` (resource and method), :mod:`.authorizers` (Lambda TOKEN/REQUEST
authorizers), :mod:`.usage_plans` (API keys, usage plans, throttling), :mod:`.validation`
(request validators and models), :mod:`.proxy_event` (the v1 event), :mod:`.responses` (the
proxy response), :mod:`.integrations` with :mod:`.http_integration`,
:mod:`.aws_integration`, :mod:`.mapping` and :mod:`.vtl` (HTTP, HTTP_PROXY and AWS
integrations, Velocity mapping templates), :mod:`.gateway_responses` (the errors the gateway
answers itself, as the API customised them), :mod:`.lambda_invoker` (the Lambda port and its
moto adapter), :mod:`.moto_catalog` (deployed APIs read from moto), :mod:`.mock_integration`,
:mod:`.integration_uri` and :mod:`.config` (timeouts and size limits).
"""

from localcloud.apigateway.app import ExecuteApiApp
from localcloud.apigateway.config import (
    INTEGRATION_TIMEOUT_SECONDS,
    MAX_REQUEST_BODY_BYTES,
    GatewayLimits,
)

__all__ = [
    "INTEGRATION_TIMEOUT_SECONDS",
    "MAX_REQUEST_BODY_BYTES",
    "ExecuteApiApp",
    "GatewayLimits",
]
