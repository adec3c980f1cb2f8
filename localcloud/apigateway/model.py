"""The deployed API as the data plane needs it, and the port that provides it.

These plain values are read from moto's control plane by :mod:`.moto_catalog`; routing, event
building and the gateway itself only ever see them, so they can be tested without moto.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class IntegrationResponseSpec:
    """One ``x-amazon-apigateway-integration.responses`` entry (MOCK, HTTP and AWS)."""

    status_code: str
    selection_pattern: str | None = None
    response_parameters: Mapping[str, str] = field(default_factory=dict)
    response_templates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IntegrationSpec:
    """How a method reaches its backend."""

    type: str
    uri: str | None = None
    timeout_in_millis: int | None = None
    request_templates: Mapping[str, str] = field(default_factory=dict)
    responses: tuple[IntegrationResponseSpec, ...] = ()
    # Non-proxy and HTTP integrations: the backend's method, how bodies without a template go
    # (WHEN_NO_MATCH, WHEN_NO_TEMPLATES, NEVER), integration.request.* from method.request.*.
    http_method: str | None = None
    passthrough_behavior: str | None = None
    request_parameters: Mapping[str, str] = field(default_factory=dict)
    credentials: str | None = None


@dataclass(frozen=True)
class RequestValidatorSpec:
    """A request validator of the API (CreateRequestValidator or
    ``x-amazon-apigateway-request-validators``): what it checks before the integration."""

    validate_body: bool = False
    validate_parameters: bool = False


@dataclass(frozen=True)
class MethodSpec:
    """One HTTP method of a resource, with what guards it and where it goes.

    ``request_parameters`` maps ``method.request.{querystring|header|path}.{name}`` to whether
    it is required; ``request_models`` maps a content type (or ``$default``) to a model name.
    """

    http_method: str
    authorization_type: str | None = "NONE"
    authorizer_id: str | None = None
    api_key_required: bool = False
    operation_name: str | None = None
    integration: IntegrationSpec | None = None
    request_parameters: Mapping[str, bool] = field(default_factory=dict)
    request_models: Mapping[str, str] = field(default_factory=dict)
    request_validator: RequestValidatorSpec | None = None


@dataclass(frozen=True)
class ResourceSpec:
    """A resource: its full path template (``/items/{id}``) and its methods by name."""

    id: str
    path: str
    methods: Mapping[str, MethodSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayResponseSpec:
    """A customised gateway response (PutGatewayResponse or the OpenAPI extension
    ``x-amazon-apigateway-gateway-responses``).

    ``status_code`` is None when the customisation keeps the type's status;
    ``response_parameters`` maps ``gatewayresponse.header.{name}`` to a value expression.
    """

    response_type: str
    status_code: str | None = None
    response_parameters: Mapping[str, str] = field(default_factory=dict)
    response_templates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthorizerSpec:
    """A Lambda (TOKEN or REQUEST) authorizer of the API, as CreateAuthorizer stores it.

    ``identity_source`` is the comma-separated list of mapping expressions
    (``method.request.header.Authorization``...); ``result_ttl_seconds`` 0 disables caching.
    """

    id: str
    name: str
    type: str
    authorizer_uri: str | None = None
    identity_source: str | None = None
    identity_validation_expression: str | None = None
    result_ttl_seconds: int = 300


@dataclass(frozen=True)
class ThrottleSpec:
    """A token bucket: ``rate_limit`` requests per second refill it, ``burst_limit`` its size."""

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class ApiKeySpec:
    id: str
    value: str
    enabled: bool = True


@dataclass(frozen=True)
class UsagePlanSpec:
    """A usage plan that includes this API stage, with the API keys associated to it.

    ``quota_period`` is DAY, WEEK or MONTH; ``throttle`` and the quota are optional.
    """

    id: str
    keys: tuple[ApiKeySpec, ...] = ()
    throttle: ThrottleSpec | None = None
    # The plan's per-method throttles of this stage, by "{resource path}/{METHOD}".
    method_throttles: Mapping[str, ThrottleSpec] = field(default_factory=dict)
    quota_limit: int | None = None
    quota_period: str | None = None


@dataclass(frozen=True)
class DeployedStage:
    """A stage of a REST API, with everything a request to it needs."""

    account_id: str
    region: str
    api_id: str
    stage_name: str
    resources: tuple[ResourceSpec, ...]
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()
    deployment_id: str | None = None
    # By response type (MISSING_AUTHENTICATION_TOKEN, DEFAULT_4XX...): only the customised ones.
    gateway_responses: Mapping[str, GatewayResponseSpec] = field(default_factory=dict)
    # By authorizer id.
    authorizers: Mapping[str, AuthorizerSpec] = field(default_factory=dict)
    # HEADER (x-api-key) or AUTHORIZER (the authorizer's usageIdentifierKey).
    api_key_source: str = "HEADER"
    usage_plans: tuple[UsagePlanSpec, ...] = ()
    # The stage's method throttling by GetStage methodSettings key ("*/*", "~1items/GET").
    method_throttles: Mapping[str, ThrottleSpec] = field(default_factory=dict)
    # The API's models: name -> JSON schema (draft 4) text, for request body validation.
    models: Mapping[str, str] = field(default_factory=dict)


class ApiCatalog(Protocol):
    """Where the data plane finds deployed APIs."""

    def find_stage(self, api_id: str, stage_name: str) -> DeployedStage | None:
        """The stage, or None when the API or the stage does not exist (or is not invokable)."""
        ...

    def has_api(self, api_id: str) -> bool:
        """Whether a REST API of this id exists here (whatever its stages)."""
        ...

    def has_http_api(self, api_id: str) -> bool:
        """Whether an HTTP API (v2) of this id exists on the local cloud (another data plane
        serves it, at the same execute-api URL)."""
        ...
