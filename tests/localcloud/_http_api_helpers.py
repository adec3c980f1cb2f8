"""Helpers of the HTTP API tests: an in-memory API catalog, a scripted Lambda, a request maker.

The unit-level tests drive :class:`HttpApiGateway` directly with these stand-ins; the end to
end tests use the local cloud (moto's control plane, real Lambda processes).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from localcloud.apigateway.lambda_invoker import InvocationResult
from localcloud.apigatewayv2.gateway import HttpApiGateway
from localcloud.apigatewayv2.messages import HttpRequest, HttpResponse
from localcloud.apigatewayv2.model import (
    AuthorizerSpec,
    CorsSpec,
    HttpApiSpec,
    IntegrationSpec,
    RouteSpec,
    StageSpec,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "abcdefgh"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def invocation_uri(name: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{function_arn(name)}/invocations"
    )


@dataclass
class ScriptedLambda:
    """A Lambda port whose functions are Python callables: ``{name: fn(event) -> answer}``.

    An answer that is :class:`InvocationResult` is returned as is; anything else is JSON.
    Every invocation is recorded as ``(function name, event)``.
    """

    functions: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(
        self, function_arn: str, payload: bytes, trace_header: str | None = None
    ) -> InvocationResult:
        name = function_arn.rsplit(":function:", 1)[1].split(":")[0]
        event = json.loads(payload)
        with self._lock:
            self.calls.append((name, event))
        answer = self.functions[name](event)
        if isinstance(answer, InvocationResult):
            return answer
        return InvocationResult(json.dumps(answer).encode())

    def events_of(self, name: str) -> list[dict[str, Any]]:
        return [event for called, event in self.calls if called == name]


class StaticCatalog:
    """An :class:`HttpApiCatalog` holding the APIs it was given."""

    def __init__(self, *apis: HttpApiSpec) -> None:
        self.apis = {api.api_id: api for api in apis}

    def find_api(self, api_id: str) -> HttpApiSpec | None:
        return self.apis.get(api_id)


def lambda_route(
    route_key: str,
    function: str,
    *,
    payload_format_version: str = "2.0",
    authorizer_id: str | None = None,
    authorization_type: str = "NONE",
    scopes: Sequence[str] = (),
    timeout_in_millis: int | None = None,
) -> tuple[RouteSpec, IntegrationSpec]:
    """A route and its AWS_PROXY integration to ``function``."""
    integration_id = f"i-{abs(hash((route_key, function))) % 10**8}"
    integration = IntegrationSpec(
        id=integration_id,
        type="AWS_PROXY",
        uri=invocation_uri(function),
        payload_format_version=payload_format_version,
        timeout_in_millis=timeout_in_millis,
    )
    route = RouteSpec(
        id=f"r-{integration_id}",
        route_key=route_key,
        target=f"integrations/{integration_id}",
        authorization_type=authorization_type,
        authorizer_id=authorizer_id,
        authorization_scopes=tuple(scopes),
    )
    return route, integration


def make_api(
    routes: Sequence[tuple[RouteSpec, IntegrationSpec]],
    *,
    stages: Sequence[StageSpec] = (StageSpec("$default"),),
    authorizers: Sequence[AuthorizerSpec] = (),
    cors: CorsSpec | None = None,
    api_id: str = API_ID,
    disabled: bool = False,
) -> HttpApiSpec:
    return HttpApiSpec(
        api_id=api_id,
        region=REGION,
        account_id=ACCOUNT,
        routes=tuple(route for route, _ in routes),
        integrations={integration.id: integration for _, integration in routes},
        authorizers={a.id: a for a in authorizers},
        stages={stage.name: stage for stage in stages},
        cors=cors,
        execute_api_endpoint_disabled=disabled,
    )


def make_gateway(
    api: HttpApiSpec,
    functions: Mapping[str, Callable[[dict[str, Any]], Any]],
    fetch_json: Callable[[str], Any] | None = None,
) -> tuple[HttpApiGateway, ScriptedLambda]:
    invoker = ScriptedLambda(dict(functions))

    def no_fetch(url: str) -> Any:
        raise AssertionError(f"unexpected fetch of {url}")

    gateway = HttpApiGateway(StaticCatalog(api), invoker, fetch_json or no_fetch)
    return gateway, invoker


def request(
    method: str,
    target: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    source_ip: str = "198.51.100.7",
) -> HttpRequest:
    """A request to ``target`` (the part of the URL after the API id, query string included)."""
    raw_path, _, query = target.partition("?")
    return HttpRequest(
        method=method,
        path=unquote(raw_path),
        raw_path=raw_path,
        query_string=query,
        headers=tuple(headers),
        body=body,
        source_ip=source_ip,
    )


def json_body(response: HttpResponse) -> Any:
    return json.loads(response.body)


def echo(event: dict[str, Any]) -> dict[str, Any]:
    """A 2.0 handler answering its event as JSON."""
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(event),
    }
