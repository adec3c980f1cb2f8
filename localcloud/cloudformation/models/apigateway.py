"""API Gateway (REST, v1) resources, kept in moto's apigateway backend.

moto's own models need a ``Name`` on RestApi and ignore ``Body`` (SAM's RestApi has a Swagger
body and no name), return objects from ``Ref`` for Deployment and Method, and have no Stage,
Authorizer or Account model at all. The data plane (``localcloud.apigateway``) reads what
these models put in the backend: resources, methods, integrations, stages, authorizers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.apigateway.models import APIGatewayBackend, RestAPI, apigateway_backends
from moto.core.common_models import CloudFormationModel

from localcloud.cloudformation.models.base import (
    LocalResource,
    as_bool,
    as_int,
    dumps,
    parse_document,
    read_s3_location,
    tags_dict,
)
from localcloud.cloudformation.models.openapi import import_definition
from localcloud.cloudformation.registry import register


def _backend(account_id: str, region_name: str) -> APIGatewayBackend:
    return apigateway_backends[account_id][region_name]


def _api_or_none(backend: APIGatewayBackend, api_id: str) -> RestAPI | None:
    return backend.apis.get(api_id)


def _definition(properties: Mapping[str, Any], account_id: str) -> dict[str, Any] | None:
    if properties.get("Body") is not None:
        return parse_document(properties["Body"])
    location = properties.get("BodyS3Location")
    if location:
        raw = read_s3_location(
            str(location["Bucket"]), str(location["Key"]), location.get("Version"), account_id
        )
        return parse_document(raw)
    return None


@register
class RestApiModel(LocalResource, CloudFormationModel):
    ATTRIBUTES = frozenset({"RootResourceId", "RestApiId"})
    NAME_IS_UNIQUE = False

    def __init__(self, api: RestAPI) -> None:
        self._init_resource(api.id, RestApiId=api.id, RootResourceId=api.root_resource_id)
        self.api_id = api.id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::RestApi"

    @staticmethod
    def _apply(api: RestAPI, properties: Mapping[str, Any]) -> None:
        if "BinaryMediaTypes" in properties:
            api.binaryMediaTypes = list(properties["BinaryMediaTypes"] or [])
        if properties.get("Policy") is not None:
            api.policy = dumps(properties["Policy"])
        if properties.get("EndpointConfiguration"):
            types = properties["EndpointConfiguration"].get("Types") or ["EDGE"]
            api.endpoint_configuration = {"types": list(types)}
        if "DisableExecuteApiEndpoint" in properties:
            api.disableExecuteApiEndpoint = as_bool(properties["DisableExecuteApiEndpoint"])
        if "MinimumCompressionSize" in properties:
            api.minimum_compression_size = as_int(properties["MinimumCompressionSize"])
        if properties.get("ApiKeySourceType"):
            api.api_key_source = str(properties["ApiKeySourceType"])

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RestApiModel:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        body = _definition(properties, account_id)
        # Without a Name, API Gateway names the API after the imported definition's title.
        name = properties.get("Name") or ((body or {}).get("info") or {}).get("title")
        api = backend.create_rest_api(
            name=str(name or resource_name),
            description=str(properties.get("Description") or ""),
            tags=tags_dict(properties.get("Tags")),  # type: ignore[arg-type]
        )
        try:
            cls._apply(api, properties)
            if body is not None:
                import_definition(backend, api.id, body)
        except Exception:
            backend.apis.pop(api.id, None)
            raise
        return cls(api)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: RestApiModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RestApiModel:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        api = backend.get_rest_api(original_resource.api_id)
        body = _definition(properties, account_id)
        name = properties.get("Name") or ((body or {}).get("info") or {}).get("title")
        if name:
            api.name = str(name)
        api.description = str(properties.get("Description") or "")
        cls._apply(api, properties)
        if body is not None:
            import_definition(backend, api.id, body)
        return cls(api)

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        return False

    def remove(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).apis.pop(self.api_id, None)


@register
class ApiResourceModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::Resource``: a path part under a parent resource."""

    ATTRIBUTES = frozenset({"ResourceId"})
    REPLACEMENT_PROPERTIES = frozenset({"RestApiId", "ParentId", "PathPart"})

    def __init__(self, api_id: str, resource_id: str) -> None:
        self._init_resource(resource_id, ResourceId=resource_id)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Resource"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiResourceModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["RestApiId"])
        backend = _backend(account_id, region_name)
        parent = str(properties["ParentId"])
        resource = backend.create_resource(
            function_id=api_id, parent_resource_id=parent, path_part=str(properties["PathPart"])
        )
        return cls(api_id, resource.id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiResourceModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiResourceModel:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is not None:
            api.resources.pop(self.physical_resource_id, None)


@register
class MethodModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::Method`` with its integration and responses (moto keeps only a few)."""

    REPLACEMENT_PROPERTIES = frozenset({"RestApiId", "ResourceId", "HttpMethod"})

    def __init__(self, physical_id: str, api_id: str, resource_id: str, method: str) -> None:
        self._init_resource(physical_id)
        self.api_id = api_id
        self.resource_id = resource_id
        self.method = method

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Method"

    @staticmethod
    def _put(backend: APIGatewayBackend, properties: Mapping[str, Any]) -> tuple[str, str, str]:
        api_id = str(properties["RestApiId"])
        resource_id = str(properties["ResourceId"])
        method = str(properties["HttpMethod"]).upper()
        backend.put_method(
            api_id,
            resource_id,
            method,
            str(properties.get("AuthorizationType") or "NONE"),
            api_key_required=as_bool(properties.get("ApiKeyRequired")),
            request_parameters=properties.get("RequestParameters"),
            request_models=properties.get("RequestModels"),
            operation_name=properties.get("OperationName"),
            authorizer_id=properties.get("AuthorizerId"),
            authorization_scopes=properties.get("AuthorizationScopes"),
            request_validator_id=properties.get("RequestValidatorId"),
        )
        for response in properties.get("MethodResponses") or []:
            backend.put_method_response(
                api_id,
                resource_id,
                method,
                str(response["StatusCode"]),
                response_models=response.get("ResponseModels"),
                response_parameters=response.get("ResponseParameters"),
            )
        integration = properties.get("Integration")
        if integration:
            backend.put_integration(
                function_id=api_id,
                resource_id=resource_id,
                method_type=method,
                integration_type=str(integration.get("Type", "")).upper(),
                uri=integration.get("Uri"),
                integration_method=integration.get("IntegrationHttpMethod"),
                credentials=integration.get("Credentials"),
                request_templates=integration.get("RequestTemplates"),
                passthrough_behavior=integration.get("PassthroughBehavior"),
                cache_namespace=integration.get("CacheNamespace"),
                timeout_in_millis=integration.get("TimeoutInMillis"),
                request_parameters=integration.get("RequestParameters"),
                content_handling=integration.get("ContentHandling"),
                connection_type=integration.get("ConnectionType"),
            )
            for response in integration.get("IntegrationResponses") or []:
                backend.put_integration_response(
                    function_id=api_id,
                    resource_id=resource_id,
                    method_type=method,
                    status_code=str(response["StatusCode"]),
                    selection_pattern=str(response.get("SelectionPattern") or ""),
                    response_templates=response.get("ResponseTemplates") or {},
                    response_parameters=response.get("ResponseParameters") or {},
                    content_handling=response.get("ContentHandling"),
                )
        return api_id, resource_id, method

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> MethodModel:
        backend = _backend(account_id, region_name)
        api_id, resource_id, method = cls._put(backend, cloudformation_json["Properties"])
        return cls(resource_name, api_id, resource_id, method)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: MethodModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> MethodModel:
        cls._put(_backend(account_id, region_name), cloudformation_json["Properties"])
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is not None and self.resource_id in api.resources:
            api.resources[self.resource_id].resource_methods.pop(self.method, None)


@register
class DeploymentModel(LocalResource, CloudFormationModel):
    ATTRIBUTES = frozenset({"DeploymentId"})
    REPLACEMENT_PROPERTIES = frozenset({"RestApiId", "StageName", "DeploymentCanarySettings"})

    def __init__(self, api_id: str, deployment_id: str, stage_name: str | None) -> None:
        self._init_resource(deployment_id, DeploymentId=deployment_id)
        self.api_id = api_id
        self.stage_name = stage_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Deployment"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> DeploymentModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["RestApiId"])
        stage_name = properties.get("StageName")
        variables = (properties.get("StageDescription") or {}).get("Variables")
        deployment = _backend(account_id, region_name).create_deployment(
            function_id=api_id,
            name=stage_name,
            description=str(properties.get("Description") or ""),
            stage_variables=variables,
        )
        return cls(api_id, deployment.id, stage_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: DeploymentModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> DeploymentModel:
        api = _backend(account_id, region_name).get_rest_api(original_resource.api_id)
        deployment = api.deployments.get(original_resource.physical_resource_id)
        if deployment is not None:
            deployment.description = str(cloudformation_json["Properties"].get("Description") or "")
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is None:
            return
        # The stage a deployment's StageName created goes with it.
        stage = api.stages.get(self.stage_name or "")
        if stage is not None and stage.deployment_id == self.physical_resource_id:
            api.stages.pop(str(self.stage_name), None)
        api.deployments.pop(self.physical_resource_id, None)


def _method_settings(settings: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """CloudFormation MethodSettings as GetStage's ``methodSettings`` map.

    Keys are ``{resource path}/{HTTP method}`` with ``/`` in the path escaped as ``~1``;
    ``ResourcePath: /*`` with ``HttpMethod: *`` becomes ``*/*``.
    """
    fields = {
        "CacheDataEncrypted": "cacheDataEncrypted",
        "CacheTtlInSeconds": "cacheTtlInSeconds",
        "CachingEnabled": "cachingEnabled",
        "DataTraceEnabled": "dataTraceEnabled",
        "LoggingLevel": "loggingLevel",
        "MetricsEnabled": "metricsEnabled",
        "ThrottlingBurstLimit": "throttlingBurstLimit",
        "ThrottlingRateLimit": "throttlingRateLimit",
    }
    result: dict[str, dict[str, Any]] = {}
    for setting in settings or []:
        path = str(setting.get("ResourcePath", "/*"))
        path_key = "*" if path == "/*" else path.replace("/", "~1")
        key = f"{path_key}/{setting.get('HttpMethod', '*')}"
        entry: dict[str, Any] = {
            "throttlingBurstLimit": 5000,
            "throttlingRateLimit": 10000.0,
            "metricsEnabled": False,
            "dataTraceEnabled": False,
            "cachingEnabled": False,
            "cacheTtlInSeconds": 300,
            "cacheDataEncrypted": False,
            "requireAuthorizationForCacheControl": True,
            "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
        }
        for cfn_name, api_name in fields.items():
            if cfn_name in setting:
                entry[api_name] = setting[cfn_name]
        entry["throttlingRateLimit"] = float(entry["throttlingRateLimit"])
        entry["throttlingBurstLimit"] = int(entry["throttlingBurstLimit"])
        result[key] = entry
    return result


@register
class StageModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::Stage``; ``Ref`` is the stage name."""

    REPLACEMENT_PROPERTIES = frozenset({"RestApiId", "StageName"})
    NAME_IS_UNIQUE = False  # unique within one API only

    def __init__(self, api_id: str, stage_name: str) -> None:
        self._init_resource(stage_name)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @staticmethod
    def _configure(stage: Any, properties: Mapping[str, Any]) -> None:
        stage.deployment_id = properties.get("DeploymentId")
        stage.variables = {str(k): str(v) for k, v in (properties.get("Variables") or {}).items()}
        stage.description = str(properties.get("Description") or "")
        stage.tracing_enabled = as_bool(properties.get("TracingEnabled"))
        stage.method_settings = _method_settings(properties.get("MethodSettings") or [])
        log = properties.get("AccessLogSetting")
        stage.access_log_settings = (
            {"destinationArn": log.get("DestinationArn"), "format": log.get("Format")}
            if log
            else None
        )
        stage.tags = tags_dict(properties.get("Tags")) or None
        stage.cache_cluster_enabled = as_bool(properties.get("CacheClusterEnabled"))
        stage.cache_cluster_size = properties.get("CacheClusterSize")

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> StageModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["RestApiId"])
        stage_name = str(properties.get("StageName") or resource_name)
        backend = _backend(account_id, region_name)
        stage = backend.create_stage(
            function_id=api_id,
            stage_name=stage_name,
            deploymentId=str(properties.get("DeploymentId") or ""),
            variables=properties.get("Variables"),
            description=str(properties.get("Description") or ""),
            tracing_enabled=as_bool(properties.get("TracingEnabled")),
        )
        cls._configure(stage, properties)
        return cls(api_id, stage_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: StageModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> StageModel:
        backend = _backend(account_id, region_name)
        stage = backend.get_stage(original_resource.api_id, original_resource.physical_resource_id)
        cls._configure(stage, cloudformation_json["Properties"])
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is not None:
            api.stages.pop(self.physical_resource_id, None)


@register
class AuthorizerModel(LocalResource, CloudFormationModel):
    ATTRIBUTES = frozenset({"AuthorizerId"})
    REPLACEMENT_PROPERTIES = frozenset({"RestApiId"})
    NAME_IS_UNIQUE = False  # unique within one API only

    def __init__(self, api_id: str, authorizer_id: str) -> None:
        self._init_resource(authorizer_id, AuthorizerId=authorizer_id)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Authorizer"

    @staticmethod
    def _arguments(properties: Mapping[str, Any]) -> dict[str, Any]:
        ttl = properties.get("AuthorizerResultTtlInSeconds")
        return {
            "provider_arns": properties.get("ProviderARNs"),
            "auth_type": properties.get("AuthType"),
            "authorizer_uri": properties.get("AuthorizerUri"),
            "authorizer_credentials": properties.get("AuthorizerCredentials"),
            "identity_source": properties.get("IdentitySource"),
            "identiy_validation_expression": properties.get("IdentityValidationExpression"),
            "authorizer_result_ttl": 300 if ttl is None else int(ttl),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> AuthorizerModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["RestApiId"])
        authorizer = _backend(account_id, region_name).create_authorizer(
            api_id,
            str(properties.get("Name") or resource_name),
            str(properties["Type"]),
            **cls._arguments(properties),
        )
        return cls(api_id, str(authorizer.id))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: AuthorizerModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> AuthorizerModel:
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        authorizer = backend.get_authorizer(
            original_resource.api_id, original_resource.physical_resource_id
        )
        arguments = cls._arguments(properties)
        authorizer.name = str(properties.get("Name") or new_resource_name)
        authorizer.type = str(properties["Type"])
        authorizer.provider_arns = arguments["provider_arns"]
        authorizer.auth_type = arguments["auth_type"]
        authorizer.authorizer_uri = arguments["authorizer_uri"]
        authorizer.authorizer_credentials = arguments["authorizer_credentials"]
        authorizer.identity_source = arguments["identity_source"]
        authorizer.identity_validation_expression = arguments["identiy_validation_expression"]
        authorizer.authorizer_result_ttl = arguments["authorizer_result_ttl"]
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is not None:
            api.authorizers.pop(self.physical_resource_id, None)


@register
class ApiAccountModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::Account``: the role API Gateway uses to write CloudWatch logs."""

    def __init__(self, physical_id: str) -> None:
        self._init_resource(physical_id)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Account"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiAccountModel:
        role = cloudformation_json["Properties"].get("CloudWatchRoleArn")
        _backend(account_id, region_name).account.cloudwatch_role_arn = role
        return cls(resource_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiAccountModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiAccountModel:
        role = cloudformation_json["Properties"].get("CloudWatchRoleArn")
        _backend(account_id, region_name).account.cloudwatch_role_arn = role
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        # Deleting the resource leaves the account setting in place, as on AWS.
        return None


@register
class ApiModelModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::Model``: a JSON schema the data plane validates request bodies with.

    ``Ref`` is the model's name, as on AWS (methods name their models by name).
    """

    REPLACEMENT_PROPERTIES = frozenset({"RestApiId", "Name", "ContentType"})
    NAME_IS_UNIQUE = False  # unique within one API only

    def __init__(self, api_id: str, name: str) -> None:
        self._init_resource(name)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Model"

    @staticmethod
    def _put(
        backend: APIGatewayBackend, properties: Mapping[str, Any], name: str
    ) -> tuple[str, str]:
        api_id = str(properties["RestApiId"])
        schema = properties.get("Schema")
        backend.create_model(
            api_id,
            name,
            str(properties.get("ContentType") or "application/json"),
            str(properties.get("Description") or ""),
            schema if isinstance(schema, str) else dumps(schema or {}),
        )
        return api_id, name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiModelModel:
        properties = cloudformation_json["Properties"]
        name = str(properties.get("Name") or resource_name)
        api_id, name = cls._put(_backend(account_id, region_name), properties, name)
        return cls(api_id, name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiModelModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiModelModel:
        # Same API and name (anything else replaces): the new schema overwrites the model.
        cls._put(
            _backend(account_id, region_name),
            cloudformation_json["Properties"],
            original_resource.physical_resource_id,
        )
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is not None:
            api.models.pop(self.physical_resource_id, None)


@register
class RequestValidatorModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::RequestValidator``; ``Ref`` is its id (a method's RequestValidatorId)."""

    ATTRIBUTES = frozenset({"RequestValidatorId"})
    REPLACEMENT_PROPERTIES = frozenset({"RestApiId"})
    NAME_IS_UNIQUE = False

    def __init__(self, api_id: str, validator_id: str) -> None:
        self._init_resource(validator_id, RequestValidatorId=validator_id)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::RequestValidator"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RequestValidatorModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["RestApiId"])
        validator = _backend(account_id, region_name).create_request_validator(
            api_id,
            str(properties.get("Name") or resource_name),
            as_bool(properties.get("ValidateRequestBody")),
            as_bool(properties.get("ValidateRequestParameters")),
        )
        return cls(api_id, str(validator.id))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: RequestValidatorModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RequestValidatorModel:
        properties = cloudformation_json["Properties"]
        validator = _backend(account_id, region_name).get_request_validator(
            original_resource.api_id, original_resource.physical_resource_id
        )
        validator.name = str(properties.get("Name") or new_resource_name)
        validator.validate_request_body = as_bool(properties.get("ValidateRequestBody"))
        validator.validate_request_parameters = as_bool(properties.get("ValidateRequestParameters"))
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is not None:
            api.request_validators.pop(self.physical_resource_id, None)


@register
class GatewayResponseModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGateway::GatewayResponse``: a customised error answer of the API (one per
    response type); ``Ref`` is its id."""

    REPLACEMENT_PROPERTIES = frozenset({"RestApiId", "ResponseType"})

    def __init__(self, api_id: str, response_type: str) -> None:
        self._init_resource(f"{api_id}-{response_type}")
        self.api_id = api_id
        self.response_type = response_type

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::GatewayResponse"

    @staticmethod
    def _put(backend: APIGatewayBackend, properties: Mapping[str, Any]) -> tuple[str, str]:
        api_id = str(properties["RestApiId"])
        response_type = str(properties["ResponseType"])
        status = properties.get("StatusCode")
        backend.put_gateway_response(
            api_id,
            response_type,
            status_code=str(status) if status not in (None, "") else None,  # type: ignore[arg-type]
            response_parameters=properties.get("ResponseParameters") or {},
            response_templates=properties.get("ResponseTemplates") or {},
        )
        return api_id, response_type

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> GatewayResponseModel:
        backend = _backend(account_id, region_name)
        return cls(*cls._put(backend, cloudformation_json["Properties"]))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: GatewayResponseModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> GatewayResponseModel:
        cls._put(_backend(account_id, region_name), cloudformation_json["Properties"])
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _api_or_none(_backend(account_id, region_name), self.api_id)
        if api is not None:
            api.gateway_responses.pop(self.response_type, None)
