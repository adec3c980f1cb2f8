"""HTTP APIs as moto's apigatewayv2 backend holds them (created by the API or CloudFormation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.apigatewayv2.model import (
    AuthorizerSpec,
    HttpApiSpec,
    IntegrationSpec,
    RouteSpec,
    StageSpec,
    cors_spec,
    identity_sources,
    throttle_settings,
)


def _backend(account_id: str, region: str) -> Any:
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account_id][region]


def _as_bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _integration(raw: Any) -> IntegrationSpec:
    timeout = raw.timeout_in_millis
    return IntegrationSpec(
        id=raw.id,
        type=str(raw.integration_type or "").upper(),
        uri=raw.integration_uri,
        method=raw.integration_method,
        # CloudFormation requires it for Lambda; "1.0" is what the API assumes otherwise.
        payload_format_version=str(raw.payload_format_version or "1.0"),
        subtype=raw.integration_subtype,
        timeout_in_millis=int(timeout) if timeout else None,
        request_parameters=dict(raw.request_parameters or {}),
    )


def _authorizer(raw: Any) -> AuthorizerSpec:
    jwt = raw.jwt_config or {}
    ttl = raw.auth_result_ttl
    return AuthorizerSpec(
        id=raw.id,
        name=str(raw.name),
        type=str(raw.authorizer_type or "").upper(),
        uri=raw.authorizer_uri,
        payload_format_version=str(raw.auth_payload_format_version or "2.0"),
        simple_responses=_as_bool(raw.enable_simple_response),
        identity_source=identity_sources(raw.identity_source),
        ttl_seconds=int(ttl) if ttl not in (None, "") else 0,
        jwt_issuer=jwt.get("issuer"),
        jwt_audience=tuple(str(a) for a in jwt.get("audience") or ()),
    )


def _stage(raw: Any) -> StageSpec:
    route_settings: Mapping[str, Any] = raw.route_settings or {}
    return StageSpec(
        name=str(raw.name),
        stage_variables={str(k): str(v) for k, v in (raw.stage_variables or {}).items()},
        default_throttle=throttle_settings(raw.default_route_settings),
        route_throttles={key: throttle_settings(value) for key, value in route_settings.items()},
    )


def _route(raw: Any) -> RouteSpec:
    return RouteSpec(
        id=raw.route_id,
        route_key=str(raw.route_key),
        target=raw.target,
        authorization_type=str(raw.authorization_type or "NONE").upper(),
        authorizer_id=raw.authorizer_id,
        authorization_scopes=tuple(raw.authorization_scopes or ()),
    )


class MotoHttpApiCatalog:
    """Reads HTTP APIs of one account and region from moto, in this process."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    def find_api(self, api_id: str) -> HttpApiSpec | None:
        api = _backend(self.account_id, self.region).apis.get(api_id)
        if api is None or str(api.protocol_type or "HTTP").upper() != "HTTP":
            return None
        return HttpApiSpec(
            api_id=api.api_id,
            region=self.region,
            account_id=self.account_id,
            routes=tuple(_route(r) for r in list(api.routes.values())),
            integrations={i.id: _integration(i) for i in list(api.integrations.values())},
            authorizers={a.id: _authorizer(a) for a in list(api.authorizers.values())},
            stages={s.name: _stage(s) for s in list(api.stages.values())},
            cors=cors_spec(api.cors_configuration),
            execute_api_endpoint_disabled=_as_bool(api.disable_execute_api_endpoint),
        )
