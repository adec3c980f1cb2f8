"""Reads deployed REST APIs out of moto's API Gateway control plane.

moto keeps no snapshot per deployment: a stage serves the API's current resources. That is
what a local loop wants (redeploying after every change is what `sam deploy` does anyway).

Structures read (moto 5.2.5, ``moto/apigateway/models.py``):
``apigateway_backends[account][region].apis[api_id]`` -> ``RestAPI`` with ``stages`` (``Stage``:
``variables``, ``deployment_id``), ``resources`` (``Resource``: ``path_part``, ``parent_id``,
``resource_methods`` -> ``Method``: ``authorization_type``, ``authorizer_id``,
``api_key_required``, ``operation_name``, ``method_integration`` -> ``Integration``:
``integration_type``, ``uri``, ``timeout_in_millis``, ``request_templates``,
``integration_responses`` -> ``IntegrationResponse``), ``binaryMediaTypes``,
``disableExecuteApiEndpoint`` and ``gateway_responses`` (by type -> ``GatewayResponse``:
``status_code``, ``response_parameters``, ``response_templates``; filled by PutGatewayResponse
and by the CloudFormation import of ``x-amazon-apigateway-gateway-responses``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from localcloud.apigateway.model import (
    DeployedStage,
    GatewayResponseSpec,
    IntegrationResponseSpec,
    IntegrationSpec,
    MethodSpec,
    ResourceSpec,
)


class MotoApiCatalog:
    """Finds an API in the local cloud's account, in its region first, then in any region."""

    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region

    def find_stage(self, api_id: str, stage_name: str) -> DeployedStage | None:
        api = self._find_api(api_id)
        if api is None or getattr(api, "disableExecuteApiEndpoint", False):
            # AWS answers 403 on the execute-api endpoint of an API that turned it off.
            return None
        stage = api.stages.get(stage_name)
        if stage is None:
            return None
        return DeployedStage(
            account_id=api.account_id,
            region=api.region_name,
            api_id=api.id,
            stage_name=stage_name,
            resources=_resources(api),
            stage_variables={str(k): str(v) for k, v in (stage.variables or {}).items()},
            binary_media_types=tuple(
                _unescape_media_type(t) for t in (api.binaryMediaTypes or []) if t
            ),
            deployment_id=stage.deployment_id,
            gateway_responses=_gateway_responses(api),
        )

    def _find_api(self, api_id: str) -> Any:
        from moto.apigateway.models import apigateway_backends

        home = apigateway_backends[self._account_id][self._region].apis.get(api_id)
        if home is not None:
            return home
        # Stack outputs name the region in the URL, but the local URL drops it: an API created
        # by a client configured for another region must still be reachable.
        for _, _, backend in list(apigateway_backends.iter_backends()):
            api = backend.apis.get(api_id)  # type: ignore[attr-defined]
            if api is not None:
                return api
        return None


def _unescape_media_type(media_type: str) -> str:
    # PATCH operations name media types in JSON-pointer form (image~1png); AWS stores image/png.
    return media_type.replace("~1", "/").replace("~0", "~")


def _resources(api: Any) -> tuple[ResourceSpec, ...]:
    resources = dict(api.resources)  # a snapshot: a deploy may be adding resources right now
    paths: dict[str, str] = {}

    def path_of(resource_id: str) -> str:
        if resource_id not in paths:
            resource = resources[resource_id]
            parent_id = resource.parent_id
            if not parent_id or parent_id not in resources:
                paths[resource_id] = "/"
            else:
                parent = path_of(parent_id)
                paths[resource_id] = f"{parent.rstrip('/')}/{resource.path_part}"
        return paths[resource_id]

    return tuple(
        ResourceSpec(
            id=resource_id,
            path=path_of(resource_id),
            methods={
                name: _method(name, method)
                for name, method in dict(resource.resource_methods).items()
            },
        )
        for resource_id, resource in resources.items()
    )


def _method(name: str, method: Any) -> MethodSpec:
    return MethodSpec(
        http_method=name,
        authorization_type=method.authorization_type,
        authorizer_id=method.authorizer_id,
        api_key_required=bool(method.api_key_required),
        operation_name=method.operation_name,
        integration=_integration(method.method_integration),
    )


def _integration(integration: Any) -> IntegrationSpec | None:
    if integration is None:
        return None
    timeout = integration.timeout_in_millis
    return IntegrationSpec(
        type=str(integration.integration_type or "").upper(),
        uri=integration.uri,
        timeout_in_millis=int(timeout) if timeout not in (None, "") else None,
        request_templates=dict(integration.request_templates or {}),
        responses=tuple(_integration_responses(integration.integration_responses or {})),
    )


def _integration_responses(responses: dict[str, Any]) -> Iterator[IntegrationResponseSpec]:
    for status_code, response in responses.items():
        yield IntegrationResponseSpec(
            status_code=str(status_code),
            selection_pattern=response.selection_pattern or None,
            response_parameters=dict(response.response_parameters or {}),
            response_templates=dict(response.response_templates or {}),
        )


def _gateway_responses(api: Any) -> dict[str, GatewayResponseSpec]:
    responses = dict(getattr(api, "gateway_responses", None) or {})
    return {
        str(response_type): GatewayResponseSpec(
            response_type=str(response_type),
            status_code=(
                str(response.status_code) if response.status_code not in (None, "") else None
            ),
            response_parameters={
                str(k): str(v) for k, v in (response.response_parameters or {}).items()
            },
            response_templates={
                str(k): str(v) for k, v in (response.response_templates or {}).items()
            },
        )
        for response_type, response in responses.items()
    }
