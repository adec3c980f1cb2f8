"""CloudFormation on the local cloud: SAM templates create, update and delete like on AWS."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from localcloud.urls import local_execute_api_url

# --import-mode=importlib leaves sys.path alone; the helpers beside this file are imported by name.
sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import (
    ARTIFACTS_BUCKET,
    HANDLER,
    body,
    create,
    delete,
    events,
    outputs,
    sam_function_template,
    settled,
    unique,
    update,
    upload_zip,
)


@pytest.fixture
def cfn(aws):
    return aws("cloudformation")


@pytest.fixture
def code(aws):
    return upload_zip(aws, {"app.py": HANDLER})


@pytest.fixture
def layer_content(aws):
    return upload_zip(aws, {"python/cfn_test_layer.py": "VALUE = 42\n"})


@pytest.fixture
def stack_name(cfn):
    name = unique("cfn")
    yield name
    with contextlib.suppress(ClientError):
        cfn.delete_stack(StackName=name)


def test_sam_transform_runs_server_side(cfn, code, stack_name):
    """CloudFormation expands Transform: AWS::Serverless-2016-10-31 before creating resources:
    a SAM function becomes an AWS::Lambda::Function and an IAM role."""
    stack = create(cfn, stack_name, sam_function_template(code))

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = {
        r["LogicalResourceId"]: r["ResourceType"]
        for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    }
    assert resources["Fn"] == "AWS::Lambda::Function"
    assert resources["FnRole"] == "AWS::IAM::Role"
    assert resources["Api"] == "AWS::ApiGateway::RestApi"
    assert "AWS::Serverless::Function" not in resources.values()


def test_get_template_stages(cfn, code, stack_name):
    """GetTemplate returns the processed template by default and the submitted one for
    TemplateStage=Original (sam delete reads the original to find its artifacts)."""
    template = sam_function_template(code)
    create(cfn, stack_name, template)

    original = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    processed = cfn.get_template(StackName=stack_name)["TemplateBody"]

    assert original["Transform"] == "AWS::Serverless-2016-10-31"
    assert original["Resources"]["Fn"]["Type"] == "AWS::Serverless::Function"
    assert "Transform" not in processed
    assert processed["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"


def test_yaml_template_with_short_form_intrinsics(cfn, code, stack_name):
    """CloudFormation reads YAML with short-form intrinsics (!Ref, !GetAtt a.b, !Sub) and keeps
    dates such as a policy Version as strings."""
    template = f"""
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - Effect: Allow
            Principal: {{Service: lambda.amazonaws.com}}
            Action: sts:AssumeRole
Outputs:
  QueueArn:
    Value: !GetAtt Queue.Arn
  QueueUrl:
    Value: !Ref Queue
  Described:
    Value: !Sub "${{Queue.QueueName}} in ${{AWS::Region}}"
  Bucket:
    Value: {code["S3Bucket"]}
