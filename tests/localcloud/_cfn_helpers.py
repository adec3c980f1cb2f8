"""Helpers of the CloudFormation and deploy tests (imported by test modules beside it)."""

from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from stack_testing import wait_for

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS_BUCKET = "cfn-tests-artifacts"

HANDLER = """
    import json, os

    def handler(event, context):
        return {"statusCode": 200, "body": json.dumps({"greeting": os.environ.get("GREETING")})}
"""


def build_zip(files: Mapping[str, str | bytes]) -> bytes:
    """A zip of ``{archive path: content}`` (text is dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            data = textwrap.dedent(content).encode() if isinstance(content, str) else content
            archive.writestr(path, data)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def upload_zip(aws: Callable[..., Any], files: Mapping[str, str | bytes]) -> dict[str, str]:
    """Upload a zip of ``files`` to the artifacts bucket; returns ``{"S3Bucket", "S3Key"}``."""
    s3 = aws("s3")
    try:
        s3.head_bucket(Bucket=ARTIFACTS_BUCKET)
    except ClientError:
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    key = f"{uuid.uuid4().hex}.zip"
    s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=build_zip(files))
    return {"S3Bucket": ARTIFACTS_BUCKET, "S3Key": key}


def settled(cfn: Any, stack_name: str, timeout: float = 30.0) -> dict[str, Any]:
    """The stack once it has left every ``*_IN_PROGRESS`` state (CloudFormation is async)."""

    def done() -> dict[str, Any] | None:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        return None if stack["StackStatus"].endswith("_IN_PROGRESS") else dict(stack)

    return wait_for(done, timeout=timeout, interval=0.05, description=f"stack {stack_name}")


def outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def events(cfn: Any, stack_name: str) -> list[dict[str, Any]]:
    """The stack's events, oldest first."""
    return list(reversed(cfn.describe_stack_events(StackName=stack_name)["StackEvents"]))


def body(template: Mapping[str, Any]) -> str:
    return json.dumps(template)


def create(
    cfn: Any, stack_name: str, template: Mapping[str, Any] | str, **params: str
) -> dict[str, Any]:
    """CreateStack and wait until it settles; returns the described stack."""
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=template if isinstance(template, str) else body(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    return settled(cfn, stack_name)


def update(
    cfn: Any, stack_name: str, template: Mapping[str, Any] | str, **params: str
) -> dict[str, Any]:
    cfn.update_stack(
        StackName=stack_name,
        TemplateBody=template if isinstance(template, str) else body(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    return settled(cfn, stack_name)


def delete(cfn: Any, stack_name: str) -> None:
    """DeleteStack and wait until the stack is gone."""
    cfn.delete_stack(StackName=stack_name)

    def gone() -> bool:
        try:
            stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        except ClientError as exc:
            return "does not exist" in str(exc)
        return stack["StackStatus"] == "DELETE_COMPLETE"

    wait_for(gone, timeout=30, interval=0.05, description=f"deletion of {stack_name}")


def sam_function_template(code: Mapping[str, str], **extra_resources: Any) -> dict[str, Any]:
    """A SAM template: one function behind a REST API method, plus ``extra_resources``."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Parameters": {"Greeting": {"Type": "String", "Default": "hello"}},
        "Resources": {
            "Api": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "live"}},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Environment": {"Variables": {"GREETING": {"Ref": "Greeting"}}},
                    "Events": {
                        "Get": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "Api"},
                                "Path": "/hello",
                                "Method": "get",
                            },
                        }
                    },
                },
            },
            **extra_resources,
        },
        "Outputs": {
            "ApiId": {"Value": {"Ref": "Api"}},
            "FunctionName": {"Value": {"Ref": "Fn"}},
        },
    }
