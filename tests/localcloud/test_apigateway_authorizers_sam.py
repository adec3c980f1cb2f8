"""A SAM API with a Lambda TOKEN authorizer, API keys and a usage plan, deployed through
CloudFormation on the local cloud and called over HTTP, with real functions.

SAM turns ``Auth: DefaultAuthorizer`` into an ``x-amazon-apigateway-authorizer`` of the
Swagger body, ``Auth: ApiKeyRequired: true`` into an ``api_key`` security scheme on every
method, and ``UsagePlan: CreateUsagePlan: PER_API`` into ``AWS::ApiGateway::UsagePlan``,
``AWS::ApiGateway::ApiKey`` and ``AWS::ApiGateway::UsagePlanKey`` resources (SAM
specification, "ApiAuth" and "ApiUsagePlan"). AWS rules checked: API Gateway developer
guide, "Use API Gateway Lambda authorizers" (401 without token, 403 on Deny, cached result,
context in requestContext.authorizer) and "Usage plans and API keys for REST APIs" (403
without key, 429 Limit Exceeded past the quota).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud.urls import local_execute_api_url

# --import-mode=importlib leaves sys.path alone; the helpers beside this file are imported by name.
sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, delete, outputs, unique, upload_zip

QUOTA = 5

CODE = {
    "authorizer.py": """
        def handler(event, context):
            token = event["authorizationToken"]
            if token == "deny":
                effect = "Deny"
            elif token.startswith("allow"):
                effect = "Allow"
            else:
                raise Exception("Unauthorized")
            return {
                "principalId": "user-" + token,
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Action": "execute-api:Invoke",
                            "Effect": effect,
                            "Resource": event["methodArn"],
                        }
                    ],
                },
                # Which invocation answered: a cached result repeats it.
                "context": {"invocation": context.aws_request_id, "tier": 2},
            }
    """,
    "backend.py": """
        import json

        def handler(event, context):
            return {
                "statusCode": 200,
                "body": json.dumps({"authorizer": event["requestContext"].get("authorizer")}),
            }
    """,
}


def template(code: dict[str, str]) -> dict[str, Any]:
    uri = f"s3://{code['S3Bucket']}/{code['S3Key']}"
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Globals": {"Function": {"Runtime": "python3.13", "CodeUri": uri, "Timeout": 10}},
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": "live",
                    "Auth": {
                        "DefaultAuthorizer": "TokenAuth",
                        "ApiKeyRequired": True,
                        "Authorizers": {
                            "TokenAuth": {
                                "FunctionArn": {"Fn::GetAtt": ["AuthFn", "Arn"]},
                                "Identity": {"Header": "Authorization", "ReauthorizeEvery": 300},
                            }
                        },
                        "UsagePlan": {
                            "CreateUsagePlan": "PER_API",
                            "Quota": {"Limit": QUOTA, "Period": "DAY"},
                            "Throttle": {"BurstLimit": 100, "RateLimit": 50},
                        },
                    },
                },
            },
            "AuthFn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "authorizer.handler"},
            },
            "BackendFn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "backend.handler",
                    "Events": {
                        "Get": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "Api"},
                                "Path": "/items",
                                "Method": "get",
                            },
                        }
                    },
                },
            },
        },
        "Outputs": {
            "ApiUrl": {
                "Value": {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/live"}
            },
            "ApiKeyId": {"Value": {"Ref": "ApiApiKey"}},
            "UsagePlanId": {"Value": {"Ref": "ApiUsagePlan"}},
        },
    }


@pytest.fixture(scope="module")
def deployed(local_cloud, aws) -> Iterator[dict[str, str]]:
    """The stack's outputs, plus the API key's value (as a client would fetch it)."""
    cfn = aws("cloudformation")
    name = unique("apigw-auth-sam")
    stack = create(cfn, name, template(upload_zip(aws, CODE)))
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    values = outputs(stack)
    key = aws("apigateway").get_api_key(apiKey=values["ApiKeyId"], includeValue=True)
    values["ApiKey"] = key["value"]
    values["Url"] = local_execute_api_url(values["ApiUrl"], local_cloud.endpoint_url) + "/items"
    yield values
    delete(cfn, name)


def test_sam_creates_the_usage_plan_with_the_key(aws, deployed):
    """SAM's PER_API usage plan includes the API's stage, with its quota and throttle, and
    the generated API key is enabled and associated with it."""
    apigw = aws("apigateway")
    plan = apigw.get_usage_plan(usagePlanId=deployed["UsagePlanId"])
    assert plan["apiStages"][0]["stage"] == "live"
    assert plan["quota"]["limit"] == QUOTA
    keys = apigw.get_usage_plan_keys(usagePlanId=deployed["UsagePlanId"])["items"]
    assert [k["id"] for k in keys] == [deployed["ApiKeyId"]]
    assert apigw.get_api_key(apiKey=deployed["ApiKeyId"])["enabled"] is True


def test_sam_token_authorizer_api_key_and_quota(deployed):
    """Through the deployed stack: no token is 401, Deny is 403, an error "Unauthorized" is
    401, no API key is 403; allowed requests reach the backend with the authorizer's
    principalId and context, the result is cached per token (same invocation), and past the
    usage plan's quota the answer is 429 Limit Exceeded."""
    url, key = deployed["Url"], deployed["ApiKey"]
    no_token = requests.get(url, headers={"x-api-key": key}, timeout=30)
    assert (no_token.status_code, no_token.json()) == (401, {"message": "Unauthorized"})
    denied = requests.get(url, headers={"x-api-key": key, "Authorization": "deny"}, timeout=30)
    assert denied.status_code == 403
    assert "explicit deny" in denied.text
    refused = requests.get(url, headers={"x-api-key": key, "Authorization": "nope"}, timeout=30)
    assert refused.status_code == 401
    no_key = requests.get(url, headers={"Authorization": "allow-1"}, timeout=30)
    assert (no_key.status_code, no_key.json()) == (403, {"message": "Forbidden"})

    allowed = [
        requests.get(url, headers={"x-api-key": key, "Authorization": "allow-1"}, timeout=30)
        for _ in range(2)
    ]
    assert [r.status_code for r in allowed] == [200, 200], allowed[0].text
    first, second = (r.json()["authorizer"] for r in allowed)
    assert first["principalId"] == "user-allow-1"
    assert first["tier"] == "2"
    assert first["invocation"] == second["invocation"]  # the cached result answered
    other = requests.get(url, headers={"x-api-key": key, "Authorization": "allow-2"}, timeout=30)
    assert other.status_code == 200
    assert other.json()["authorizer"]["invocation"] != first["invocation"]

    # The no-key request passed the authorizer but not the key check: it used no quota.
    used = 3
    statuses = [
        requests.get(url, headers={"x-api-key": key, "Authorization": "allow-1"}, timeout=30)
        for _ in range(QUOTA - used + 1)
    ]
    assert [r.status_code for r in statuses] == [200] * (QUOTA - used) + [429]
    assert statuses[-1].json() == {"message": "Limit Exceeded"}


def test_sam_method_settings_throttle_the_stage(local_cloud, aws):
    """A SAM Api's MethodSettings (ResourcePath /*, HttpMethod *, ThrottlingBurstLimit,
    ThrottlingRateLimit) throttle every method of the stage: past the burst, 429 Too Many
    Requests (API Gateway developer guide, "Throttle requests to your REST APIs")."""
    cfn = aws("cloudformation")
    code = upload_zip(aws, CODE)
    body = template(code)
    api = body["Resources"]["Api"]["Properties"]
    del api["Auth"]
    api["MethodSettings"] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingBurstLimit": 2,
            "ThrottlingRateLimit": 0.001,
        }
    ]
    body["Outputs"] = {"ApiUrl": template(code)["Outputs"]["ApiUrl"]}
    name = unique("apigw-throttle-sam")
    stack = create(cfn, name, body)
    try:
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        url = local_execute_api_url(outputs(stack)["ApiUrl"], local_cloud.endpoint_url)
        statuses = [requests.get(f"{url}/items", timeout=30).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
    finally:
        delete(cfn, name)
