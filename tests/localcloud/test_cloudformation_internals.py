"""The pieces behind CloudFormation on the local cloud: moto patches, parsing, URLs, types.

moto is pinned exactly and its internals change between releases; these tests are what
tells an upgrade broke a patch.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import moto
import pytest
from moto.cloudformation.exceptions import ValidationError

from localcloud.cloudformation import registry
from localcloud.cloudformation._patching import PATCHES, callable_of
from localcloud.cloudformation.dependencies import creation_order, references
from localcloud.cloudformation.engine import describe_error, generate_name
from localcloud.cloudformation.template_urls import split_s3_url
from localcloud.cloudformation.templates import declared_transforms, parse_template

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, events, outputs, unique


def test_moto_is_the_pinned_version():
    """The patches were written against moto 5.2.5's internals; another version must be
    reviewed (and this pin moved) deliberately."""
    assert moto.__version__ == "5.2.5"


def test_every_patch_is_installed_with_the_signature_it_replaces(local_cloud):
    """Each replaced moto function is in place and keeps the parameters of moto's original,
    so moto's callers still reach it the way they call the original."""
    labels = {patch.label for patch in PATCHES.values()}
    for expected in (
        "CloudFormationBackend.create_stack",
        "CloudFormationBackend.update_stack",
        "CloudFormationBackend.create_change_set",
        "CloudFormationBackend.execute_change_set",
        "CloudFormationBackend.delete_stack",
        "CloudFormationResponse.get_template",
        "Stack.parse_template",
        "Stack.stack_resources",
        "ChangeSet._parse_template",
        "FakeBucket.get_permission",
        "moto.cloudformation.parsing.resource_class_from_type",
        "moto.cloudformation.parsing.parse_and_create_resource",
        "moto.cloudformation.responses.get_stack_from_s3_url",
    ):
        assert any(label.endswith(expected) for label in labels), expected
    for patch in PATCHES.values():
        assert inspect.getattr_static(patch.owner, patch.name) is patch.replacement, patch.label
        original = inspect.signature(callable_of(patch.original))
        replacement = inspect.signature(callable_of(patch.replacement))
        assert list(original.parameters) == list(replacement.parameters), patch.label


def test_yaml_reads_short_form_intrinsics_and_keeps_dates_as_strings():
    """CloudFormation's YAML: !GetAtt a.b is [a, b], !Sub/!If keep their arguments, and an
    unquoted 2012-10-17 is the string a policy Version needs."""
    template = parse_template(
        """
Resources:
  R:
    Type: AWS::SNS::Topic
    Properties:
      A: !GetAtt Thing.Attr.Nested
      B: !Sub "${AWS::Region}-x"
      C: !If [Cond, !Ref X, !Ref AWS::NoValue]
      D: !Join ["", [a, !Ref Y]]
      Version: 2012-10-17
"""
    )
    props = template["Resources"]["R"]["Properties"]
    assert props["A"] == {"Fn::GetAtt": ["Thing", "Attr.Nested"]}
    assert props["B"] == {"Fn::Sub": "${AWS::Region}-x"}
    assert props["C"] == {"Fn::If": ["Cond", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]}
    assert props["D"] == {"Fn::Join": ["", ["a", {"Ref": "Y"}]]}
    assert props["Version"] == "2012-10-17"


def test_transform_may_be_a_string_or_a_list():
    assert declared_transforms({"Transform": "AWS::Serverless-2016-10-31"}) == [
        "AWS::Serverless-2016-10-31"
    ]
    assert declared_transforms(
        {"Transform": ["AWS::Serverless-2016-10-31", {"Name": "AWS::Include"}]}
    ) == ["AWS::Serverless-2016-10-31", "AWS::Include"]
    assert declared_transforms({}) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:4566/bucket/path/t.yaml", ("bucket", "path/t.yaml", None)),
        ("http://localhost:4566/bucket/t.yaml?versionId=v1", ("bucket", "t.yaml", "v1")),
        ("http://bucket.localhost:4566/t.yaml", ("bucket", "t.yaml", None)),
        ("https://s3.amazonaws.com/bucket/a%20b.yaml", ("bucket", "a b.yaml", None)),
        ("https://s3.eu-west-1.amazonaws.com/bucket/t.yaml", ("bucket", "t.yaml", None)),
        ("https://bucket.s3.amazonaws.com/t.yaml", ("bucket", "t.yaml", None)),
        ("https://my.bucket.s3.us-east-1.amazonaws.com/k/t.yaml", ("my.bucket", "k/t.yaml", None)),
        ("https://bucket.s3-us-west-2.amazonaws.com/t.yaml", ("bucket", "t.yaml", None)),
        ("s3://bucket/t.yaml", ("bucket", "t.yaml", None)),
    ],
)
def test_template_url_shapes(url, expected):
    """TemplateURL accepts path-style and virtual-hosted S3 URLs; a URL on the local cloud
    itself (loopback address) is path-style whatever its host."""
    assert split_s3_url(url) == expected