"""
    stack = create(cfn, stack_name, template)

    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    values = outputs(stack)
    assert values["QueueArn"].startswith("arn:aws:sqs:us-east-1:")
    assert values["QueueUrl"].endswith(values["QueueArn"].rsplit(":", 1)[1])
    assert values["Described"].endswith(" in us-east-1")


def test_ref_and_getatt_values_are_those_aws_documents(aws, cfn, code, layer_content, stack_name):
    """Ref of a RestApi is its id and GetAtt RootResourceId its root resource; Ref of a
    LayerVersion is the layer version ARN; Ref of a Deployment is its id; Ref of a Stage is
    the stage name, and the stage has its variables, tracing, method settings and access log
    setting."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {"LayerName": stack_name, "Content": layer_content},
            },
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {
                    "Body": {
                        "swagger": "2.0",
                        "info": {"title": "refs", "version": "1"},
                        "paths": {
                            "/": {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}}
                        },
                    }
                },
            },
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "Properties": {"RestApiId": {"Ref": "Api"}},
            },
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "DeploymentId": {"Ref": "Deployment"},
                    "StageName": "prod",
                    "Variables": {"mode": "strict"},
                    "TracingEnabled": True,
                    "MethodSettings": [
                        {
                            "ResourcePath": "/*",
                            "HttpMethod": "*",
                            "ThrottlingBurstLimit": 20,
                            "ThrottlingRateLimit": 10,
                        }
                    ],
                    "AccessLogSetting": {
                        "DestinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:access",
                        "Format": "$context.requestId",
                    },
                },
            },
        },
        "Outputs": {
            "ApiId": {"Value": {"Ref": "Api"}},
            "RootId": {"Value": {"Fn::GetAtt": ["Api", "RootResourceId"]}},
            "LayerArn": {"Value": {"Ref": "Layer"}},
            "LayerArnAttr": {"Value": {"Fn::GetAtt": ["Layer", "LayerVersionArn"]}},
            "StageName": {"Value": {"Ref": "Stage"}},
            "DeploymentId": {"Value": {"Ref": "Deployment"}},
        },
    }
    values = outputs(create(cfn, stack_name, template))

    apigw = aws("apigateway")
    api = apigw.get_rest_api(restApiId=values["ApiId"])
    assert api["name"] == "refs"  # no Name: the imported definition's title
    root = [r for r in apigw.get_resources(restApiId=values["ApiId"])["items"] if r["path"] == "/"]
    assert values["RootId"] == root[0]["id"]
    versions = aws("lambda").list_layer_versions(LayerName=stack_name)["LayerVersions"]
    assert values["LayerArn"] == versions[0]["LayerVersionArn"] == values["LayerArnAttr"]
    assert values["StageName"] == "prod"
    stage = apigw.get_stage(restApiId=values["ApiId"], stageName="prod")
    assert stage["deploymentId"] == values["DeploymentId"]
    assert stage["variables"] == {"mode": "strict"}
    assert stage["tracingEnabled"] is True
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 20
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 10.0
    assert stage["accessLogSettings"]["format"] == "$context.requestId"


