"""IAM roles made by CloudFormation: inline policies are JSON documents and follow updates."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, outputs, unique, update

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _role_template(policies: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": TRUST,
                    "Policies": [
                        {
                            "PolicyName": name,
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {"Effect": "Allow", "Action": actions, "Resource": "*"}
                                ],
                            },
                        }
                        for name, actions in policies.items()
                    ],
                },
            }
        },
        "Outputs": {"RoleName": {"Value": {"Ref": "Role"}}},
    }


@pytest.fixture
def cfn(aws):
    return aws("cloudformation")


@pytest.fixture
def stack_name(cfn):
    name = unique("cfn-iam")
    yield name
    with contextlib.suppress(ClientError):
        cfn.delete_stack(StackName=name)


def test_inline_policies_of_a_role_are_json_documents(aws, cfn, stack_name):
    """IAM stores policy documents as JSON: GetRolePolicy returns the document CloudFormation
    was given (boto3 decodes it to a dict), for the inline Policies of an AWS::IAM::Role."""
    stack = create(cfn, stack_name, _role_template({"ReadQueues": ["sqs:ReceiveMessage"]}))
    role = outputs(stack)["RoleName"]
    document = aws("iam").get_role_policy(RoleName=role, PolicyName="ReadQueues")
    assert document["PolicyDocument"]["Statement"][0]["Action"] == ["sqs:ReceiveMessage"]


def test_a_stack_update_replaces_the_inline_policies(aws, cfn, stack_name):
    """Updating AWS::IAM::Role Policies changes the role's inline policies in place: a changed
    document is rewritten, a removed one deleted, a new one added."""
    create(cfn, stack_name, _role_template({"Old": ["sqs:ReceiveMessage"], "Kept": ["s3:*"]}))
    stack = update(cfn, stack_name, _role_template({"Kept": ["s3:GetObject"], "New": ["sns:*"]}))
    iam = aws("iam")
    role = outputs(stack)["RoleName"]
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == ["Kept", "New"]
    kept = iam.get_role_policy(RoleName=role, PolicyName="Kept")["PolicyDocument"]
    assert kept["Statement"][0]["Action"] == ["s3:GetObject"]
