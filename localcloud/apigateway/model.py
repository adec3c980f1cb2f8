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
    """One ``x-amazon-apigateway-integration.responses`` entry (used by MOCK integrations)."""

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


@dataclass(frozen=True)
class MethodSpec:
    """One HTTP method of a resource, with what guards it and where it goes."""

    http_method: str
    authorization_type: str | None = "NONE"
    authorizer_id: str | None = None
    api_key_required: bool = False
    operation_name: str | None = None
    integration: IntegrationSpec | None = None


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


class ApiCatalog(Protocol):
    """Where the data plane finds deployed APIs."""

    def find_stage(self, api_id: str, stage_name: str) -> DeployedStage | None:
        """The stage, or None when the API or the stage does not exist (or is not invokable)."""
        ...
