"""What the HTTP API data plane needs of a deployed API, free of moto.

The gateway reads one :class:`HttpApiSpec` per request from an :class:`HttpApiCatalog`, so a
change made through the control plane (a stack update, ``UpdateRoute``) is served at once,
as a stage with ``autoDeploy`` serves it on AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class IntegrationSpec:
    id: str
    type: str  # AWS_PROXY, HTTP_PROXY, ...
    uri: str | None
    method: str | None = None
    payload_format_version: str = "2.0"
    subtype: str | None = None
    timeout_in_millis: int | None = None
    request_parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthorizerSpec:
    id: str
    name: str
    type: str  # REQUEST (Lambda) or JWT
    uri: str | None = None
    payload_format_version: str = "2.0"
    simple_responses: bool = False
    identity_source: tuple[str, ...] = ()
    ttl_seconds: int = 0
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteSpec:
    id: str
    route_key: str  # "GET /items/{id}", "ANY /{proxy+}" or "$default"
    target: str | None  # "integrations/{id}"
    authorization_type: str = "NONE"  # NONE, CUSTOM, JWT, AWS_IAM
    authorizer_id: str | None = None
    authorization_scopes: tuple[str, ...] = ()

    @property
    def integration_id(self) -> str | None:
        if self.target and self.target.startswith("integrations/"):
            return self.target.split("/", 1)[1]
        return None


@dataclass(frozen=True)
class ThrottleSettings:
    burst_limit: int | None = None
    rate_limit: float | None = None


@dataclass(frozen=True)
class StageSpec:
    name: str
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    default_throttle: ThrottleSettings = ThrottleSettings()
    # Route key -> that route's own throttle (RouteSettings).
    route_throttles: Mapping[str, ThrottleSettings] = field(default_factory=dict)

    def throttle_for(self, route_key: str) -> ThrottleSettings:
        own = self.route_throttles.get(route_key)
        if own is None:
            return self.default_throttle
        return ThrottleSettings(
            burst_limit=own.burst_limit
            if own.burst_limit is not None
            else self.default_throttle.burst_limit,
            rate_limit=own.rate_limit
            if own.rate_limit is not None
            else self.default_throttle.rate_limit,
        )


@dataclass(frozen=True)
class CorsSpec:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class HttpApiSpec:
    api_id: str
    region: str
    account_id: str
    routes: tuple[RouteSpec, ...]
    integrations: Mapping[str, IntegrationSpec]
    authorizers: Mapping[str, AuthorizerSpec]
    stages: Mapping[str, StageSpec]
    cors: CorsSpec | None = None
    execute_api_endpoint_disabled: bool = False


class HttpApiCatalog(Protocol):
    def find_api(self, api_id: str) -> HttpApiSpec | None:
        """The HTTP API of that id, or None when there is none."""
        ...


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(item) for item in value)


def throttle_settings(raw: Mapping[str, Any] | None) -> ThrottleSettings:
    raw = raw or {}
    burst = raw.get("throttlingBurstLimit")
    rate = raw.get("throttlingRateLimit")
    return ThrottleSettings(
        burst_limit=int(burst) if burst is not None else None,
        rate_limit=float(rate) if rate is not None else None,
    )


def cors_spec(raw: Mapping[str, Any] | None) -> CorsSpec | None:
    if not raw:
        return None
    max_age = raw.get("maxAge")
    credentials = raw.get("allowCredentials")
    return CorsSpec(
        allow_origins=_strings(raw.get("allowOrigins")),
        allow_methods=tuple(m.upper() for m in _strings(raw.get("allowMethods"))),
        allow_headers=tuple(h.lower() for h in _strings(raw.get("allowHeaders"))),
        expose_headers=_strings(raw.get("exposeHeaders")),
        allow_credentials=credentials is True or str(credentials).lower() == "true",
        max_age=int(max_age) if max_age is not None else None,
    )


def identity_sources(value: Any) -> tuple[str, ...]:
    return _strings(value)