def test_function_keeps_layers_concurrency_and_configuration(
    aws, cfn, code, layer_content, stack_name
):
    """A function created by CloudFormation has every property the template gives it:
    Layers (as version ARNs), ReservedConcurrentExecutions, Architectures, TracingConfig,
    DeadLetterConfig, Environment, Tags (moto's own model drops several)."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Layer": {
                "Type": "AWS::Serverless::LayerVersion",
                "Properties": {
                    "ContentUri": f"s3://{layer_content['S3Bucket']}/{layer_content['S3Key']}"
                },
            },
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Architectures": ["arm64"],
                    "Tracing": "Active",
                    "Layers": [{"Ref": "Layer"}],
                    "ReservedConcurrentExecutions": 3,
                    "MemorySize": 256,
                    "Timeout": 7,
                    "Environment": {"Variables": {"LIMIT": 5}},
                    "DeadLetterQueue": {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
                    "Tags": {"team": "patterns"},
                },
            },
        },
        "Outputs": {"Fn": {"Value": {"Ref": "Fn"}}, "LayerArn": {"Value": {"Ref": "Layer"}}},
    }
    values = outputs(create(cfn, stack_name, template))

    function = aws("lambda").get_function(FunctionName=values["Fn"])
    config = function["Configuration"]
    assert [layer["Arn"] for layer in config["Layers"]] == [values["LayerArn"]]
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == 3
    assert config["Architectures"] == ["arm64"]
    assert config["TracingConfig"] == {"Mode": "Active"}
    assert (config["MemorySize"], config["Timeout"]) == (256, 7)
    assert config["Environment"]["Variables"] == {"LIMIT": "5"}  # Lambda stores strings
    assert function["Tags"]["team"] == "patterns"
    # Lambda's API does not echo DeadLetterConfig here; the local runtime reads it from the
    # function object in this process.
    from moto.awslambda.models import lambda_backends

    fn = lambda_backends["123456789012"]["us-east-1"].get_function(values["Fn"])
    assert fn.dead_letter_config["TargetArn"].startswith("arn:aws:sqs:us-east-1:")


def test_rest_api_body_becomes_resources_methods_and_proxy_integrations(aws, cfn, code, stack_name):
    """A RestApi imported from SAM's Swagger body has a resource per path and a method whose
    integration is the x-amazon-apigateway-integration: type AWS_PROXY, POST to the
    function's invocation URI."""
    values = outputs(create(cfn, stack_name, sam_function_template(code)))

    apigw = aws("apigateway")
    resources = apigw.get_resources(restApiId=values["ApiId"], embed=["methods"])["items"]
    hello = next(r for r in resources if r["path"] == "/hello")
    integration = apigw.get_integration(
        restApiId=values["ApiId"], resourceId=hello["id"], httpMethod="GET"
    )
    assert integration["type"] == "AWS_PROXY"
    assert integration["httpMethod"] == "POST"
    assert integration["uri"] == (
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:us-east-1:123456789012:function:{values['FunctionName']}/invocations"
    )
    policy = json.loads(aws("lambda").get_policy(FunctionName=values["FunctionName"])["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}


def test_deployed_api_serves_requests(local_cloud, cfn, code, stack_name):
    """What the stack creates is usable: the stage URL from the outputs answers through the
    function (the data plane reads the imported API)."""
    values = outputs(create(cfn, stack_name, sam_function_template(code), Greeting="salut"))

    url = local_execute_api_url(
        f"https://{values['ApiId']}.execute-api.us-east-1.amazonaws.com/live/hello",
        local_cloud.endpoint_url,
    )
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert response.json() == {"greeting": "salut"}


def test_outputs_of_a_stack_created_by_change_set(cfn, code, stack_name):
    """A stack created by executing a CREATE change set has its Outputs (moto left them empty:
    it built them from the change set's empty starting template)."""
    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=body(sam_function_template(code)),
        Capabilities=["CAPABILITY_IAM"],
    )
    change_set = cfn.describe_change_set(StackName=stack_name, ChangeSetName="create")
    assert change_set["Status"] == "CREATE_COMPLETE"
    assert (
        cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
        == "REVIEW_IN_PROGRESS"
    )

    cfn.execute_change_set(StackName=stack_name, ChangeSetName="create")
    stack = settled(cfn, stack_name)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert set(outputs(stack)) == {"ApiId", "FunctionName"}


def test_unknown_resource_type_rolls_the_stack_back(aws, cfn, stack_name):
    """A resource the local cloud cannot honour fails the stack (never skipped silently):
    CREATE_FAILED on that resource with a reason naming the type, what was created is
    deleted, and the stack ends in ROLLBACK_COMPLETE."""
    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": stack_name}},
            "Thing": {"Type": "AWS::Foo::Bar", "DependsOn": "Queue", "Properties": {}},
        }
    }
    stack = create(cfn, stack_name, template)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in events(cfn, stack_name) if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Thing"]
    assert failed[0]["ResourceStatusReason"] == (
        "Resource type AWS::Foo::Bar is not supported by the local cloud"
    )
    statuses = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events(cfn, stack_name)]
    assert ("Queue", "DELETE_COMPLETE") in statuses
    assert statuses[-1] == (stack_name, "ROLLBACK_COMPLETE")
    with pytest.raises(ClientError):
        aws("sqs").get_queue_url(QueueName=stack_name)
    assert cfn.describe_stack_resources(StackName=stack_name)["StackResources"] == []


def test_failing_resource_rolls_back_with_its_reason(aws, cfn, stack_name):
    """A resource whose creation fails (here: code in S3 that does not exist) gets
    CREATE_FAILED with the service's reason, and the stack rolls back."""
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": stack_name,
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": ARTIFACTS_BUCKET, "S3Key": "missing.zip"},
                },
            },
        }
    }
    stack = create(cfn, stack_name, template)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Fn" in stack["StackStatusReason"]
    failed = next(e for e in events(cfn, stack_name) if e["ResourceStatus"] == "CREATE_FAILED")
    assert failed["LogicalResourceId"] == "Fn"
    assert "NoSuchKey" in failed["ResourceStatusReason"]
    assert ("Role", "DELETE_COMPLETE") in [
        (e["LogicalResourceId"], e["ResourceStatus"]) for e in events(cfn, stack_name)
    ]


