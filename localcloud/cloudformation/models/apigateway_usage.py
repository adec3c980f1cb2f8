"""API keys and usage plans of REST APIs, kept in moto's apigateway backend.

moto 5.2.5 has the API (CreateApiKey, CreateUsagePlan, CreateUsagePlanKey) but no
CloudFormation model for ``AWS::ApiGateway::ApiKey``, ``AWS::ApiGateway::UsagePlan`` or
``AWS::ApiGateway::UsagePlanKey``, which SAM emits for ``Auth: ApiKeyRequired: true`` with
``UsagePlan: CreateUsagePlan: PER_API``. The data plane (``localcloud.apigateway.usage_plans``)
reads what these models put in the backend: ``keys``, ``usage_plans``, ``usage_plan_keys``.

``Ref`` (CloudFormation reference): the API key id, the usage plan id, the usage plan key id
(the API key's id); ``Fn::GetAtt``: ``ApiKey.APIKeyId``, ``UsagePlan.Id``, ``UsagePlanKey.Id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.apigateway.models import APIGatewayBackend, apigateway_backends
from moto.core.common_models import CloudFormationModel

from localcloud.cloudformation.models.base import LocalResource, as_bool, as_int
from localcloud.cloudformation.registry import register


def _backend(account_id: str, region_name: str) -> APIGatewayBackend:
    return apigateway_backends[account_id][region_name]


def _tags(tags: Any) -> list[dict[str, str]] | None:
    if not tags:
        return None
    return [{"key": str(t["Key"]), "value": str(t.get("Value", ""))} for t in tags]


def _throttle(throttle: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not throttle:
        return None
    result: dict[str, Any] = {}
    if throttle.get("RateLimit") is not None:
        result["rateLimit"] = float(throttle["RateLimit"])
    if throttle.get("BurstLimit") is not None:
        result["burstLimit"] = int(throttle["BurstLimit"])
    return result or None


def _quota(quota: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not quota:
        return None
    result: dict[str, Any] = {"period": str(quota.get("Period") or "DAY").upper()}
    if quota.get("Limit") is not None:
        result["limit"] = int(quota["Limit"])
    result["offset"] = as_int(quota.get("Offset")) or 0
    return result


def _api_stages(stages: Any) -> list[dict[str, Any]]:
    result = []
    for stage in stages or []:
        entry: dict[str, Any] = {"apiId": str(stage["ApiId"]), "stage": str(stage["Stage"])}
        if stage.get("Throttle"):
            entry["throttle"] = {
                str(path): _throttle(value) for path, value in stage["Throttle"].items()
            }
        result.append(entry)
    return result


@register
class ApiKeyModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::ApiKey``; a generated value when the template sets none."""

    ATTRIBUTES = frozenset({"APIKeyId"})
    REPLACEMENT_PROPERTIES = frozenset({"GenerateDistinctId", "Name", "Value"})

    def __init__(self, key_id: str) -> None:
        self._init_resource(key_id, APIKeyId=key_id)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::ApiKey"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiKeyModel:
        properties = cloudformation_json["Properties"]
        payload: dict[str, Any] = {
            "name": str(properties.get("Name") or resource_name),
            "description": properties.get("Description"),
            # CloudFormation's default is a disabled key.
            "enabled": as_bool(properties.get("Enabled")),
            "customerId": properties.get("CustomerId"),
            "stageKeys": [
                f"{stage.get('RestApiId')}/{stage.get('StageName')}"
                for stage in properties.get("StageKeys") or []
            ],
            "tags": _tags(properties.get("Tags")),
        }
        if properties.get("Value"):
            payload["value"] = str(properties["Value"])
        key = _backend(account_id, region_name).create_api_key(payload)
        return cls(key.id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiKeyModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiKeyModel:
        properties = cloudformation_json["Properties"]
        key = _backend(account_id, region_name).get_api_key(original_resource.physical_resource_id)
        key.enabled = as_bool(properties.get("Enabled"))
        key.description = properties.get("Description")
        key.customer_id = properties.get("CustomerId")
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        backend.keys.pop(self.physical_resource_id, None)
        for plan_keys in backend.usage_plan_keys.values():
            plan_keys.pop(self.physical_resource_id, None)


@register
class UsagePlanModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::UsagePlan``: API stages, throttle and quota."""

    ATTRIBUTES = frozenset({"Id"})

    def __init__(self, plan_id: str) -> None:
        self._init_resource(plan_id, Id=plan_id)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UsagePlanName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::UsagePlan"

    @staticmethod
    def _apply(plan: Any, properties: Mapping[str, Any]) -> None:
        plan.description = properties.get("Description")
        plan.api_stages = _api_stages(properties.get("ApiStages"))
        plan.throttle = _throttle(properties.get("Throttle")) or {}
        plan.quota = _quota(properties.get("Quota")) or {}

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UsagePlanModel:
        properties = cloudformation_json["Properties"]
        plan = _backend(account_id, region_name).create_usage_plan(
            {
                "name": str(properties.get("UsagePlanName") or resource_name),
                "tags": _tags(properties.get("Tags")),
            }
        )
        cls._apply(plan, properties)
        return cls(plan.id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: UsagePlanModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> UsagePlanModel:
        properties = cloudformation_json["Properties"]
        plan = _backend(account_id, region_name).get_usage_plan(
            original_resource.physical_resource_id
        )
        if properties.get("UsagePlanName"):
            plan.name = str(properties["UsagePlanName"])
        cls._apply(plan, properties)
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        backend.usage_plans.pop(self.physical_resource_id, None)
        backend.usage_plan_keys.pop(self.physical_resource_id, None)


@register
class UsagePlanKeyModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::UsagePlanKey``: associates an API key with a usage plan."""

    ATTRIBUTES = frozenset({"Id"})
    REPLACEMENT_PROPERTIES = frozenset({"KeyId", "KeyType", "UsagePlanId"})

    def __init__(self, key_id: str, plan_id: str) -> None:
        self._init_resource(key_id, Id=key_id)
        self.plan_id = plan_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::UsagePlanKey"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> UsagePlanKeyModel:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        plan_id = str(properties["UsagePlanId"])
        backend.get_usage_plan(plan_id)  # fails the resource when the plan does not exist
        key = backend.create_usage_plan_key(
            plan_id,
            {"keyId": str(properties["KeyId"]), "keyType": str(properties["KeyType"])},
        )
        return cls(str(key.id), plan_id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: UsagePlanKeyModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> UsagePlanKeyModel:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        plan_keys = _backend(account_id, region_name).usage_plan_keys.get(self.plan_id)
        if plan_keys is not None:
            plan_keys.pop(self.physical_resource_id, None)
