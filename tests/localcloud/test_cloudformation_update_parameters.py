"""Stack updates with UsePreviousValue, as CloudFormation resolves them."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, outputs, settled, unique

TEMPLATE = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "v1"},
        "Size": {"Type": "String", "Default": "small"},
    },
    "Resources": {
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": {"Fn::Sub": "${Stage}-${Size}"}},
        }
    },
    "Outputs": {"Label": {"Value": {"Fn::Sub": "${Stage}-${Size}"}}},
}


@pytest.fixture
def cfn(aws):
    return aws("cloudformation")


@pytest.fixture
def stack_name(cfn):
    name = unique("cfn-params")
    yield name
    with contextlib.suppress(ClientError):
        cfn.delete_stack(StackName=name)


def test_use_previous_value_keeps_a_parameter_that_took_its_default(cfn, stack_name):
    """AWS (UpdateStack, Parameter.UsePreviousValue): the stack keeps the value the parameter
    had, even when that value came from the template's Default; the other one changes."""
    create(cfn, stack_name, TEMPLATE)
    cfn.update_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[
            {"ParameterKey": "Stage", "UsePreviousValue": True},
            {"ParameterKey": "Size", "ParameterValue": "large"},
        ],
    )
    assert outputs(settled(cfn, stack_name))["Label"] == "v1-large"


def test_use_previous_value_for_an_unknown_key_is_refused(cfn, stack_name):
    """AWS refuses UsePreviousValue for a key the stack has no previous value for, with a
    ValidationError naming the key (and the stack is left as it was)."""
    create(cfn, stack_name, TEMPLATE)
    with pytest.raises(ClientError, match=r"ValidationError.*\bNope\b"):
        cfn.update_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": "Nope", "UsePreviousValue": True}],
        )
    assert cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
