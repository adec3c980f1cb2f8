"""HTTP APIs end to end on the local cloud: client -> data plane -> real Lambda -> client.

The APIs are made the ways users make them: through the apigatewayv2 control plane, and as
``AWS::Serverless::HttpApi`` in a SAM template deployed through CloudFormation; their URL is
the stack output's ``execute-api`` URL mapped by ``localcloud.urls``.

AWS rules checked here (API Gateway developer guide, HTTP APIs): payload format 2.0 event
and response inference; the ``$default`` stage at the API's root URL, a named stage under its
name (and in ``rawPath``); a Lambda authorizer with simple responses (401 without the
identity source, 403 when not authorized); CORS preflight answered by the gateway; route
throttling (429); ``HTTP_PROXY`` passing method, path, query, headers and body through; JWT
authorizers validating Amazon Cognito tokens; 404 ``Not Found`` off the routes.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud.urls import local_execute_api_url

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, delete, outputs, unique, update, upload_zip

REGION = "us-east-1"

HANDLERS = """
import json


def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event), "cookies": ["seen=1"]}


def plain(event, context):
    # No statusCode: HTTP APIs answer 200 with this object as the JSON body.
    return {"route": event["routeKey"], "fn": context.function_name}


def boom(event, context):
    raise RuntimeError("the function failed")


def gate(event, context):
    token = (event.get("headers") or {}).get("authorization")
    return {"isAuthorized": token == "letmein", "context": {"user": "ana"}}
"""


def local_url(api_id: str, endpoint_url: str, stage_path: str = "") -> str:
    aws_url = f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{stage_path}"
    return local_execute_api_url(aws_url, endpoint_url).rstrip("/")


@pytest.fixture(scope="module")
def functions(aws, lambda_role, zip_files) -> Iterator[dict[str, str]]:
    lam = aws("lambda")
    code = zip_files({"handlers.py": HANDLERS})
    arns = {}
    for name in ("echo", "plain", "boom"):
        arns[name] = lam.create_function(
            FunctionName=f"httpapi-{name}-{uuid.uuid4().hex[:8]}",
            Runtime="python3.13",
            Role=lambda_role,
            Handler=f"handlers.{name}",
            Code={"ZipFile": code},
            Timeout=10,
        )["FunctionArn"]
    yield arns
    for arn in arns.values():
        lam.delete_function(FunctionName=arn)


def add_lambda_route(apigw: Any, api_id: str, route_key: str, function_arn: str) -> None:
    integration = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function_arn,
        PayloadFormatVersion="2.0",
    )
    apigw.create_route(
        ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration['IntegrationId']}"
    )


@pytest.fixture(scope="module")
def control_plane_api(local_cloud, aws, functions) -> Iterator[tuple[str, str]]:
    """An HTTP API made with the apigatewayv2 API: ``(api id, $default stage URL)``."""
    apigw = aws("apigatewayv2")
    api_id = apigw.create_api(Name=f"httpapi-{uuid.uuid4().hex[:8]}", ProtocolType="HTTP")["ApiId"]
    add_lambda_route(apigw, api_id, "ANY /echo/{proxy+}", functions["echo"])
    add_lambda_route(apigw, api_id, "GET /plain", functions["plain"])
    add_lambda_route(apigw, api_id, "GET /boom", functions["boom"])
    apigw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    yield api_id, local_url(api_id, local_cloud.endpoint_url)
    apigw.delete_api(ApiId=api_id)


def test_control_plane_api_serves_a_real_function_with_the_v2_event(control_plane_api):
    api_id, url = control_plane_api
    response = requests.post(
        f"{url}/echo/a/b?x=1&x=2",
        headers={"Content-Type": "application/json", "Cookie": "c1=v1"},
        data=b'{"n": 1}',
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["apigw-requestid"]
    assert response.cookies.get("seen") == "1"
    event = response.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /echo/{proxy+}"
    assert event["rawPath"] == "/echo/a/b"
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["c1=v1"]
    assert event["body"] == '{"n": 1}'
    assert event["requestContext"]["apiId"] == api_id
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "POST"


def test_answer_without_status_code_errors_and_unknown_routes(control_plane_api):
    _, url = control_plane_api
    plain = requests.get(f"{url}/plain", timeout=30)
    assert plain.status_code == 200
    assert plain.headers["Content-Type"] == "application/json"
    assert plain.json()["route"] == "GET /plain"
    boom = requests.get(f"{url}/boom", timeout=30)
    assert boom.status_code == 500
    assert boom.json() == {"message": "Internal Server Error"}
    missing = requests.get(f"{url}/nowhere", timeout=30)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found"}


def test_http_proxy_integration_passes_the_request_through(local_cloud, aws, control_plane_api):
    """A second API proxies ``/up/{proxy+}`` to the first one's ``/echo/{proxy}``."""
    target_id, target_url = control_plane_api
    apigw = aws("apigatewayv2")
    api_id = apigw.create_api(Name=f"proxy-{uuid.uuid4().hex[:8]}", ProtocolType="HTTP")["ApiId"]
    try:
        integration = apigw.create_integration(
            ApiId=api_id,
            IntegrationType="HTTP_PROXY",
            IntegrationMethod="ANY",
            IntegrationUri=f"{target_url}/echo/{{proxy}}",
            PayloadFormatVersion="1.0",
        )
        apigw.create_route(
            ApiId=api_id,
            RouteKey="ANY /up/{proxy+}",
            Target=f"integrations/{integration['IntegrationId']}",
        )
        apigw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        url = local_url(api_id, local_cloud.endpoint_url)
        response = requests.put(
            f"{url}/up/x/y?k=v", headers={"X-Custom": "hello"}, data=b"payload", timeout=30
        )
        assert response.status_code == 200, response.text
        event = response.json()
        assert event["requestContext"]["apiId"] == target_id
        assert event["requestContext"]["http"]["method"] == "PUT"
        assert event["rawPath"] == "/echo/x/y"
        assert event["rawQueryString"] == "k=v"
        assert event["headers"]["x-custom"] == "hello"
        # No Content-Type: the body reaches the target's function base64-encoded.
        assert event["isBase64Encoded"] is True
    finally:
        apigw.delete_api(ApiId=api_id)