def test_failed_change_set_execution_rolls_back_instead_of_erroring(cfn, stack_name):
    """ExecuteChangeSet starts the operation and succeeds; a resource that fails rolls the
    stack back (moto answered the call with a 500)."""
    template = {"Resources": {"Thing": {"Type": "AWS::Foo::Bar"}}}
    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=body(template),
    )
    cfn.execute_change_set(StackName=stack_name, ChangeSetName="create")

    stack = settled(cfn, stack_name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason") for e in events(cfn, stack_name)]
    assert "Resource type AWS::Foo::Bar is not supported by the local cloud" in reasons


def test_update_changes_adds_and_removes_resources(aws, cfn, code, stack_name):
    """UpdateStack updates what changed (a parameter reaching a function's environment),
    creates new resources and deletes removed ones once the rest succeeded; the physical
    resources that did not change are kept."""
    first = sam_function_template(code, Old={"Type": "AWS::SQS::Queue"})
    values = outputs(create(cfn, stack_name, first))
    old_queue = cfn.describe_stack_resource(StackName=stack_name, LogicalResourceId="Old")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]

    second = sam_function_template(code, New={"Type": "AWS::SNS::Topic"})
    second["Outputs"]["Topic"] = {"Value": {"Ref": "New"}}
    stack = update(cfn, stack_name, second, Greeting="updated")

    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    updated_outputs = outputs(stack)
    assert updated_outputs.pop("Topic").startswith("arn:aws:sns:")  # outputs of the new template
    assert updated_outputs == values  # same function, same API
    config = aws("lambda").get_function_configuration(FunctionName=values["FunctionName"])
    assert config["Environment"]["Variables"]["GREETING"] == "updated"
    logical_ids = {
        r["LogicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    }
    assert "New" in logical_ids
    assert "Old" not in logical_ids
    queues = aws("sqs").list_queues().get("QueueUrls", [])
    assert old_queue not in queues


def test_update_with_nothing_to_change_is_refused(cfn, code, stack_name):
    """UpdateStack with the same template and parameters answers ValidationError "No updates
    are to be performed." and leaves the stack as it was."""
    template = sam_function_template(code)
    create(cfn, stack_name, template)

    with pytest.raises(ClientError, match="No updates are to be performed"):
        cfn.update_stack(
            StackName=stack_name, TemplateBody=body(template), Capabilities=["CAPABILITY_IAM"]
        )
    assert (
        cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    )


def test_empty_update_change_set_is_failed_with_the_aws_reason(cfn, code, stack_name):
    """A change set with no changes ends FAILED with "The submitted information didn't contain
    changes." (sam deploy --no-fail-on-empty-changeset relies on this exact reason)."""
    template = sam_function_template(code)
    create(cfn, stack_name, template)

    cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName="again",
        ChangeSetType="UPDATE",
        TemplateBody=body(template),
        Capabilities=["CAPABILITY_IAM"],
    )
    change_set = cfn.describe_change_set(StackName=stack_name, ChangeSetName="again")
    assert change_set["Status"] == "FAILED"
    assert "didn't contain changes" in change_set["StatusReason"]


def test_failed_update_rolls_back_to_the_previous_state(aws, cfn, code, stack_name):
    """An update whose new resource cannot be created ends UPDATE_ROLLBACK_COMPLETE: what the
    update created is deleted, what it changed is restored, the template stays the old one."""
    values = outputs(create(cfn, stack_name, sam_function_template(code)))

    broken = sam_function_template(code, Extra={"Type": "AWS::Foo::Bar"})
    stack = update(cfn, stack_name, broken, Greeting="never")

    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    config = aws("lambda").get_function_configuration(FunctionName=values["FunctionName"])
    assert config["Environment"]["Variables"]["GREETING"] == "hello"
    failed = [e for e in events(cfn, stack_name) if e["ResourceStatus"].endswith("FAILED")]
    assert failed[-1]["LogicalResourceId"] == "Extra"
    assert "AWS::Foo::Bar" in failed[-1]["ResourceStatusReason"]
    template = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    assert "Extra" not in template["Resources"]
    # The stack can still be updated after a rollback.
    assert (
        update(cfn, stack_name, sam_function_template(code), Greeting="later")["StackStatus"]
        == "UPDATE_COMPLETE"
    )


def test_delete_removes_every_resource(aws, cfn, code, stack_name):
    """DeleteStack deletes the stack's resources (dependents first) and the stack disappears
    from DescribeStacks by name."""
    values = outputs(create(cfn, stack_name, sam_function_template(code)))

    delete(cfn, stack_name)

    with pytest.raises(ClientError):
        aws("lambda").get_function(FunctionName=values["FunctionName"])
    with pytest.raises(ClientError):
        aws("apigateway").get_rest_api(restApiId=values["ApiId"])
    summaries = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert stack_name in [s["StackName"] for s in summaries]


def test_retained_resource_survives_deletion(aws, cfn, stack_name):
    """DeletionPolicy: Retain keeps the resource when its stack is deleted (DELETE_SKIPPED)."""
    template = {
        "Resources": {
            "Kept": {
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Retain",
                "Properties": {"QueueName": stack_name},
            }
        }
    }
    create(cfn, stack_name, template)
    delete(cfn, stack_name)

    assert aws("sqs").get_queue_url(QueueName=stack_name)["QueueUrl"].endswith(stack_name)
    aws("sqs").delete_queue(QueueUrl=aws("sqs").get_queue_url(QueueName=stack_name)["QueueUrl"])


def test_template_url_on_the_local_cloud_itself(local_cloud, aws, cfn, code, stack_name):
    """A TemplateURL that points at the endpoint itself (sam deploy sends
    http://127.0.0.1:PORT/bucket/key) is read path-style from the local S3 (moto read bucket
    "127")."""
    key = f"{stack_name}.template"
    aws("s3").put_object(
        Bucket=code["S3Bucket"], Key=key, Body=body(sam_function_template(code)).encode()
    )

    cfn.create_stack(
        StackName=stack_name,
        TemplateURL=f"{local_cloud.endpoint_url}/{code['S3Bucket']}/{key}",
        Capabilities=["CAPABILITY_IAM"],
    )
    assert settled(cfn, stack_name)["StackStatus"] == "CREATE_COMPLETE"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            {
                "Resources": {
                    "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Nope"}}}
                }
            },
            "Unresolved resource dependencies [Nope] in the Resources block of the template",
        ),
        (
            {
                "Resources": {
                    "A": {"Type": "AWS::SQS::Queue", "DependsOn": "B"},
                    "B": {"Type": "AWS::SQS::Queue", "DependsOn": "A"},
                }
            },
            "Circular dependency between resources: [A, B]",
        ),
        (
            {
                "Transform": "AWS::Serverless-2016-10-31",
                "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}},
            },
            "Transform AWS::Serverless-2016-10-31 failed with",
        ),
        (
            {
                "Transform": "AWS::LanguageExtensions",
                "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
            },
            "Transform AWS::LanguageExtensions is not supported by the local cloud",
        ),
    ],
    ids=["undefined-reference", "cycle", "invalid-sam", "other-transform"],
)
def test_invalid_templates_are_refused_by_the_api(cfn, stack_name, template, message):
    """CloudFormation validates templates synchronously: undefined references, dependency
    cycles and transform errors are ValidationErrors of the call; no stack is created."""
    with pytest.raises(ClientError, match="ValidationError") as raised:
        cfn.create_stack(StackName=stack_name, TemplateBody=body(template))

    assert message in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError, match="does not exist"):
        cfn.describe_stacks(StackName=stack_name)


