"""Reads deployed REST APIs out of moto's API Gateway control plane.

moto keeps no snapshot per deployment: a stage serves the API's current resources. That is
what a local loop wants (redeploying after every change is what `sam deploy` does anyway).

Structures read (moto 5.2.5, ``moto/apigateway/models.py``):
``apigateway_backends[account][region].apis[api_id]`` -> ``RestAPI`` with ``stages`` (``Stage``:
``variables``, ``deployment_id``), ``resources`` (``Resource``: ``path_part``, ``parent_id``,
``resource_methods`` -> ``Method``: ``authorization_type``, ``authorizer_id``,
``api_key_required``, ``operation_name``, ``request_parameters``, ``request_models``,
``request_validator_id``, ``method_integration`` -> ``Integration``:
``integration_type``, ``uri``, ``timeout_in_millis``, ``request_templates``, ``http_method``,
``passthrough_behaviour``, ``request_parameters``, ``credentials``,
``integration_responses`` -> ``IntegrationResponse``), ``binaryMediaTypes``,
``disableExecuteApiEndpoint`` and ``gateway_responses`` (by type -> ``GatewayResponse``:
``status_code``, ``response_parameters``, ``response_templates``; filled by PutGatewayResponse
and by the CloudFormation import of ``x-amazon-apigateway-gateway-responses``), ``authorizers``
(``Authorizer``: ``type``, ``authorizer_uri``, ``identity_source``,
``identity_validation_expression``, ``authorizer_result_ttl``), ``request_validators``
(``RequestValidator``: ``validate_request_body``, ``validate_request_parameters``), ``models``
(``Model`` by name: ``schema``) and ``api_key_source``; stage
``method_settings`` (``throttlingRateLimit``/``throttlingBurstLimit`` by ``{path}/{METHOD}``).
The backend's ``usage_plans`` (``UsagePlan``: ``api_stages``, ``throttle``, ``quota``),
``usage_plan_keys[plan_id]`` (``UsagePlanKey`` by key id) and ``keys`` (``ApiKey``: ``value``,
``enabled``) give the usage plans of a stage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from localcloud.apigateway.model import (
    ApiKeySpec,
    AuthorizerSpec,
    DeployedStage,
    GatewayResponseSpec,
    IntegrationResponseSpec,
    IntegrationSpec,
    MethodSpec,
    RequestValidatorSpec,
    ResourceSpec,
    ThrottleSpec,
    UsagePlanSpec,
)


def keep_identity_validation_expression() -> None:
    """Make moto keep an authorizer's ``identityValidationExpression``.

    Replaces ``moto.apigateway.models.Authorizer.__init__`` (moto 5.2.5): CreateAuthorizer
    passes the keyword ``identiy_validation_expression`` (sic) while ``Authorizer`` reads
    ``identity_validation_expression``, so the expression is silently dropped and a TOKEN
    authorizer would accept tokens AWS refuses with 401. Idempotent.
    """
    from moto.apigateway.models import Authorizer

    original = Authorizer.__init__
    if getattr(original, "_localcloud_patched", False):
        return

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if "identity_validation_expression" not in kwargs:
            kwargs["identity_validation_expression"] = kwargs.get("identiy_validation_expression")
        original(self, *args, **kwargs)

    init._localcloud_patched = True  # type: ignore[attr-defined]
    Authorizer.__init__ = init  # type: ignore[method-assign]


class MotoApiCatalog:
    """Finds an API in the local cloud's account, in its region first, then in any region."""

    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region
        keep_identity_validation_expression()

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
            authorizers=_authorizers(api),
            api_key_source=str(getattr(api, "api_key_source", None) or "HEADER").upper(),
            usage_plans=_usage_plans(api, stage_name),
            method_throttles=_method_throttles(stage),
            models=_models(api),
        )

    def has_api(self, api_id: str) -> bool:
        return self._find_api(api_id) is not None

    def has_http_api(self, api_id: str) -> bool:
        from moto.apigatewayv2.models import apigatewayv2_backends

        return any(
            api_id in backend.apis  # type: ignore[attr-defined]
            for _, _, backend in list(apigatewayv2_backends.iter_backends())
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
    validators = _request_validators(api)
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
                name: _method(name, method, validators)
                for name, method in dict(resource.resource_methods).items()
            },
        )
        for resource_id, resource in resources.items()
    )


def _method(name: str, method: Any, validators: dict[str, RequestValidatorSpec]) -> MethodSpec:
    return MethodSpec(
        http_method=name,
        authorization_type=method.authorization_type,
        authorizer_id=method.authorizer_id,
        api_key_required=bool(method.api_key_required),
        operation_name=method.operation_name,
        integration=_integration(method.method_integration),
        request_parameters={
            str(k): _flag(v) for k, v in dict(method.request_parameters or {}).items()
        },
        request_models={str(k): str(v) for k, v in dict(method.request_models or {}).items()},
        request_validator=validators.get(str(method.request_validator_id or "")),
    )