def sam_template(code: dict[str, str]) -> dict[str, Any]:
    uri = f"s3://{code['S3Bucket']}/{code['S3Key']}"
    function = {"CodeUri": uri, "Runtime": "python3.13", "Timeout": 10}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "StageName": "live",
                    "StageVariables": {"table": "orders-live"},
                    "RouteSettings": {
                        "GET /limited": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 0.001}
                    },
                    "CorsConfiguration": {
                        "AllowOrigins": ["https://app.example.com"],
                        "AllowMethods": ["GET", "POST"],
                        "AllowHeaders": ["authorization", "content-type"],
                        "MaxAge": 600,
                    },
                    "Auth": {
                        "DefaultAuthorizer": "Gate",
                        "Authorizers": {
                            "Gate": {
                                "FunctionArn": {"Fn::GetAtt": ["GateFn", "Arn"]},
                                "AuthorizerPayloadFormatVersion": "2.0",
                                "EnableSimpleResponses": True,
                                "Identity": {"Headers": ["Authorization"]},
                            }
                        },
                    },
                },
            },
            "GateFn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {**function, "Handler": "handlers.gate"},
            },
            "EchoFn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    **function,
                    "Handler": "handlers.echo",
                    "Events": {
                        "Get": {
                            "Type": "HttpApi",
                            "Properties": {
                                "ApiId": {"Ref": "Api"},
                                "Path": "/orders/{id}",
                                "Method": "GET",
                            },
                        },
                        "Post": {
                            "Type": "HttpApi",
                            "Properties": {
                                "ApiId": {"Ref": "Api"},
                                "Path": "/orders",
                                "Method": "POST",
                                "Auth": {"Authorizer": "NONE"},
                            },
                        },
                    },
                },
            },
            "PlainFn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    **function,
                    "Handler": "handlers.plain",
                    # No ApiId: SAM makes the implicit ServerlessHttpApi with a $default stage.
                    "Events": {
                        "Any": {
                            "Type": "HttpApi",
                            "Properties": {"Path": "/ping", "Method": "any"},
                        },
                        "Limited": {
                            "Type": "HttpApi",
                            "Properties": {
                                "ApiId": {"Ref": "Api"},
                                "Path": "/limited",
                                "Method": "GET",
                                "Auth": {"Authorizer": "NONE"},
                            },
                        },
                    },
                },
            },
        },
        "Outputs": {
            "OrdersUrl": {
                "Value": {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/live"}
            },
            "PingUrl": {
                "Value": {
                    "Fn::Sub": "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/ping"
                }
            },
        },
    }


