"""Lambda resources, kept in moto's Lambda backend.

moto's models drop ``Layers``, ``Architectures``, ``TracingConfig``, ``DeadLetterConfig``,
``EphemeralStorage`` and ``Tags`` of a function, name a layer after its logical id instead of
``LayerName``, and return objects from ``Ref`` to a LayerVersion, Version or Permission
(measured, DESIGN.md section 5). These models create the same backend objects the Lambda API
creates, from a specification shaped like ``CreateFunction``'s request, so the local Lambda
runtime (``localcloud.awslambda``) finds functions made by a stack exactly as made by the API:
``fn.layers`` holds the layer version ARNs (the layer zip is in the backend,
``layers_versions_by_arn(arn).code_bytes``), ``fn.reserved_concurrency``,
``fn.architectures``, ``fn.tracing_config``; what moto has no attribute for is set beside
them: ``fn.dead_letter_config`` (``{"TargetArn": ...}`` or ``None``) and
``fn.logging_config``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.utils import get_backend, make_function_arn
from moto.core.common_models import CloudFormationModel
from moto.core.utils import iso_8601_datetime_with_nanoseconds
from moto.utilities.utils import get_partition

from localcloud.cloudformation.models.base import (
    LocalResource,
    as_int,
    read_s3_location,
    tags_dict,
)
from localcloud.cloudformation.registry import register

# CloudFormation property -> CreateFunction request member, for the ones passed through as is.
_PASSTHROUGH = (
    "Handler",
    "Role",
    "Runtime",
    "Description",
    "MemorySize",
    "Timeout",
    "VpcConfig",
    "Layers",
    "Architectures",
    "TracingConfig",
    "DeadLetterConfig",
    "EphemeralStorage",
    "ImageConfig",
    "PackageType",
    "FileSystemConfigs",
    "LoggingConfig",
    "SnapStart",
    "RuntimeManagementConfig",
    "CodeSigningConfigArn",
    "ReservedConcurrentExecutions",
    "RecursiveLoop",
)


def _backend(account_id: str, region_name: str) -> LambdaBackend:
    return get_backend(account_id, region_name)


def _env_value(value: Any) -> str:
    # Lambda stores environment values as strings; YAML numbers and booleans arrive typed.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _code(code: Mapping[str, Any], account_id: str, region_name: str) -> dict[str, Any]:
    """CloudFormation ``Code`` as the CreateFunction ``Code`` member."""
    if "ZipFile" in code:
        # Inline source: Lambda stores it as index.py (with cfnresponse beside it).
        archive = LambdaFunction._create_zipfile_from_plaintext_code(str(code["ZipFile"]))
        return {"ZipFile": base64.b64encode(archive)}
    if "S3Bucket" in code and "S3Key" in code:
        # moto creates a function with empty code when the key is missing; Lambda refuses.
        read_s3_location(
            str(code["S3Bucket"]),
            str(code["S3Key"]),
            code.get("S3ObjectVersion"),
            account_id,
            get_partition(region_name),
        )
    return dict(code)


def function_spec(
    name: str, properties: Mapping[str, Any], account_id: str, region_name: str
) -> dict[str, Any]:
    """The CreateFunction request equivalent to a CloudFormation function's properties."""
    spec: dict[str, Any] = {"FunctionName": name}
    for key in _PASSTHROUGH:
        if properties.get(key) is not None:
            spec[key] = properties[key]
    if properties.get("KmsKeyArn"):
        spec["KMSKeyArn"] = properties["KmsKeyArn"]
    if properties.get("Tags"):
        spec["Tags"] = tags_dict(properties["Tags"])
    environment = (properties.get("Environment") or {}).get("Variables")
    if environment is not None:
        spec["Environment"] = {"Variables": {k: _env_value(v) for k, v in environment.items()}}
    spec["Code"] = _code(properties.get("Code") or {}, account_id, region_name)
    return spec


def _set_extras(fn: LambdaFunction, spec: Mapping[str, Any]) -> None:
    """Attributes moto's LambdaFunction has no place for, for the local Lambda runtime."""
    fn.dead_letter_config = spec.get("DeadLetterConfig")  # type: ignore[attr-defined]
    fn.logging_config = spec.get("LoggingConfig")  # type: ignore[attr-defined]


