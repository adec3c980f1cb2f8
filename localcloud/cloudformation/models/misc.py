"""Secrets Manager secrets and CloudWatch Logs subscription filters.

moto has backends for both but no CloudFormation model, so a template's secret (with a
generated password) or log subscription would be skipped silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.logs.models import logs_backends
from moto.secretsmanager.models import secretsmanager_backends

from localcloud.cloudformation.models.base import LocalResource, as_bool, tags_dict
from localcloud.cloudformation.registry import register


def _secret_string(properties: Mapping[str, Any], account_id: str, region_name: str) -> str | None:
    generate = properties.get("GenerateSecretString")
    if not generate:
        value = properties.get("SecretString")
        return None if value is None else str(value)
    backend = secretsmanager_backends[account_id][region_name]
    password = json.loads(
        backend.get_random_password(
            password_length=int(generate.get("PasswordLength", 32)),
            exclude_characters=str(generate.get("ExcludeCharacters", "")),
            exclude_numbers=as_bool(generate.get("ExcludeNumbers")),
            exclude_punctuation=as_bool(generate.get("ExcludePunctuation")),
            exclude_uppercase=as_bool(generate.get("ExcludeUppercase")),
            exclude_lowercase=as_bool(generate.get("ExcludeLowercase")),
            include_space=as_bool(generate.get("IncludeSpace")),
            require_each_included_type=as_bool(generate.get("RequireEachIncludedType"), True),
        )
    )["RandomPassword"]
    template = generate.get("SecretStringTemplate")
    key = generate.get("GenerateStringKey")
    if template and key:
        # CloudFormation merges the generated value into the JSON template under the key.
        document = json.loads(template)
        document[key] = password
        return json.dumps(document)
    return str(password)


@register
class SecretModel(LocalResource, CloudFormationModel):
    """``AWS::SecretsManager::Secret``; ``Ref`` is the secret ARN."""

    ATTRIBUTES = frozenset({"Id"})
    REPLACEMENT_PROPERTIES = frozenset({"Name"})

    def __init__(self, arn: str) -> None:
        self._init_resource(arn, Id=arn)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecretModel:
        properties = cloudformation_json["Properties"]
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=resource_name,
            secret_string=_secret_string(properties, account_id, region_name),
            secret_binary=None,
            description=properties.get("Description"),
            tags=[{"Key": k, "Value": v} for k, v in tags_dict(properties.get("Tags")).items()],
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(str(json.loads(created)["ARN"]))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SecretModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecretModel:
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        if properties.get("SecretString") is not None:
            backend.update_secret(
                original_resource.physical_resource_id,
                secret_string=str(properties["SecretString"]),
                description=properties.get("Description"),
            )
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            secretsmanager_backends[account_id][region_name].delete_secret(
                self.physical_resource_id,
                recovery_window_in_days=None,
                force_delete_without_recovery=True,
            )
        except Exception:
            return


@register
class SubscriptionFilterModel(LocalResource, CloudFormationModel):
    """``AWS::Logs::SubscriptionFilter``: log events of a group go to Lambda/Kinesis/Firehose."""

    REPLACEMENT_PROPERTIES = frozenset({"LogGroupName", "FilterName"})

    def __init__(self, group: str, name: str) -> None:
        self._init_resource(name)
        self.group = group

    @staticmethod
    def cloudformation_name_type() -> str:
        return "FilterName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::SubscriptionFilter"

    @staticmethod
    def _put(name: str, properties: Mapping[str, Any], account_id: str, region_name: str) -> str:
        group = str(properties["LogGroupName"])
        logs_backends[account_id][region_name].put_subscription_filter(
            log_group_name=group,
            filter_name=name,
            filter_pattern=str(properties.get("FilterPattern", "")),
            destination_arn=str(properties["DestinationArn"]),
            role_arn=str(properties.get("RoleArn") or ""),
        )
        return group

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SubscriptionFilterModel:
        group = cls._put(resource_name, cloudformation_json["Properties"], account_id, region_name)
        return cls(group, resource_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SubscriptionFilterModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SubscriptionFilterModel:
        name = original_resource.physical_resource_id
        cls._put(name, cloudformation_json["Properties"], account_id, region_name)
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            logs_backends[account_id][region_name].delete_subscription_filter(
                self.group, self.physical_resource_id
            )
        except Exception:
            return


@register
class NestedStackModel(LocalResource, CloudFormationModel):
    """``AWS::CloudFormation::Stack``: a stack created from its TemplateURL by CreateStack.

    ``Ref`` is the nested stack's ID; ``Fn::GetAtt Outputs.<Name>`` reads its outputs (moto's
    model has no attributes at all), and a nested stack that rolls back fails this resource.
    """

    def __init__(self, stack_id: str) -> None:
        self._init_resource(stack_id)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::Stack"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr.startswith("Outputs.")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        stack = self._stack()
        key = attribute_name.removeprefix("Outputs.")
        for output in stack.outputs or []:
            if output["OutputKey"] == key:
                return output["OutputValue"]
        raise UnformattedGetAttTemplateException()

    def _stack(self) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        account_id, region = self._location
        return cloudformation_backends[account_id][region].get_stack(self.physical_resource_id)

    @staticmethod
    def _inputs(
        properties: Mapping[str, Any], account_id: str, region_name: str
    ) -> tuple[str, dict[str, str]]:
        from moto.utilities.utils import get_partition

        from localcloud.cloudformation.template_urls import get_stack_from_s3_url

        template = get_stack_from_s3_url(
            str(properties["TemplateURL"]), account_id, get_partition(region_name)
        )
        parameters = {str(k): str(v) for k, v in (properties.get("Parameters") or {}).items()}
        return template, parameters

    @staticmethod
    def _raise_unless(stack: Any, *statuses: str) -> None:
        if stack.status not in statuses:
            reason = getattr(stack, "status_reason", None) or stack.status
            raise RuntimeError(f"Embedded stack {stack.stack_id} failed: {reason}")

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> NestedStackModel:
        from moto.cloudformation.models import cloudformation_backends

        template, parameters = cls._inputs(
            cloudformation_json["Properties"], account_id, region_name
        )
        backend = cloudformation_backends[account_id][region_name]
        stack = backend.create_stack(name=resource_name, template=template, parameters=parameters)
        model = cls(stack.stack_id)
        model._location = (account_id, region_name)
        if stack.status != "CREATE_COMPLETE":
            backend.delete_stack(stack.stack_id)
            cls._raise_unless(stack, "CREATE_COMPLETE")
        return model

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: NestedStackModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> NestedStackModel:
        from moto.cloudformation.exceptions import ValidationError
        from moto.cloudformation.models import cloudformation_backends

        template, parameters = cls._inputs(
            cloudformation_json["Properties"], account_id, region_name
        )
        backend = cloudformation_backends[account_id][region_name]
        try:
            stack = backend.update_stack(
                name=original_resource.physical_resource_id,
                template=template,
                role_arn=None,
                parameters=[
                    {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                ],
                tags=None,
            )
        except ValidationError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            return original_resource
        cls._raise_unless(stack, "UPDATE_COMPLETE")
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        from moto.cloudformation.models import cloudformation_backends

        cloudformation_backends[account_id][region_name].delete_stack(self.physical_resource_id)

    _location: tuple[str, str] = ("", "")
