"""Request validation of REST APIs: request validators, required parameters and body models.

APIs are built with the real control-plane calls (CreateModel, CreateRequestValidator,
PutMethod with ``requestParameters``/``requestModels``/``requestValidatorId``) or imported from
the Swagger document SAM writes for ``RequestModel``; requests go to the local cloud's
execute-api URL and the integration is an HTTP_PROXY to a recording server, so "never reaches
the integration" is checked on the wire. AWS rules: API Gateway developer guide, "Request
validation for REST APIs in API Gateway" (required parameters present and not blank; the body
against the model of its content type, ``$default`` otherwise, not validated without one; 400
``Invalid request body`` / ``Missing required request parameters: [...]``), "Data models for
REST APIs" (JSON Schema draft 4, models referring to models) and "Gateway response types"
(BAD_REQUEST_BODY, BAD_REQUEST_PARAMETERS, ``$context.error.validationErrorString``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from _apigateway_integration_helpers import (
    Backend,
    apigw_fixture,  # noqa: F401
    backend_fixture,  # noqa: F401
    execute_url,
)

ORDER = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["id", "quantity"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "quantity": {"type": "integer", "minimum": 1},
    },
    "additionalProperties": False,
}


@pytest.fixture
def endpoint(local_cloud: Any) -> str:
    return str(local_cloud.endpoint_url)


def build_api(
    apigw: Any,
    backend: Backend,
    *,
    validate_body: bool = True,
    validate_parameters: bool = True,
    validator: bool = True,
    request_parameters: dict[str, bool] | None = None,
    request_models: dict[str, str] | None = None,
    models: dict[str, dict[str, Any]] | None = None,
    gateway_responses: dict[str, dict[str, Any]] | None = None,
    path_part: str = "orders",
) -> str:
    """``POST /{path_part}`` proxied to ``backend``, guarded as the arguments say; deployed."""
    api_id = apigw.create_rest_api(name="validation-test-api")["id"]
    for name, schema in (models if models is not None else {"Order": ORDER}).items():
        apigw.create_model(
            restApiId=api_id, name=name, contentType="application/json", schema=json.dumps(schema)
        )
    for response_type, customisation in (gateway_responses or {}).items():
        apigw.put_gateway_response(restApiId=api_id, responseType=response_type, **customisation)
    extra: dict[str, Any] = {}
    if validator:
        extra["requestValidatorId"] = apigw.create_request_validator(
            restApiId=api_id,
            name="check",
            validateRequestBody=validate_body,
            validateRequestParameters=validate_parameters,
        )["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=path_part)["id"]
    apigw.put_method(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        authorizationType="NONE",
        requestParameters=request_parameters or {},
        requestModels=request_models
        if request_models is not None
        else {"application/json": "Order"},
        **extra,
    )
    uri = backend.url + "/" + path_part.replace("{", "").replace("}", "")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        type="HTTP_PROXY",
        integrationHttpMethod="POST",
        uri=uri,
    )
    apigw.create_deployment(restApiId=api_id, stageName="Prod")
    return api_id


def post(url: str, body: Any = None, *, raw: bytes | None = None, **headers: str) -> Any:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    return requests.post(url, data=data, headers=headers, timeout=10)


# --- parameters -------------------------------------------------------------------------------


def test_missing_required_parameters_are_400_listed_by_name(apigw, backend, endpoint):
    """validateRequestParameters: each required query string, header and path parameter must
    be present; a failure is 400 naming the missing ones and never reaches the integration."""
    api_id = build_api(
        apigw,
        backend,
        validate_body=False,
        request_parameters={
            "method.request.querystring.tenant": True,
            "method.request.header.X-Request-Source": True,
            "method.request.querystring.optional": False,
        },
    )
    url = execute_url(endpoint, api_id, "/orders")
    response = post(url, {"id": "a", "quantity": 1}, **{"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "message": "Missing required request parameters: [tenant, X-Request-Source]"
    }
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert backend.requests == []


def test_blank_required_parameters_count_as_missing(apigw, backend, endpoint):
    """Required parameters must be "included and not blank": an empty value fails as absent."""
    api_id = build_api(
        apigw,
        backend,
        validate_body=False,
        request_parameters={
            "method.request.querystring.tenant": True,
            "method.request.header.X-Request-Source": True,
        },
    )
    url = execute_url(endpoint, api_id, "/orders") + "?tenant="
    response = post(url, {}, **{"X-Request-Source": ""})
    assert response.status_code == 400
    assert "[tenant, X-Request-Source]" in response.json()["message"]
    assert backend.requests == []


def test_present_parameters_pass_to_the_integration(apigw, backend, endpoint):
    """With every required parameter present the request goes on, unchanged."""
    api_id = build_api(
        apigw,
        backend,
        validate_body=False,
        request_parameters={
            "method.request.querystring.tenant": True,
            "method.request.header.X-Request-Source": True,
        },
    )
    url = execute_url(endpoint, api_id, "/orders") + "?tenant=t1"
    response = post(url, {"anything": True}, **{"X-Request-Source": "test"})
    assert response.status_code == 200
    assert backend.last.path == "/orders?tenant=t1"
    assert json.loads(backend.last.body) == {"anything": True}


def test_parameters_are_not_checked_by_a_body_only_validator(apigw, backend, endpoint):
    """A validator with validateRequestParameters false lets a request without the required
    parameters through (required alone validates nothing)."""
    api_id = build_api(
        apigw,
        backend,
        validate_parameters=False,
        request_parameters={"method.request.querystring.tenant": True},
    )
    response = post(execute_url(endpoint, api_id, "/orders"), {"id": "a", "quantity": 2})
    assert response.status_code == 200
    assert len(backend.requests) == 1


def test_parameters_are_checked_before_the_body(apigw, backend, endpoint):
    """Both wrong: the answer is the parameters' 400 (they are checked first)."""
    api_id = build_api(
        apigw, backend, request_parameters={"method.request.querystring.tenant": True}
    )
    response = post(execute_url(endpoint, api_id, "/orders"), {"id": 5})
    assert response.status_code == 400
    assert response.json()["message"].startswith("Missing required request parameters")