def _flag(value: Any) -> bool:
    # CloudFormation hands booleans over as strings ("true") as often as not.
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _request_validators(api: Any) -> dict[str, RequestValidatorSpec]:
    return {
        str(validator_id): RequestValidatorSpec(
            validate_body=_flag(validator.validate_request_body),
            validate_parameters=_flag(validator.validate_request_parameters),
        )
        for validator_id, validator in dict(getattr(api, "request_validators", None) or {}).items()
    }


def _models(api: Any) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, model in dict(getattr(api, "models", None) or {}).items():
        schema = model.schema
        if isinstance(schema, dict):  # CloudFormation may give the schema as an object
            schema = json.dumps(schema)
        if schema:
            result[str(name)] = str(schema)
    return result


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
        http_method=integration.http_method or None,
        # moto spells the attribute the British way.
        passthrough_behavior=getattr(integration, "passthrough_behaviour", None) or None,
        request_parameters={
            str(k): str(v) for k, v in (integration.request_parameters or {}).items()
        },
        credentials=integration.credentials or None,
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


def _authorizers(api: Any) -> dict[str, AuthorizerSpec]:
    result: dict[str, AuthorizerSpec] = {}
    for authorizer_id, authorizer in dict(getattr(api, "authorizers", None) or {}).items():
        ttl = authorizer.authorizer_result_ttl
        result[str(authorizer_id)] = AuthorizerSpec(
            id=str(authorizer_id),
            name=str(authorizer.name or ""),
            type=str(authorizer.type or "TOKEN").upper(),
            authorizer_uri=authorizer.authorizer_uri,
            identity_source=authorizer.identity_source,
            identity_validation_expression=authorizer.identity_validation_expression or None,
            result_ttl_seconds=300 if ttl in (None, "") else int(ttl),
        )
    return result


def _throttle(settings: Any) -> ThrottleSpec | None:
    if not isinstance(settings, dict):
        return None
    rate = settings.get("rateLimit", settings.get("throttlingRateLimit"))
    burst = settings.get("burstLimit", settings.get("throttlingBurstLimit"))
    if rate in (None, "") and burst in (None, ""):
        return None
    return ThrottleSpec(
        rate_limit=float(rate) if rate not in (None, "") else 0.0,
        burst_limit=int(burst) if burst not in (None, "") else 0,
    )


def _method_throttles(stage: Any) -> dict[str, ThrottleSpec]:
    result: dict[str, ThrottleSpec] = {}
    for key, settings in dict(getattr(stage, "method_settings", None) or {}).items():
        throttle = _throttle(settings)
        if throttle is not None:
            result[str(key)] = throttle
    return result


def _usage_plans(api: Any, stage_name: str) -> tuple[UsagePlanSpec, ...]:
    from moto.apigateway.models import apigateway_backends

    backend = apigateway_backends[api.account_id][api.region_name]
    found = (
        _usage_plan(backend, plan, api.id, stage_name)
        for plan in list(backend.usage_plans.values())
    )
    return tuple(plan for plan in found if plan is not None)


def _usage_plan(backend: Any, plan: Any, api_id: str, stage_name: str) -> UsagePlanSpec | None:
    entry = next(
        (
            entry
            for entry in list(plan.api_stages or [])
            if isinstance(entry, dict)
            and entry.get("apiId") == api_id
            and entry.get("stage") == stage_name
        ),
        None,
    )
    if entry is None:
        return None
    method_throttles: dict[str, ThrottleSpec] = {}
    for method_key, settings in dict(entry.get("throttle") or {}).items():
        throttle = _throttle(settings)
        if throttle is not None:
            method_throttles[str(method_key)] = throttle
    keys: list[ApiKeySpec] = []
    for key_id in list(dict(backend.usage_plan_keys.get(plan.id) or {})):
        key = backend.keys.get(key_id)
        if key is not None:
            keys.append(ApiKeySpec(id=str(key.id), value=str(key.value), enabled=bool(key.enabled)))
    quota = dict(plan.quota or {})
    limit = quota.get("limit")
    return UsagePlanSpec(
        id=str(plan.id),
        keys=tuple(keys),
        throttle=_throttle(dict(plan.throttle or {})),
        method_throttles=method_throttles,
        quota_limit=int(limit) if limit not in (None, "") else None,
        quota_period=str(quota.get("period") or "DAY").upper() if limit not in (None, "") else None,
    )