@pytest.fixture(scope="module")
def sam_stack(local_cloud, aws) -> Iterator[dict[str, str]]:
    cfn = aws("cloudformation")
    name = unique("httpapi-sam")
    code = upload_zip(aws, {"handlers.py": HANDLERS})
    stack = create(cfn, name, sam_template(code))
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    yield {
        key: local_execute_api_url(value, local_cloud.endpoint_url)
        for key, value in outputs(stack).items()
    }
    delete(cfn, name)


def test_sam_http_api_named_stage_with_lambda_authorizer(sam_stack):
    url = sam_stack["OrdersUrl"]
    assert requests.get(f"{url}/orders/7", timeout=30).status_code == 401
    denied = requests.get(f"{url}/orders/7", headers={"Authorization": "nope"}, timeout=30)
    assert denied.status_code == 403
    assert denied.json() == {"message": "Forbidden"}
    response = requests.get(f"{url}/orders/7", headers={"Authorization": "letmein"}, timeout=30)
    assert response.status_code == 200, response.text
    event = response.json()
    assert event["routeKey"] == "GET /orders/{id}"
    assert event["rawPath"] == "/live/orders/7"
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"table": "orders-live"}
    assert event["requestContext"]["stage"] == "live"
    assert event["requestContext"]["authorizer"] == {"lambda": {"user": "ana"}}
    # The route opted out of the default authorizer.
    created = requests.post(f"{url}/orders", json={"item": "tea"}, timeout=30)
    assert created.status_code == 200, created.text
    assert json.loads(created.json()["body"]) == {"item": "tea"}
    # No $default stage on this API: the stage segment is required.
    assert requests.post(url.rsplit("/live", 1)[0] + "/orders", timeout=30).status_code == 404


def test_sam_http_api_cors_preflight_and_implicit_api(sam_stack):
    url = sam_stack["OrdersUrl"]
    preflight = requests.options(
        f"{url}/orders/7",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
        timeout=30,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    answer = requests.get(sam_stack["PingUrl"], timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["route"] == "ANY /ping"


def test_stack_update_serves_the_new_routes_at_once(local_cloud, aws):
    """The $default stage auto-deploys: after UpdateStack the old route is gone (404)."""
    cfn = aws("cloudformation")
    name = unique("httpapi-update")
    code = upload_zip(aws, {"handlers.py": HANDLERS})

    def template(path: str) -> dict[str, Any]:
        return {
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {
                        "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                        "Handler": "handlers.plain",
                        "Runtime": "python3.13",
                        "Events": {
                            "Get": {
                                "Type": "HttpApi",
                                "Properties": {"Path": path, "Method": "GET"},
                            }
                        },
                    },
                }
            },
            "Outputs": {
                "Url": {
                    "Value": {
                        "Fn::Sub": "https://${ServerlessHttpApi}.execute-api.${AWS::Region}"
                        ".amazonaws.com/"
                    }
                }
            },
        }

    try:
        stack = create(cfn, name, template("/v1"))
        url = local_execute_api_url(outputs(stack)["Url"], local_cloud.endpoint_url).rstrip("/")
        assert requests.get(f"{url}/v1", timeout=30).json()["route"] == "GET /v1"
        updated = update(cfn, name, template("/v2"))
        assert updated["StackStatus"] == "UPDATE_COMPLETE", updated.get("StackStatusReason")
        assert requests.get(f"{url}/v1", timeout=30).status_code == 404
        assert requests.get(f"{url}/v2", timeout=30).json()["route"] == "GET /v2"
    finally:
        delete(cfn, name)


def test_sam_http_api_route_throttling(sam_stack):
    """RouteSettings of the stage: a burst of one, then 429 until the bucket refills."""
    url = sam_stack["OrdersUrl"]
    assert requests.get(f"{url}/limited", timeout=30).status_code == 200
    throttled = requests.get(f"{url}/limited", timeout=30)
    assert throttled.status_code == 429
    assert throttled.json() == {"message": "Too Many Requests"}


@pytest.fixture(scope="module")
def cognito(aws) -> Iterator[dict[str, str]]:
    """A user pool with a client and a user: the issuer, the client id and the user's tokens."""
    idp = aws("cognito-idp")
    pool_id = idp.create_user_pool(PoolName=f"pool-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="ana")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username="ana", Password="Passw0rd!Passw0rd", Permanent=True
    )
    tokens = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana", "PASSWORD": "Passw0rd!Passw0rd"},
    )["AuthenticationResult"]
    yield {
        "pool_id": pool_id,
        "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
        "client_id": client_id,
        "id_token": tokens["IdToken"],
        "access_token": tokens["AccessToken"],
    }
    idp.delete_user_pool(UserPoolId=pool_id)