# --- body -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"id": "a"},  # a required property missing
        {"id": "a", "quantity": "two"},  # wrong type
        {"id": "a", "quantity": 0},  # below the minimum
        {"id": "a", "quantity": 1, "extra": True},  # additionalProperties false
        [1, 2],  # not an object
    ],
)
def test_body_not_matching_the_model_is_400(apigw, backend, endpoint, body):
    """validateRequestBody: the JSON body must match the model of its content type."""
    api_id = build_api(apigw, backend, validate_parameters=False)
    response = post(
        execute_url(endpoint, api_id, "/orders"), body, **{"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid request body"}
    assert backend.requests == []


def test_body_that_is_not_json_is_400(apigw, backend, endpoint):
    api_id = build_api(apigw, backend, validate_parameters=False)
    response = post(
        execute_url(endpoint, api_id, "/orders"),
        raw=b"{not json",
        **{"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid request body"}
    assert backend.requests == []


def test_empty_body_is_validated_as_an_empty_object(apigw, backend, endpoint):
    """No body against a model with required properties is an invalid body."""
    api_id = build_api(apigw, backend, validate_parameters=False)
    response = post(
        execute_url(endpoint, api_id, "/orders"), **{"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert backend.requests == []


def test_valid_body_reaches_the_integration(apigw, backend, endpoint):
    api_id = build_api(apigw, backend, validate_parameters=False)
    response = post(
        execute_url(endpoint, api_id, "/orders"),
        {"id": "a", "quantity": 3},
        **{"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert json.loads(backend.last.body) == {"id": "a", "quantity": 3}


def test_request_without_content_type_is_validated_as_json(apigw, backend, endpoint):
    """A request without Content-Type is taken as application/json."""
    api_id = build_api(apigw, backend, validate_parameters=False)
    response = requests.post(
        execute_url(endpoint, api_id, "/orders"), data=b'{"id": "a"}', timeout=10
    )
    assert response.status_code == 400
    assert backend.requests == []


def test_content_type_without_a_model_is_not_validated(apigw, backend, endpoint):
    """ "If no matching content type is found, request validation is not performed.\""""
    api_id = build_api(apigw, backend, validate_parameters=False)
    response = post(
        execute_url(endpoint, api_id, "/orders"), raw=b"id=a", **{"Content-Type": "text/plain"}
    )
    assert response.status_code == 200
    assert backend.last.body == b"id=a"


def test_default_model_applies_to_every_content_type(apigw, backend, endpoint):
    """A model for ``$default`` validates bodies of any content type."""
    api_id = build_api(
        apigw, backend, validate_parameters=False, request_models={"$default": "Order"}
    )
    url = execute_url(endpoint, api_id, "/orders")
    refused = post(url, raw=b'{"id": "a"}', **{"Content-Type": "text/plain"})
    assert refused.status_code == 400
    accepted = post(url, raw=b'{"id": "a", "quantity": 1}', **{"Content-Type": "text/plain"})
    assert accepted.status_code == 200
    assert len(backend.requests) == 1


def test_method_without_a_validator_is_not_validated(apigw, backend, endpoint):
    """Models alone validate nothing: the method needs a request validator."""
    api_id = build_api(apigw, backend, validator=False)
    response = post(execute_url(endpoint, api_id, "/orders"), {"id": 7})
    assert response.status_code == 200
    assert len(backend.requests) == 1


def test_a_model_may_refer_to_another_model(apigw, backend, endpoint):
    """Models refer to models by ``https://apigateway.amazonaws.com/restapis/{id}/models/{name}``
    ("Data models for REST APIs")."""
    line = {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}
    cart = {
        "type": "object",
        "required": ["lines"],
        "properties": {
            "lines": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "https://apigateway.amazonaws.com/restapis/any/models/Line"},
            }
        },
    }
    api_id = build_api(
        apigw,
        backend,
        validate_parameters=False,
        models={"Line": line, "Cart": cart},
        request_models={"application/json": "Cart"},
    )
    url = execute_url(endpoint, api_id, "/orders")
    assert post(url, {"lines": [{"sku": 1}]}).status_code == 400
    assert post(url, {"lines": []}).status_code == 400
    assert post(url, {"lines": [{"sku": "x"}]}).status_code == 200
    assert len(backend.requests) == 1


def test_bad_request_body_response_can_be_customised_with_the_validation_error(
    apigw, backend, endpoint
):
    """BAD_REQUEST_BODY is a gateway response: its template may show
    ``$context.error.validationErrorString`` (why the body failed)."""
    api_id = build_api(
        apigw,
        backend,
        validate_parameters=False,
        gateway_responses={
            "BAD_REQUEST_BODY": {
                "statusCode": "422",
                "responseTemplates": {
                    "application/json": '{"error": "$context.error.validationErrorString"}'
                },
            }
        },
    )
    response = post(execute_url(endpoint, api_id, "/orders"), {"id": "a"})
    assert response.status_code == 422
    assert "quantity" in response.json()["error"]
    assert backend.requests == []


# --- the model and validator of a SAM / OpenAPI definition ------------------------------------


def test_imported_swagger_body_parameter_is_the_request_model(
    apigw, backend, endpoint, local_cloud
):
    """SAM's ``RequestModel`` becomes an ``in: body`` parameter with a ``$ref`` to
    ``#/definitions/{model}``, plus ``x-amazon-apigateway-request-validator(s)``: the import
    makes it the method's application/json model, validated as on AWS."""
    from moto.apigateway.models import apigateway_backends

    from localcloud.cloudformation.models.openapi import import_definition

    body = {
        "swagger": "2.0",
        "info": {"title": "imported", "version": "1.0"},
        "x-amazon-apigateway-request-validators": {
            "body-and-params": {"validateRequestBody": True, "validateRequestParameters": True}
        },
        "definitions": {"order": ORDER},
        "paths": {
            "/orders": {
                "post": {
                    "x-amazon-apigateway-request-validator": "body-and-params",
                    "parameters": [
                        {
                            "in": "body",
                            "name": "order",
                            "required": True,
                            "schema": {"$ref": "#/definitions/order"},
                        },
                        {"in": "query", "name": "tenant", "required": True, "type": "string"},
                    ],
                    "responses": {},
                    "x-amazon-apigateway-integration": {
                        "type": "http_proxy",
                        "httpMethod": "POST",
                        "uri": backend.url + "/orders",
                    },
                }
            }
        },
    }
    api_id = apigw.create_rest_api(name="imported")["id"]
    moto_backend = apigateway_backends[local_cloud.settings.account_id][apigw.meta.region_name]
    import_definition(moto_backend, api_id, body)
    apigw.create_deployment(restApiId=api_id, stageName="Prod")
    url = execute_url(endpoint, api_id, "/orders")
    assert post(url, {"id": "a", "quantity": 1}).status_code == 400  # no tenant
    assert post(url + "?tenant=t", {"id": "a"}).json() == {"message": "Invalid request body"}
    assert post(url + "?tenant=t", {"id": "a", "quantity": 1}).status_code == 200
    assert len(backend.requests) == 1


def test_cloudformation_model_and_request_validator(aws, endpoint):
    """``AWS::ApiGateway::Model`` (Ref: the model name) and ``AWS::ApiGateway::RequestValidator``
    (Ref: its id) deployed through CloudFormation guard a method as they do on AWS, and an
    ``AWS::ApiGateway::GatewayResponse`` reshapes the BAD_REQUEST_BODY answer."""
    from _cfn_helpers import create, delete, outputs, unique

    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "validated"}},
            "OrderModel": {
                "Type": "AWS::ApiGateway::Model",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Name": "Order",
                    "ContentType": "application/json",
                    "Schema": ORDER,
                },
            },
            "Validator": {
                "Type": "AWS::ApiGateway::RequestValidator",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ValidateRequestBody": True,
                    "ValidateRequestParameters": "true",
                },
            },
            "BadBody": {
                "Type": "AWS::ApiGateway::GatewayResponse",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResponseType": "BAD_REQUEST_BODY",
                    "StatusCode": "422",
                    "ResponseParameters": {"gatewayresponse.header.X-Why": "'invalid'"},
                    "ResponseTemplates": {
                        "application/json": '{"why": "$context.error.validationErrorString"}'
                    },
                },
            },
            "Orders": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "PathPart": "orders",
                },
            },
            "Post": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "ResourceId": {"Ref": "Orders"},
                    "HttpMethod": "POST",
                    "AuthorizationType": "NONE",
                    "RequestValidatorId": {"Ref": "Validator"},
                    "RequestModels": {"application/json": {"Ref": "OrderModel"}},
                    "RequestParameters": {"method.request.header.X-Tenant": True},
                    "Integration": {
                        "Type": "MOCK",
                        "RequestTemplates": {"application/json": '{"statusCode": 200}'},
                        "IntegrationResponses": [
                            {
                                "StatusCode": "200",
                                "ResponseTemplates": {"application/json": '{"ok": true}'},
                            }
                        ],
                    },
                    "MethodResponses": [{"StatusCode": "200"}],
                },
            },
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "DependsOn": ["Post", "BadBody"],
                "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "Prod"},
            },
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
    }
    cfn = aws("cloudformation")
    stack_name = unique("validation")
    stack = create(cfn, stack_name, template)
    try:
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        url = execute_url(endpoint, outputs(stack)["ApiId"], "/orders")
        missing = post(url, {"id": "a", "quantity": 1})
        assert missing.json() == {"message": "Missing required request parameters: [X-Tenant]"}
        invalid = post(url, {"id": "a"}, **{"X-Tenant": "t"})
        assert (invalid.status_code, invalid.headers["X-Why"]) == (422, "invalid")
        assert "quantity" in invalid.json()["why"]
        valid = post(url, {"id": "a", "quantity": 1}, **{"X-Tenant": "t"})
        assert (valid.status_code, valid.json()) == (200, {"ok": True})
    finally:
        delete(cfn, stack_name)