@register
class FunctionModel(LocalResource, CloudFormationModel):
    ATTRIBUTES = frozenset({"Arn"})
    REPLACEMENT_PROPERTIES = frozenset({"FunctionName", "PackageType"})

    def __init__(self, fn: LambdaFunction) -> None:
        self._init_resource(
            fn.function_name,
            Arn=make_function_arn(fn.region, fn.account_id, fn.function_name),
        )
        self.function_name = fn.function_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "FunctionName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Function"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> FunctionModel:
        spec = function_spec(
            resource_name, cloudformation_json["Properties"], account_id, region_name
        )
        fn = _backend(account_id, region_name).create_function(spec)
        _set_extras(fn, spec)
        return cls(fn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: FunctionModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> FunctionModel:
        backend = _backend(account_id, region_name)
        fn = backend.get_function(original_resource.function_name)
        spec = function_spec(
            fn.function_name, cloudformation_json["Properties"], account_id, region_name
        )
        # Every property is set (or reset to Lambda's default) so removing one takes effect.
        fn.handler = spec.get("Handler")
        fn.role = spec["Role"]
        fn.run_time = spec.get("Runtime")
        fn.description = spec.get("Description", "")
        fn.memory_size = spec.get("MemorySize", 128)
        fn.timeout = spec.get("Timeout", 3)
        fn._vpc_config = spec.get("VpcConfig")
        fn.environment_vars = (spec.get("Environment") or {}).get("Variables", {})
        fn.layers = fn._get_layers_data(spec.get("Layers", []))
        fn.tracing_config = spec.get("TracingConfig") or {"Mode": "PassThrough"}
        fn.architectures = spec.get("Architectures", ["x86_64"])
        fn.reserved_concurrency = spec.get("ReservedConcurrentExecutions")
        fn.ephemeral_storage = (spec.get("EphemeralStorage") or {}).get("Size", 512)
        fn.kms_key_arn = spec.get("KMSKeyArn")
        fn.tags = spec.get("Tags") or {}
        _set_extras(fn, spec)
        if spec["Code"] != fn.code and not _same_s3_code(spec["Code"], fn.code):
            fn.update_function_code(dict(spec["Code"]))
        fn.code_or_config_updated = True
        fn.last_modified = iso_8601_datetime_with_nanoseconds()
        return cls(fn)

    def remove(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        try:
            backend.get_function(self.function_name)
        except Exception:
            return
        backend.delete_function(self.function_name)


def _same_s3_code(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    return all(new.get(k) == old.get(k) for k in ("S3Bucket", "S3Key", "S3ObjectVersion")) and (
        "S3Key" in new
    )


@register
class LayerVersionModel(LocalResource, CloudFormationModel):
    """``AWS::Lambda::LayerVersion``; ``Ref`` is the layer version ARN."""

    ATTRIBUTES = frozenset({"LayerVersionArn"})
    NAME_IS_UNIQUE = False  # every version of a layer shares its LayerName

    def __init__(self, arn: str, name: str, version: int) -> None:
        self._init_resource(arn, LayerVersionArn=arn)
        self.layer_name = name
        self.version = version

    @staticmethod
    def cloudformation_name_type() -> str:
        return "LayerName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::LayerVersion"

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        # Every property of a layer version is immutable: a change publishes a new version.
        return dict(old) != dict(new)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LayerVersionModel:
        properties = cloudformation_json["Properties"]
        content = dict(properties["Content"])
        read_s3_location(
            str(content["S3Bucket"]),
            str(content["S3Key"]),
            content.get("S3ObjectVersion"),
            account_id,
            get_partition(region_name),
        )
        spec: dict[str, Any] = {
            "LayerName": str(properties.get("LayerName") or resource_name),
            "Content": content,
        }
        for key in ("Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"):
            if properties.get(key) is not None:
                spec[key] = properties[key]
        layer_version = _backend(account_id, region_name).publish_layer_version(spec)
        return cls(layer_version.arn, layer_version.name, layer_version.version)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LayerVersionModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LayerVersionModel:
        # Only reached when nothing changed (see requires_replacement).
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            _backend(account_id, region_name).delete_layer_version(
                self.layer_name, str(self.version)
            )
        except Exception:
            return


@register
class PermissionModel(LocalResource, CloudFormationModel):
    """``AWS::Lambda::Permission``: a statement in the function's resource policy."""

    def __init__(self, statement_id: str, function_name: str, qualifier: str | None) -> None:
        self._init_resource(statement_id)
        self.function_name = function_name
        self.qualifier = qualifier

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Permission"

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        return dict(old) != dict(new)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PermissionModel:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        target = str(properties["FunctionName"])
        fn = backend.get_function(target)
        qualifier = None
        if target.startswith("arn:") and target.count(":") == 7:
            qualifier = target.rsplit(":", 1)[1]
        statement = {"StatementId": resource_name}
        for key in (
            "Action",
            "Principal",
            "SourceArn",
            "SourceAccount",
            "EventSourceToken",
            "PrincipalOrgID",
            "FunctionUrlAuthType",
        ):
            if properties.get(key) is not None:
                statement[key] = properties[key]
        backend.add_permission(fn.function_name, qualifier, json.dumps(statement))  # type: ignore[arg-type]
        return cls(resource_name, fn.function_name, qualifier)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PermissionModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PermissionModel:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            _backend(account_id, region_name).remove_permission(
                self.function_name, self.physical_resource_id
            )
        except Exception:
            return


@register
class VersionModel(LocalResource, CloudFormationModel):
    """``AWS::Lambda::Version``; ``Ref`` is the version ARN."""

    ATTRIBUTES = frozenset({"Version", "FunctionArn"})

    def __init__(self, function_name: str, function_arn: str, version: str) -> None:
        self._init_resource(
            f"{function_arn}:{version}", Version=version, FunctionArn=f"{function_arn}:{version}"
        )
        self.function_name = function_name
        self.version = version

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Version"

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        return dict(old) != dict(new)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> VersionModel:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        fn = backend.get_function(str(properties["FunctionName"]))
        published = backend.publish_version(
            fn.function_name, str(properties.get("Description") or "")
        )
        if published is None:
            raise ValueError("InvalidParameterValueException", "Nothing to publish")
        arn = make_function_arn(region_name, account_id, fn.function_name)
        return cls(fn.function_name, arn, str(published.version))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: VersionModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> VersionModel:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            _backend(account_id, region_name).delete_function(self.function_name, self.version)
        except Exception:
            return


@register
class AliasModel(LocalResource, CloudFormationModel):
    """``AWS::Lambda::Alias``; ``Ref`` is the alias ARN."""

    ATTRIBUTES = frozenset({"AliasArn"})
    REPLACEMENT_PROPERTIES = frozenset({"FunctionName", "Name"})
    NAME_IS_UNIQUE = False  # unique within one function only

    def __init__(self, function_name: str, alias_arn: str, name: str) -> None:
        self._init_resource(alias_arn, AliasArn=alias_arn)
        self.function_name = function_name
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> AliasModel:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        fn = backend.get_function(str(properties["FunctionName"]))
        alias = backend.create_alias(
            name=str(properties["Name"]),
            function_name=fn.function_name,
            function_version=str(properties["FunctionVersion"]),
            description=str(properties.get("Description") or ""),
            routing_config=properties.get("RoutingConfig"),
        )
        return cls(fn.function_name, alias.arn, alias.name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: AliasModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> AliasModel:
        properties = cloudformation_json["Properties"]
        _backend(account_id, region_name).update_alias(
            name=original_resource.name,
            function_name=original_resource.function_name,
            function_version=str(properties["FunctionVersion"]),
            description=str(properties.get("Description") or ""),
            routing_config=properties.get("RoutingConfig"),
        )
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            _backend(account_id, region_name).delete_alias(self.name, self.function_name)
        except Exception:
            return


@register
class EventInvokeConfigModel(LocalResource, CloudFormationModel):
    """``AWS::Lambda::EventInvokeConfig``: retries, event age and destinations of async invokes."""

    REPLACEMENT_PROPERTIES = frozenset({"FunctionName", "Qualifier"})

    def __init__(self, physical_id: str, function_name: str) -> None:
        self._init_resource(physical_id)
        self.function_name = function_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @staticmethod
    def _put(backend: LambdaBackend, properties: Mapping[str, Any]) -> str:
        fn = backend.get_function(str(properties["FunctionName"]))
        config: dict[str, Any] = {}
        for key in ("MaximumEventAgeInSeconds", "MaximumRetryAttempts"):
            if properties.get(key) is not None:
                config[key] = as_int(properties[key])
        if properties.get("DestinationConfig"):
            config["DestinationConfig"] = properties["DestinationConfig"]
        # moto appends on every put and serves the first: replace instead.
        fn.event_invoke_config = []
        backend.put_function_event_invoke_config(fn.function_name, config)
        return fn.function_name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EventInvokeConfigModel:
        name = cls._put(_backend(account_id, region_name), cloudformation_json["Properties"])
        return cls(resource_name, name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EventInvokeConfigModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EventInvokeConfigModel:
        cls._put(_backend(account_id, region_name), cloudformation_json["Properties"])
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            fn = _backend(account_id, region_name).get_function(self.function_name)
        except Exception:
            return
        fn.event_invoke_config = []