def test_conditions_skip_resources(aws, cfn, stack_name):
    """A resource whose Condition is false is not created, and Fn::If picks the branch."""
    template = {
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "Always": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": f"{stack_name}-always"},
            },
            "ProdOnly": {"Type": "AWS::SQS::Queue", "Condition": "IsProd"},
        },
        "Outputs": {"Mode": {"Value": {"Fn::If": ["IsProd", "production", "development"]}}},
    }
    stack = create(cfn, stack_name, template)

    assert outputs(stack) == {"Mode": "development"}
    logical_ids = [
        r["LogicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    ]
    assert logical_ids == ["Always"]


def test_exports_are_importable_and_unique(cfn, stack_name):
    """An Output's Export can be imported by another stack (Fn::ImportValue), and an export
    name can be exported by one stack only (the second stack fails and rolls back)."""
    export = f"{stack_name}-queue-arn"
    exporting = {
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}, "Export": {"Name": export}}},
    }
    arn = outputs(create(cfn, stack_name, exporting))["Arn"]
    importer = f"{stack_name}-importer"
    duplicate = f"{stack_name}-duplicate"
    try:
        importing = {
            "Resources": {"T": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"Imported": {"Value": {"Fn::ImportValue": export}}},
        }
        assert outputs(create(cfn, importer, importing)) == {"Imported": arn}
        assert create(cfn, duplicate, exporting)["StackStatus"] == "ROLLBACK_COMPLETE"
    finally:
        for name in (importer, duplicate):
            cfn.delete_stack(StackName=name)
