"""Fn::Sub resolves ${Resource.Attribute.Path} by splitting at the first dot, as AWS does."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, outputs, unique


@pytest.fixture
def cfn(aws):
    return aws("cloudformation")


@pytest.fixture
def stack_name(cfn):
    name = unique("cfn-sub")
    yield name
    with contextlib.suppress(ClientError):
        cfn.delete_stack(StackName=name)


def test_fn_sub_still_resolves_attributes_and_literals(cfn, stack_name):
    """AWS docs (Fn::Sub): ${MyResource.MyAttribute} is Fn::GetAtt, and ${!Literal} is
    written out without the "!" and unresolved; the rewrite for dotted attribute names leaves
    both forms working through a real stack."""
    template = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
                },
            }
        },
        "Outputs": {
            "Plain": {"Value": {"Fn::Sub": "arn=${Table.StreamArn} literal=${!Not.Resolved}"}},
        },
    }
    values = outputs(create(cfn, stack_name, template))
    assert values["Plain"].startswith("arn=arn:aws:dynamodb:")
    assert values["Plain"].endswith(" literal=${Not.Resolved}")


def test_an_attribute_name_with_dots_resolves_in_fn_sub():
    """${Db.Endpoint.Address} must ask the resource for attribute "Endpoint.Address" (first
    dot only); moto asked for "Endpoint" and failed. Checked on the rewrite itself, since the
    resources with dotted attributes (RDS clusters) need a database server."""
    from localcloud.cloudformation.fn_sub import _split_dotted_references

    template, variables = _split_dotted_references("host=${Db.Endpoint.Address}:${Db.Port}")
    assert template == "host=${LocalCloudGetAtt0}:${Db.Port}"
    assert variables == {"LocalCloudGetAtt0": {"Fn::GetAtt": ["Db", "Endpoint.Address"]}}
    assert _split_dotted_references(["${A.B.C}", {"X": "1"}]) == [
        "${LocalCloudGetAtt1}",
        {"X": "1", "LocalCloudGetAtt1": {"Fn::GetAtt": ["A", "B.C"]}},
    ]
    assert _split_dotted_references("${!A.B.C} ${Plain}") == "${!A.B.C} ${Plain}"
