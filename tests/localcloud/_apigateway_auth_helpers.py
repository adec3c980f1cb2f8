"""Helpers of the authorizer and usage plan tests: a REST API built with the control plane,
served by the data plane in this process, with stand-in Lambda functions counted per ARN."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from localcloud.apigateway.lambda_invoker import InvocationResult

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "/_aws/execute-api"
BACKEND = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:backend"
AUTHORIZER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:authorizer"


def lambda_uri(function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def policy(effect: str, resource: str | list[str], **extra: Any) -> dict[str, Any]:
    """An authorizer answer allowing or denying ``resource``."""
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        **extra,
    }


class FakeFunctions:
    """Lambda behind the invoker port: one handler per function ARN, every event recorded."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {BACKEND: [], AUTHORIZER: []}
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            BACKEND: lambda event: {"statusCode": 200, "body": json.dumps({"ok": True})},
            AUTHORIZER: lambda event: policy("Allow", "*"),
        }

    def invoke(
        self, function_arn: str, payload: bytes, trace_header: str | None = None
    ) -> InvocationResult:
        event = json.loads(payload)
        self.events.setdefault(function_arn, []).append(event)
        answer = self.handlers[function_arn](event)
        if isinstance(answer, InvocationResult):
            return answer
        return InvocationResult(json.dumps(answer).encode())

    def count(self, function_arn: str) -> int:
        return len(self.events.get(function_arn, []))

    def last(self, function_arn: str) -> dict[str, Any]:
        return self.events[function_arn][-1]


def function_error(message: str) -> InvocationResult:
    """What Lambda answers when the handler raised ``Exception(message)``."""
    payload = {"errorMessage": message, "errorType": "Exception", "stackTrace": []}
    return InvocationResult(json.dumps(payload).encode(), "Unhandled")


def build_api(
    apigw: Any,
    routes: dict[tuple[str, str], dict[str, Any]],
    *,
    authorizer: dict[str, Any] | None = None,
    stage: str = "Prod",
    variables: dict[str, str] | None = None,
    gateway_responses: dict[str, dict[str, Any]] | None = None,
    api_key_source: str | None = None,
) -> str:
    """A REST API whose routes are ``{(path, method): put_method extras}``.

    ``authorizer`` holds CreateAuthorizer arguments (the authorizer URI is added); a route
    with ``"auth": True`` uses it.
    """
    options = {"apiKeySource": api_key_source} if api_key_source else {}
    api_id = apigw.create_rest_api(name="auth-test-api", **options)["id"]
    authorizer_id = None
    if authorizer is not None:
        authorizer_id = apigw.create_authorizer(
            restApiId=api_id,
            name="the-authorizer",
            authorizerUri=lambda_uri(AUTHORIZER),
            **authorizer,
        )["id"]
    for response_type, customisation in (gateway_responses or {}).items():
        apigw.put_gateway_response(restApiId=api_id, responseType=response_type, **customisation)
    ids = {"/": apigw.get_resources(restApiId=api_id)["items"][0]["id"]}

    def resource_id(path: str) -> str:
        if path not in ids:
            parent, _, part = path.rpartition("/")
            ids[path] = apigw.create_resource(
                restApiId=api_id, parentId=resource_id(parent or "/"), pathPart=part
            )["id"]
        return ids[path]

    for (path, method), spec in routes.items():
        rid = resource_id(path)
        extras: dict[str, Any] = {"authorizationType": "NONE"}
        if spec.get("auth"):
            extras = {"authorizationType": "CUSTOM", "authorizerId": authorizer_id}
        if spec.get("apiKeyRequired"):
            extras["apiKeyRequired"] = True
        apigw.put_method(restApiId=api_id, resourceId=rid, httpMethod=method, **extras)
        apigw.put_integration(
            restApiId=api_id,
            resourceId=rid,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(BACKEND),
        )
    apigw.create_deployment(restApiId=api_id, stageName=stage, variables=variables or {})
    return api_id


def url(api_id: str, path: str, stage: str = "Prod") -> str:
    return f"{PREFIX}/{api_id}/{stage}{path}"


def body(response: Any) -> Any:
    return json.loads(response.get_data())
