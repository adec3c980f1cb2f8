"""Import a Swagger 2.0 or OpenAPI 3 definition into moto's API Gateway backend.

SAM writes every ``AWS::Serverless::Api`` as a RestApi whose ``Body`` is a Swagger 2.0
document with ``x-amazon-apigateway-*`` extensions. moto's ``put_rest_api`` refuses Swagger
2.0 and reads only part of OpenAPI 3, so this importer does what API Gateway's import does
for the parts the local data plane serves: resources and methods per path, the
``x-amazon-apigateway-integration`` of each method (type upper-cased, ``aws_proxy`` ->
``AWS_PROXY``, with its uri, credentials, templates and responses), Lambda/Cognito
authorizers from the security schemes, API keys, request validators, the request models of
each method (a Swagger ``in: body`` parameter or an OpenAPI 3 ``requestBody``), gateway
responses, binary media types and models.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.apigateway.models import APIGatewayBackend, Resource, RestAPI

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
ANY_METHOD = "x-amazon-apigateway-any-method"
_PARAMETER_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}


def _security_schemes(body: dict[str, Any]) -> dict[str, Any]:
    if "securityDefinitions" in body:
        return dict(body.get("securityDefinitions") or {})
    return dict((body.get("components") or {}).get("securitySchemes") or {})


def _models(body: dict[str, Any]) -> dict[str, Any]:
    if "definitions" in body:
        return dict(body.get("definitions") or {})
    return dict((body.get("components") or {}).get("schemas") or {})


def _child(api: RestAPI, parent_id: str, path_part: str) -> Resource | None:
    for resource in api.resources.values():
        if resource.parent_id == parent_id and resource.path_part == path_part:
            return resource
    return None


def _ensure_resource(backend: APIGatewayBackend, api: RestAPI, path: str) -> Resource:
    current = api.resources[api.root_resource_id]
    for part in [segment for segment in path.split("/") if segment]:
        found = _child(api, current.id, part)
        if found is None:
            found = backend.create_resource(
                function_id=api.id, parent_resource_id=current.id, path_part=part
            )
        current = found
    return current


def _request_parameters(parameters: list[Any]) -> dict[str, bool]:
    result: dict[str, bool] = {}
    for parameter in parameters:
        if not isinstance(parameter, dict):
            continue
        location = _PARAMETER_LOCATIONS.get(str(parameter.get("in")))
        if location and parameter.get("name"):
            result[f"method.request.{location}.{parameter['name']}"] = bool(
                parameter.get("required", False)
            )
    return result


def _request_models(
    backend: APIGatewayBackend,
    api_id: str,
    body: dict[str, Any],
    operation: dict[str, Any],
    parameters: list[Any],
    inline_name: str,
) -> dict[str, str]:
    """Content type -> model name of an operation's body (Swagger ``in: body`` parameter with
    ``consumes``, or OpenAPI 3 ``requestBody.content``); an inline schema becomes a model."""
    schemas: dict[str, Any] = {}
    for parameter in parameters:
        if isinstance(parameter, dict) and parameter.get("in") == "body":
            consumes = operation.get("consumes") or body.get("consumes") or ["application/json"]
            for content_type in consumes:
                schemas[str(content_type)] = parameter.get("schema")
    content = (operation.get("requestBody") or {}).get("content") or {}
    for content_type, media in content.items():
        schemas[str(content_type)] = (media or {}).get("schema")
    models: dict[str, str] = {}
    for content_type, schema in schemas.items():
        if not isinstance(schema, dict):
            continue
        ref = schema.get("$ref")
        if isinstance(ref, str) and len(schema) == 1:
            models[content_type] = ref.rsplit("/", 1)[-1]
            continue
        if inline_name not in backend.get_rest_api(api_id).models:
            backend.create_model(api_id, inline_name, content_type, "", json.dumps(schema))
        models[content_type] = inline_name
    return models


class _Security:
    def __init__(self, schemes: dict[str, Any], authorizers: dict[str, str]) -> None:
        self.schemes = schemes
        self.authorizers = authorizers

    def method_auth(self, requirements: list[Any]) -> dict[str, Any]:
        auth: dict[str, Any] = {"authorization_type": "NONE", "api_key_required": False}
        for requirement in requirements or []:
            for name, scopes in (requirement or {}).items():
                scheme = self.schemes.get(name) or {}
                authorizer = scheme.get("x-amazon-apigateway-authorizer")
                if name in self.authorizers and authorizer is not None:
                    cognito = str(authorizer.get("type", "")).lower() == "cognito_user_pools"
                    auth["authorization_type"] = "COGNITO_USER_POOLS" if cognito else "CUSTOM"
                    auth["authorizer_id"] = self.authorizers[name]
                    if scopes:
                        auth["authorization_scopes"] = list(scopes)
                elif str(scheme.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4":
                    auth["authorization_type"] = "AWS_IAM"
                elif scheme.get("type") == "apiKey":
                    auth["api_key_required"] = True
        return auth


def _import_authorizers(
    backend: APIGatewayBackend, api_id: str, schemes: dict[str, Any]
) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name, scheme in schemes.items():
        authorizer = (scheme or {}).get("x-amazon-apigateway-authorizer")
        if not isinstance(authorizer, dict):
            continue
        kind = str(authorizer.get("type", "token")).upper()
        identity_source = authorizer.get("identitySource")
        if identity_source is None and scheme.get("in") == "header" and scheme.get("name"):
            identity_source = f"method.request.header.{scheme['name']}"
        ttl = authorizer.get("authorizerResultTtlInSeconds")
        created = backend.create_authorizer(
            api_id,
            name,
            kind,
            provider_arns=authorizer.get("providerARNs"),
            auth_type=scheme.get("x-amazon-apigateway-authtype"),
            authorizer_uri=authorizer.get("authorizerUri"),
            authorizer_credentials=authorizer.get("authorizerCredentials"),
            identity_source=identity_source,
            identiy_validation_expression=authorizer.get("identityValidationExpression"),
            authorizer_result_ttl=300 if ttl is None else int(ttl),
        )
        ids[name] = str(created.id)
    return ids


def _put_integration(
    backend: APIGatewayBackend,
    api_id: str,
    resource_id: str,
    method: str,
    integration: dict[str, Any],
) -> None:
    kind = str(integration.get("type", "")).upper()
    backend.put_integration(
        function_id=api_id,
        resource_id=resource_id,
        method_type=method,
        integration_type=kind,
        uri=integration.get("uri"),  # type: ignore[arg-type]
        integration_method=integration.get("httpMethod"),  # type: ignore[arg-type]
        credentials=integration.get("credentials"),
        request_templates=integration.get("requestTemplates"),
        passthrough_behavior=integration.get("passthroughBehavior"),
        tls_config=integration.get("tlsConfig"),
        cache_namespace=integration.get("cacheNamespace"),
        timeout_in_millis=integration.get("timeoutInMillis"),
        request_parameters=integration.get("requestParameters"),
        content_handling=integration.get("contentHandling"),
        connection_type=integration.get("connectionType"),
    )
    for pattern, response in (integration.get("responses") or {}).items():
        backend.put_integration_response(
            function_id=api_id,
            resource_id=resource_id,
            method_type=method,
            status_code=str(response.get("statusCode", "200")),
            # "default" is the response without a selection pattern.
            selection_pattern="" if pattern == "default" else pattern,
            response_templates=response.get("responseTemplates") or {},
            response_parameters=response.get("responseParameters") or {},
            content_handling=response.get("contentHandling"),
        )


def import_definition(backend: APIGatewayBackend, api_id: str, body: dict[str, Any]) -> None:
    """Replace the API's resources, methods, authorizers... with those of ``body``."""
    api = backend.get_rest_api(api_id)
    root = api.resources[api.root_resource_id]
    root.resource_methods = {}
    api.resources = {root.id: root}
    api.authorizers = {}
    api.request_validators = {}
    api.models = {}
    api.gateway_responses = {}

    schemes = _security_schemes(body)
    security = _Security(schemes, _import_authorizers(backend, api_id, schemes))
    validators = {
        name: backend.create_request_validator(
            api_id, name, spec.get("validateRequestBody"), spec.get("validateRequestParameters")
        ).id
        for name, spec in (body.get("x-amazon-apigateway-request-validators") or {}).items()
    }
    default_validator = body.get("x-amazon-apigateway-request-validator")
    if "x-amazon-apigateway-binary-media-types" in body:
        api.binaryMediaTypes = list(body["x-amazon-apigateway-binary-media-types"] or [])
    if body.get("x-amazon-apigateway-api-key-source"):
        # HEADER (x-api-key) or AUTHORIZER (the Lambda authorizer's usageIdentifierKey).
        api.api_key_source = str(body["x-amazon-apigateway-api-key-source"]).upper()
    if "x-amazon-apigateway-policy" in body:
        api.policy = json.dumps(body["x-amazon-apigateway-policy"])
    for response_type, response in (
        body.get("x-amazon-apigateway-gateway-responses") or {}
    ).items():
        backend.put_gateway_response(
            api_id,
            response_type,
            status_code=response.get("statusCode"),
            response_parameters=response.get("responseParameters"),
            response_templates=response.get("responseTemplates"),
        )
    for name, schema in _models(body).items():
        backend.create_model(api_id, name, "application/json", "", json.dumps(schema))

    for path, item in sorted((body.get("paths") or {}).items()):
        resource = _ensure_resource(backend, api, path)
        shared_parameters = list(item.get("parameters") or [])
        for key, operation in item.items():
            if key.lower() not in HTTP_METHODS and key != ANY_METHOD:
                continue
            operation = operation or {}
            method = "ANY" if key == ANY_METHOD else key.upper()
            auth = security.method_auth(operation.get("security", body.get("security", [])))
            validator = operation.get("x-amazon-apigateway-request-validator", default_validator)
            parameters = shared_parameters + list(operation.get("parameters") or [])
            # A name for an inline body schema, as the import names it: PostItemsIdBody.
            inline_name = (
                "".join(
                    part[:1].upper() + part[1:].lower()
                    if index == 0
                    else part[:1].upper() + part[1:]
                    for index, part in enumerate(re.split(r"[^A-Za-z0-9]+", f"{method} {path}"))
                    if part
                )
                + "Body"
            )
            backend.put_method(
                api_id,
                resource.id,
                method,
                auth["authorization_type"],
                api_key_required=auth["api_key_required"],
                request_parameters=_request_parameters(parameters) or None,
                request_models=_request_models(
                    backend, api_id, body, operation, parameters, inline_name
                )
                or None,
                operation_name=operation.get("operationId"),
                authorizer_id=auth.get("authorizer_id"),
                authorization_scopes=auth.get("authorization_scopes"),
                request_validator_id=validators.get(validator) if validator else None,
            )
            for status_code, response in (operation.get("responses") or {}).items():
                backend.put_method_response(
                    api_id,
                    resource.id,
                    method,
                    str(status_code),
                    response_models=None,
                    response_parameters={
                        f"method.response.header.{header}": False
                        for header in ((response or {}).get("headers") or {})
                    }
                    or None,
                )
            integration = operation.get("x-amazon-apigateway-integration")
            if isinstance(integration, dict):
                _put_integration(backend, api_id, resource.id, method, integration)