def test_jwt_authorizer_validates_cognito_tokens(local_cloud, aws, functions, cognito):
    pool_id, client_id = cognito["pool_id"], cognito["client_id"]
    tokens = {"IdToken": cognito["id_token"], "AccessToken": cognito["access_token"]}
    apigw = aws("apigatewayv2")
    api_id = apigw.create_api(Name=f"jwt-{uuid.uuid4().hex[:8]}", ProtocolType="HTTP")["ApiId"]
    try:
        authorizer_id = apigw.create_authorizer(
            ApiId=api_id,
            AuthorizerType="JWT",
            Name="cognito",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={
                "Issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
                "Audience": [client_id],
            },
        )["AuthorizerId"]
        integration = apigw.create_integration(
            ApiId=api_id,
            IntegrationType="AWS_PROXY",
            IntegrationUri=functions["echo"],
            PayloadFormatVersion="2.0",
        )
        apigw.create_route(
            ApiId=api_id,
            RouteKey="GET /me",
            Target=f"integrations/{integration['IntegrationId']}",
            AuthorizationType="JWT",
            AuthorizerId=authorizer_id,
        )
        apigw.create_stage(ApiId=api_id, StageName="$default")
        url = local_url(api_id, local_cloud.endpoint_url)
        assert requests.get(f"{url}/me", timeout=30).status_code == 401
        tampered = tokens["IdToken"][:-4] + "AAAA"
        assert (
            requests.get(f"{url}/me", headers={"Authorization": tampered}, timeout=30).status_code
            == 401
        )
        for token in (tokens["IdToken"], tokens["AccessToken"]):
            response = requests.get(
                f"{url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            assert response.status_code == 200, response.text
            claims = response.json()["requestContext"]["authorizer"]["jwt"]["claims"]
            assert claims["iss"].endswith(pool_id)
            assert claims["username" if "username" in claims else "cognito:username"] == "ana"
    finally:
        apigw.delete_api(ApiId=api_id)


def test_sam_jwt_authorizer_with_scopes(local_cloud, aws, cognito):
    """SAM's JWT authorizer (OpenAPI security scheme) and a route's AuthorizationScopes: the
    access token holds the scope, the ID token holds none (403)."""
    cfn = aws("cloudformation")
    name = unique("httpapi-jwt")
    code = upload_zip(aws, {"handlers.py": HANDLERS})
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Parameters": {"Issuer": {"Type": "String"}, "Audience": {"Type": "String"}},
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "Auth": {
                        "DefaultAuthorizer": "Cognito",
                        "Authorizers": {
                            "Cognito": {
                                "IdentitySource": "$request.header.Authorization",
                                "JwtConfiguration": {
                                    "issuer": {"Ref": "Issuer"},
                                    "audience": [{"Ref": "Audience"}],
                                },
                            }
                        },
                    }
                },
            },
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "handlers.echo",
                    "Runtime": "python3.13",
                    "Events": {
                        "Get": {
                            "Type": "HttpApi",
                            "Properties": {
                                "ApiId": {"Ref": "Api"},
                                "Path": "/profile",
                                "Method": "GET",
                                "Auth": {
                                    "Authorizer": "Cognito",
                                    "AuthorizationScopes": ["aws.cognito.signin.user.admin"],
                                },
                            },
                        }
                    },
                },
            },
        },
        "Outputs": {
            "Url": {
                "Value": {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/"}
            }
        },
    }
    try:
        stack = create(cfn, name, template, Issuer=cognito["issuer"], Audience=cognito["client_id"])
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        url = local_execute_api_url(outputs(stack)["Url"], local_cloud.endpoint_url).rstrip("/")
        assert requests.get(f"{url}/profile", timeout=30).status_code == 401
        id_token = {"Authorization": f"Bearer {cognito['id_token']}"}
        assert requests.get(f"{url}/profile", headers=id_token, timeout=30).status_code == 403
        access = {"Authorization": f"Bearer {cognito['access_token']}"}
        response = requests.get(f"{url}/profile", headers=access, timeout=30)
        assert response.status_code == 200, response.text
        jwt_context = response.json()["requestContext"]["authorizer"]["jwt"]
        assert jwt_context["scopes"] == ["aws.cognito.signin.user.admin"]
        assert jwt_context["claims"]["client_id"] == cognito["client_id"]
    finally:
        delete(cfn, name)