def test_template_url_elsewhere_is_refused():
    with pytest.raises(ValidationError, match="TemplateURL must be a supported URL"):
        split_s3_url("https://example.com/t.yaml")


def test_references_and_creation_order():
    """Dependencies come from Ref, Fn::GetAtt (both forms), Fn::Sub variables (not its local
    names or ${!literals}) and DependsOn; independent resources keep template order."""
    resources = {
        "Fn": {"Type": "T", "Properties": {"Role": {"Fn::GetAtt": "Role.Arn"}}},
        "Perm": {
            "Type": "T",
            "Properties": {"F": {"Fn::Sub": ["${Fn}-${local}-${!x}", {"local": {"Ref": "Q"}}]}},
        },
        "Role": {"Type": "T"},
        "Q": {"Type": "T", "DependsOn": ["Role"]},
        "Free": {"Type": "T"},
    }
    assert references(resources["Perm"]) == {"Fn", "Q"}
    order = creation_order(resources)
    assert order.index("Role") < order.index("Fn") < order.index("Perm")
    assert order.index("Q") < order.index("Perm")
    assert order.index("Role") < order.index("Free")  # both independent: template order


def test_generated_names_follow_aws_limits():
    """CloudFormation shortens generated names to the service's limit (64 for Lambda
    functions and IAM roles) and keeps a FIFO queue's .fifo suffix."""
    long_stack = "a-very-long-stack-name-for-a-pattern-app-that-goes-on"
    function = generate_name("AWS::Lambda::Function", long_stack, "ItemsFunctionWithALongName", {})
    assert len(function) <= 64
    stack_part, logical_part, suffix = function.rsplit("-", 2)
    assert long_stack.startswith(stack_part)
    assert len(stack_part) >= 20
    assert "ItemsFunctionWithALongName".startswith(logical_part)
    assert len(logical_part) >= 20
    assert len(suffix) == 12
    queue = generate_name("AWS::SQS::Queue", long_stack * 2, "Orders", {"FifoQueue": True})
    assert queue.endswith(".fifo")
    assert len(queue) <= 80


def test_type_resolution():
    """Every type resolves: local models first, then moto's, then the no-local-effect list;
    anything else is unsupported and says so."""
    assert registry.resolve("AWS::Lambda::Function").__module__.startswith("localcloud.")
    assert registry.resolve("AWS::SQS::Queue").__module__.startswith("moto.")
    assert registry.resolve("AWS::Logs::MetricFilter").__name__ == "NoLocalEffect"
    assert not registry.is_supported("AWS::Foo::Bar")
    assert not registry.is_supported("Custom::Thing")
    with pytest.raises(registry.UnsupportedResourceType, match="Transform: AWS::Serverless"):
        registry.resolve("AWS::Serverless::Function").create_from_cloudformation_json()


def test_local_models_join_motos_model_list(local_cloud):
    """moto finds models through CloudFormationModel.__subclasses__(): the local models are
    direct subclasses, so moto's own lookups (name properties, model map) see them."""
    from moto.cloudformation.parsing import get_model_map

    model_map = get_model_map()
    for resource_type in registry.local_model_types():
        assert model_map[resource_type].__module__.startswith("localcloud.cloudformation.models")


def test_error_reasons_are_readable():
    assert describe_error(ValueError("InvalidParameterValueException", "bad code")) == (
        'Resource handler returned message: "bad code" (HandlerErrorCode: '
        "InvalidParameterValueException)"
    )
    assert describe_error(ValidationError(message="nope")) == (
        'Resource handler returned message: "nope" (HandlerErrorCode: ValidationError)'
    )


def test_no_local_effect_types_are_accepted_and_recorded(aws):
    """A type on the no-local-effect allow-list creates nothing but is part of the stack, and
    Ref to it yields its physical id."""
    cfn = aws("cloudformation")
    name = unique("cfn-noeffect")
    template = {
        "Resources": {
            "Group": {"Type": "AWS::Logs::LogGroup"},
            "Filter": {
                "Type": "AWS::Logs::MetricFilter",
                "Properties": {
                    "LogGroupName": {"Ref": "Group"},
                    "FilterPattern": "ERROR",
                    "MetricTransformations": [
                        {"MetricName": "Errors", "MetricNamespace": "X", "MetricValue": "1"}
                    ],
                },
            },
        },
        "Outputs": {"Filter": {"Value": {"Ref": "Filter"}}},
    }
    try:
        stack = create(cfn, name, template)
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert outputs(stack)["Filter"].startswith(f"{name}-Filter-")
        assert ("Filter", "CREATE_COMPLETE") in [
            (e["LogicalResourceId"], e["ResourceStatus"]) for e in events(cfn, name)
        ]
    finally:
        cfn.delete_stack(StackName=name)
