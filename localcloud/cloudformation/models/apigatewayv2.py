"""API Gateway HTTP APIs (v2), kept in moto's apigatewayv2 backend.

moto has no CloudFormation model for any ApiGatewayV2 type, so SAM's ``AWS::Serverless::HttpApi``
(an ``AWS::ApiGatewayV2::Api`` with an OpenAPI 3 ``Body`` and a ``$default`` stage) would be
skipped. moto's ``import_api`` also wipes the stages and reads ``x-amazon-apigateway-any-method``
as a method named after the extension, so the import here is the local cloud's own: one route
per path and method (``ANY`` for the any-method, ``$default`` for ``/$default``), each with
its integration (type, uri, payload format version) and authorizer (Lambda or JWT).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.apigatewayv2.models import Api, ApiGatewayV2Backend, apigatewayv2_backends
from moto.core.common_models import CloudFormationModel

from localcloud.cloudformation.models.base import (
    LocalResource,
    as_bool,
    parse_document,
    read_s3_location,
    tags_dict,
)
from localcloud.cloudformation.models.openapi import ANY_METHOD, HTTP_METHODS
from localcloud.cloudformation.registry import register


def _backend(account_id: str, region_name: str) -> ApiGatewayV2Backend:
    return apigatewayv2_backends[account_id][region_name]


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys as the API's camelCase (settings, CORS, JWT)."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _identity_source(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value]


def _import_authorizers(api: Api, body: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Authorizers of the security schemes: ``{scheme: (authorizer id, authorization type)}``."""
    found: dict[str, tuple[str, str]] = {}
    schemes = (body.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        spec = (scheme or {}).get("x-amazon-apigateway-authorizer")
        if not isinstance(spec, dict):
            continue
        jwt = str(spec.get("type", "")).lower() == "jwt"
        authorizer = api.create_authorizer(
            auth_creds_arn=spec.get("authorizerCredentials"),  # type: ignore[arg-type]
            auth_payload_format_version=spec.get("authorizerPayloadFormatVersion"),  # type: ignore[arg-type]
            auth_result_ttl=spec.get("authorizerResultTtlInSeconds"),  # type: ignore[arg-type]
            authorizer_type="JWT" if jwt else "REQUEST",
            authorizer_uri=spec.get("authorizerUri"),  # type: ignore[arg-type]
            enable_simple_response=spec.get("enableSimpleResponses"),  # type: ignore[arg-type]
            identity_source=_identity_source(spec.get("identitySource")),  # type: ignore[arg-type]
            identity_validation_expr=None,  # type: ignore[arg-type]
            jwt_config=spec.get("jwtConfiguration"),  # type: ignore[arg-type]
            name=name,
        )
        found[name] = (authorizer.id, "JWT" if jwt else "CUSTOM")
    return found


def import_http_api(api: Api, body: Mapping[str, Any]) -> None:
    """Replace the API's routes, integrations and authorizers with those of ``body``."""
    api.authorizers.clear()
    api.integrations.clear()
    api.routes.clear()
    authorizers = _import_authorizers(api, body)
    schemes = (body.get("components") or {}).get("securitySchemes") or {}
    for path, item in (body.get("paths") or {}).items():
        for key, operation in (item or {}).items():
            if key.lower() not in HTTP_METHODS and key != ANY_METHOD:
                continue
            operation = operation or {}
            method = "ANY" if key == ANY_METHOD else key.upper()
            route_key = "$default" if path == "/$default" else f"{method} {path}"
            target = None
            integration = operation.get("x-amazon-apigateway-integration")
            if isinstance(integration, dict):
                created = api.create_integration(
                    connection_type=str(integration.get("connectionType") or "INTERNET"),
                    description="Imported from the API definition",
                    integration_method=integration.get("httpMethod"),  # type: ignore[arg-type]
                    integration_type=str(integration.get("type", "")).upper(),
                    integration_uri=integration.get("uri"),  # type: ignore[arg-type]
                    connection_id=integration.get("connectionId"),
                    credentials_arn=integration.get("credentials"),
                    payload_format_version=integration.get("payloadFormatVersion"),
                    integration_subtype=integration.get("integrationSubtype"),
                    request_parameters=integration.get("requestParameters"),
                    timeout_in_millis=integration.get("timeoutInMillis"),
                    tls_config=integration.get("tlsConfig"),
                )
                target = f"integrations/{created.id}"
            auth: dict[str, Any] = {"authorization_type": "NONE", "authorizer_id": None}
            scopes: list[str] = []
            for requirement in operation.get("security", body.get("security")) or []:
                for name, requested in (requirement or {}).items():
                    if name in authorizers:
                        auth["authorizer_id"], auth["authorization_type"] = authorizers[name]
                        scopes = list(requested or [])
                    elif (
                        str(
                            (schemes.get(name) or {}).get("x-amazon-apigateway-authtype", "")
                        ).lower()
                        == "awssigv4"
                    ):
                        auth["authorization_type"] = "AWS_IAM"
            api.create_route(
                api_key_required=False,
                authorization_scopes=scopes,
                route_key=route_key,
                target=target,  # type: ignore[arg-type]
                operation_name=operation.get("operationId"),
                **auth,
            )
    if "x-amazon-apigateway-cors" in body:
        api.cors_configuration = body["x-amazon-apigateway-cors"]


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
class HttpApiModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGatewayV2::Api``; ``Ref`` is the API id."""

    ATTRIBUTES = frozenset({"ApiEndpoint", "ApiId"})
    REPLACEMENT_PROPERTIES = frozenset({"ProtocolType"})
    NAME_IS_UNIQUE = False

    def __init__(self, api: Api) -> None:
        self._init_resource(api.api_id, ApiId=api.api_id, ApiEndpoint=api.api_endpoint)
        self.api_id = api.api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    @staticmethod
    def _apply(api: Api, properties: Mapping[str, Any], body: dict[str, Any] | None) -> None:
        if properties.get("Target") or properties.get("RouteKey"):
            raise ValueError(
                "BadRequestException",
                "quick create (Target/RouteKey) is not supported by the local cloud: "
                "declare a route, an integration and a stage",
            )
        if body is not None:
            import_http_api(api, body)
        if properties.get("CorsConfiguration"):
            api.cors_configuration = _camel(properties["CorsConfiguration"])
        api.description = properties.get("Description") or api.description
        api.disable_execute_api_endpoint = as_bool(properties.get("DisableExecuteApiEndpoint"))

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpApiModel:
        properties = cloudformation_json["Properties"]
        body = _definition(properties, account_id)
        name = properties.get("Name") or ((body or {}).get("info") or {}).get("title")
        backend = _backend(account_id, region_name)
        api = backend.create_api(
            api_key_selection_expression=properties.get("ApiKeySelectionExpression"),
            cors_configuration=None,  # type: ignore[arg-type]
            description=properties.get("Description"),
            disable_schema_validation=properties.get("DisableSchemaValidation"),
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),
            name=str(name or resource_name),
            protocol_type=str(properties.get("ProtocolType") or "HTTP"),
            route_selection_expression=properties.get("RouteSelectionExpression"),
            tags=tags_dict(properties.get("Tags")),
            version=properties.get("Version"),
        )
        try:
            cls._apply(api, properties, body)
        except Exception:
            backend.delete_api(api.api_id)
            raise
        return cls(api)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: HttpApiModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> HttpApiModel:
        properties = cloudformation_json["Properties"]
        api = _backend(account_id, region_name).get_api(original_resource.api_id)
        body = _definition(properties, account_id)
        name = properties.get("Name") or ((body or {}).get("info") or {}).get("title")
        if name:
            api.name = str(name)
        cls._apply(api, properties, body)
        return cls(api)

    def remove(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_api(self.api_id)


def _stage_config(properties: Mapping[str, Any], name: str) -> dict[str, Any]:
    config: dict[str, Any] = {"stageName": name}
    for cfn_name, api_name in (
        ("AutoDeploy", "autoDeploy"),
        ("Description", "description"),
        ("DeploymentId", "deploymentId"),
        ("ClientCertificateId", "clientCertificateId"),
    ):
        if properties.get(cfn_name) is not None:
            config[api_name] = properties[cfn_name]
    if "AutoDeploy" in config:
        config["autoDeploy"] = as_bool(config["autoDeploy"])
    if properties.get("DefaultRouteSettings"):
        config["defaultRouteSettings"] = _camel(properties["DefaultRouteSettings"])
    if properties.get("RouteSettings"):
        # Keys of RouteSettings are route keys ("GET /items"): only the values are settings.
        config["routeSettings"] = {k: _camel(v) for k, v in properties["RouteSettings"].items()}
    if properties.get("StageVariables"):
        config["stageVariables"] = {str(k): str(v) for k, v in properties["StageVariables"].items()}
    if properties.get("AccessLogSettings"):
        config["accessLogSettings"] = _camel(properties["AccessLogSettings"])
    if properties.get("Tags"):
        config["tags"] = tags_dict(properties["Tags"])
    return config


@register
class HttpApiStageModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGatewayV2::Stage``; ``Ref`` is the stage name."""

    REPLACEMENT_PROPERTIES = frozenset({"ApiId", "StageName"})
    NAME_IS_UNIQUE = False  # unique within one API only

    def __init__(self, api_id: str, name: str) -> None:
        self._init_resource(name)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpApiStageModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["ApiId"])
        name = str(properties.get("StageName") or resource_name)
        api = _backend(account_id, region_name).get_api(api_id)
        api.create_stage(_stage_config(properties, name))
        return cls(api_id, name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: HttpApiStageModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> HttpApiStageModel:
        api = _backend(account_id, region_name).get_api(original_resource.api_id)
        name = original_resource.physical_resource_id
        api.create_stage(_stage_config(cloudformation_json["Properties"], name))
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _backend(account_id, region_name).apis.get(self.api_id)
        if api is not None:
            api.delete_stage(self.physical_resource_id)


@register
class HttpApiIntegrationModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGatewayV2::Integration``; ``Ref`` is the integration id."""

    REPLACEMENT_PROPERTIES = frozenset({"ApiId"})

    def __init__(self, api_id: str, integration_id: str) -> None:
        self._init_resource(integration_id)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Integration"

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        # Simplest faithful behaviour: a changed integration gets a new id, and routes that
        # Ref it are updated to the new target in the same stack update.
        return dict(old) != dict(new)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> HttpApiIntegrationModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["ApiId"])
        api = _backend(account_id, region_name).get_api(api_id)
        integration = api.create_integration(
            connection_type=str(properties.get("ConnectionType") or "INTERNET"),
            description=str(properties.get("Description") or ""),
            integration_method=properties.get("IntegrationMethod"),
            integration_type=str(properties["IntegrationType"]).upper(),
            integration_uri=properties.get("IntegrationUri"),
            connection_id=properties.get("ConnectionId"),
            content_handling_strategy=properties.get("ContentHandlingStrategy"),
            credentials_arn=properties.get("CredentialsArn"),
            passthrough_behavior=properties.get("PassthroughBehavior"),
            payload_format_version=properties.get("PayloadFormatVersion"),
            integration_subtype=properties.get("IntegrationSubtype"),
            request_parameters=properties.get("RequestParameters"),
            request_templates=properties.get("RequestTemplates"),
            response_parameters=properties.get("ResponseParameters"),
            template_selection_expression=properties.get("TemplateSelectionExpression"),
            timeout_in_millis=properties.get("TimeoutInMillis"),
            tls_config=properties.get("TlsConfig"),
        )
        return cls(api_id, integration.id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: HttpApiIntegrationModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> HttpApiIntegrationModel:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _backend(account_id, region_name).apis.get(self.api_id)
        if api is not None:
            api.delete_integration(self.physical_resource_id)


@register
class HttpApiRouteModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGatewayV2::Route``; ``Ref`` is the route id."""

    REPLACEMENT_PROPERTIES = frozenset({"ApiId"})

    def __init__(self, api_id: str, route_id: str) -> None:
        self._init_resource(route_id)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Route"

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
    ) -> HttpApiRouteModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["ApiId"])
        api = _backend(account_id, region_name).get_api(api_id)
        route = api.create_route(
            api_key_required=as_bool(properties.get("ApiKeyRequired")),
            authorization_scopes=list(properties.get("AuthorizationScopes") or []),
            route_key=str(properties["RouteKey"]),
            target=properties.get("Target"),
            authorization_type=properties.get("AuthorizationType") or "NONE",
            authorizer_id=properties.get("AuthorizerId"),
            operation_name=properties.get("OperationName"),
            request_parameters=properties.get("RequestParameters"),
        )
        return cls(api_id, route.route_id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: HttpApiRouteModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> HttpApiRouteModel:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _backend(account_id, region_name).apis.get(self.api_id)
        if api is not None:
            api.routes.pop(self.physical_resource_id, None)


@register
class HttpApiAuthorizerModel(LocalResource, CloudFormationModel):
    """``AWS::ApiGatewayV2::Authorizer`` (Lambda REQUEST or JWT); ``Ref`` is its id."""

    ATTRIBUTES = frozenset({"AuthorizerId"})
    REPLACEMENT_PROPERTIES = frozenset({"ApiId"})
    NAME_IS_UNIQUE = False

    def __init__(self, api_id: str, authorizer_id: str) -> None:
        self._init_resource(authorizer_id, AuthorizerId=authorizer_id)
        self.api_id = api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Authorizer"

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
    ) -> HttpApiAuthorizerModel:
        properties = cloudformation_json["Properties"]
        api_id = str(properties["ApiId"])
        api = _backend(account_id, region_name).get_api(api_id)
        authorizer = api.create_authorizer(
            auth_creds_arn=properties.get("AuthorizerCredentialsArn"),
            auth_payload_format_version=properties.get("AuthorizerPayloadFormatVersion"),
            auth_result_ttl=properties.get("AuthorizerResultTtlInSeconds"),
            authorizer_type=str(properties["AuthorizerType"]),
            authorizer_uri=properties.get("AuthorizerUri"),
            enable_simple_response=properties.get("EnableSimpleResponses"),
            identity_source=properties.get("IdentitySource"),
            identity_validation_expr=properties.get("IdentityValidationExpression"),
            jwt_config=_camel(properties.get("JwtConfiguration")),
            name=str(properties.get("Name") or resource_name),
        )
        return cls(api_id, authorizer.id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: HttpApiAuthorizerModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> HttpApiAuthorizerModel:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        api = _backend(account_id, region_name).apis.get(self.api_id)
        if api is not None:
            api.delete_authorizer(self.physical_resource_id)
