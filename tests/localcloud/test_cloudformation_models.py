"""Resource types moto has no CloudFormation model for: each exists in its service afterwards."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import HANDLER, create, outputs, unique, update, upload_zip


@pytest.fixture
def cfn(aws):
    return aws("cloudformation")


@pytest.fixture
def stack_name(cfn):
    name = unique("cfn-models")
    yield name
    with contextlib.suppress(ClientError):
        cfn.delete_stack(StackName=name)


@pytest.fixture
def code(aws):
    return upload_zip(aws, {"app.py": HANDLER})


def test_sam_http_api_becomes_routes_integrations_and_a_stage(aws, cfn, code, stack_name):
    """SAM's HttpApi is an AWS::ApiGatewayV2::Api with an OpenAPI body and a $default stage:
    each event becomes a route whose integration is AWS_PROXY with payload format 2.0."""
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Events": {
                        "Get": {
                            "Type": "HttpApi",
                            "Properties": {"Path": "/things/{id}", "Method": "get"},
                        },
                        "Any": {"Type": "HttpApi", "Properties": {"Path": "/any", "Method": "any"}},
                    },
                },
            }
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "ServerlessHttpApi"}}},
    }
    api_id = outputs(create(cfn, stack_name, template))["ApiId"]

    apigw = aws("apigatewayv2")
    routes = {r["RouteKey"]: r for r in apigw.get_routes(ApiId=api_id)["Items"]}
    assert set(routes) == {"GET /things/{id}", "ANY /any"}
    integration_id = routes["GET /things/{id}"]["Target"].split("/")[1]
    integration = apigw.get_integration(ApiId=api_id, IntegrationId=integration_id)
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert ":function:" in integration["IntegrationUri"]
    stages = apigw.get_stages(ApiId=api_id)["Items"]
    assert [s["StageName"] for s in stages] == ["$default"]
    assert stages[0]["AutoDeploy"] is True


def test_sns_subscription_with_filter_policy_delivers_to_the_queue(aws, cfn, stack_name):
    """AWS::SNS::Subscription subscribes a queue with its filter policy and raw delivery: a
    matching message arrives raw, a non-matching one does not arrive."""
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "QueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "Queue"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "sns.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                            }
                        ],
                    },
                },
            },
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "Topic"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "RawMessageDelivery": True,
                    "FilterPolicy": {"kind": ["order"]},
                },
            },
        },
        "Outputs": {
            "Topic": {"Value": {"Ref": "Topic"}},
            "Queue": {"Value": {"Ref": "Queue"}},
            "Subscription": {"Value": {"Ref": "Subscription"}},
        },
    }
    values = outputs(create(cfn, stack_name, template))

    sns, sqs = aws("sns"), aws("sqs")
    attributes = sns.get_subscription_attributes(SubscriptionArn=values["Subscription"])[
        "Attributes"
    ]
    assert json.loads(attributes["FilterPolicy"]) == {"kind": ["order"]}
    policy = sqs.get_queue_attributes(QueueUrl=values["Queue"], AttributeNames=["Policy"])[
        "Attributes"
    ]
    assert json.loads(policy["Policy"])["Statement"][0]["Action"] == "sqs:SendMessage"
    for kind in ("refund", "order"):
        sns.publish(
            TopicArn=values["Topic"],
            Message=kind,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
    received = sqs.receive_message(
        QueueUrl=values["Queue"], MaxNumberOfMessages=10, WaitTimeSeconds=1
    )
    assert [m["Body"] for m in received.get("Messages", [])] == ["order"]


@pytest.mark.parametrize("raw", [False, "false"])
def test_subscription_without_raw_delivery_gets_the_notification_envelope(
    aws, cfn, stack_name, raw
):
    """AWS: with RawMessageDelivery false (the default) an SQS subscriber receives the JSON
    notification envelope, not the bare message; GetSubscriptionAttributes says "false"."""
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "Topic"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "RawMessageDelivery": raw,
                },
            },
        },
        "Outputs": {
            "Topic": {"Value": {"Ref": "Topic"}},
            "Queue": {"Value": {"Ref": "Queue"}},
            "Subscription": {"Value": {"Ref": "Subscription"}},
        },
    }
    values = outputs(create(cfn, stack_name, template))

    sns, sqs = aws("sns"), aws("sqs")
    attributes = sns.get_subscription_attributes(SubscriptionArn=values["Subscription"])[
        "Attributes"
    ]
    assert attributes["RawMessageDelivery"] == "false"
    sns.publish(TopicArn=values["Topic"], Message='{"order": 7}')
    received = sqs.receive_message(QueueUrl=values["Queue"], WaitTimeSeconds=5)["Messages"]
    envelope = json.loads(received[0]["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == values["Topic"]
    assert envelope["Message"] == '{"order": 7}'


def test_subscription_filter_policy_update_is_applied(aws, cfn, stack_name):
    """Updating a subscription's FilterPolicy changes what it lets through, in place (same
    subscription ARN)."""

    def template(kinds):
        return {
            "Resources": {
                "Topic": {"Type": "AWS::SNS::Topic"},
                "Queue": {"Type": "AWS::SQS::Queue"},
                "Subscription": {
                    "Type": "AWS::SNS::Subscription",
                    "Properties": {
                        "TopicArn": {"Ref": "Topic"},
                        "Protocol": "sqs",
                        "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                        "FilterPolicy": {"kind": kinds},
                    },
                },
            },
            "Outputs": {"Subscription": {"Value": {"Ref": "Subscription"}}},
        }

    before = outputs(create(cfn, stack_name, template(["a"])))["Subscription"]
    after = outputs(update(cfn, stack_name, template(["b"])))["Subscription"]

    assert after == before
    attributes = aws("sns").get_subscription_attributes(SubscriptionArn=after)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"kind": ["b"]}


def test_alarm_is_created_with_its_metric_and_actions(aws, cfn, stack_name):
    """AWS::CloudWatch::Alarm appears in DescribeAlarms with its metric, threshold and
    actions; Ref is the alarm name and GetAtt Arn its ARN."""
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "DlqAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [
                        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["Dlq", "QueueName"]}}
                    ],
                    "Statistic": "Maximum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [{"Ref": "Topic"}],
                },
            },
        },
        "Outputs": {
            "Name": {"Value": {"Ref": "DlqAlarm"}},
            "Arn": {"Value": {"Fn::GetAtt": ["DlqAlarm", "Arn"]}},
            "Topic": {"Value": {"Ref": "Topic"}},
        },
    }
    values = outputs(create(cfn, stack_name, template))

    alarm = aws("cloudwatch").describe_alarms(AlarmNames=[values["Name"]])["MetricAlarms"][0]
    assert alarm["AlarmArn"] == values["Arn"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 0
    assert alarm["AlarmActions"] == [values["Topic"]]
    assert alarm["Dimensions"][0]["Name"] == "QueueName"


def test_secret_with_generated_password(aws, cfn, stack_name):
    """AWS::SecretsManager::Secret with GenerateSecretString stores the template with a
    generated password under GenerateStringKey; Ref is the secret ARN."""
    template = {
        "Resources": {
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "GenerateSecretString": {
                        "SecretStringTemplate": '{"username": "app"}',
                        "GenerateStringKey": "password",
                        "PasswordLength": 24,
                        "ExcludePunctuation": True,
                    }
                },
            }
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Secret"}}},
    }
    arn = outputs(create(cfn, stack_name, template))["Arn"]

    secret = json.loads(aws("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    assert secret["username"] == "app"
    assert len(secret["password"]) == 24
    assert secret["password"].isalnum()


def test_lambda_event_invoke_config_and_alias(aws, cfn, code, stack_name):
    """AWS::Lambda::EventInvokeConfig sets retries, event age and destinations of asynchronous
    invokes; AWS::Lambda::Version and Alias publish the code (Ref is the version/alias ARN)."""
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Failures": {"Type": "AWS::SQS::Queue"},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "AutoPublishAlias": "live",
                    "EventInvokeConfig": {
                        "MaximumRetryAttempts": 1,
                        "MaximumEventAgeInSeconds": 120,
                        "DestinationConfig": {
                            "OnFailure": {
                                "Type": "SQS",
                                "Destination": {"Fn::GetAtt": ["Failures", "Arn"]},
                            }
                        },
                    },
                },
            },
        },
        "Outputs": {
            "Fn": {"Value": {"Ref": "Fn"}},
            "Alias": {"Value": {"Ref": "FnAliaslive"}},
            "Failures": {"Value": {"Fn::GetAtt": ["Failures", "Arn"]}},
        },
    }
    values = outputs(create(cfn, stack_name, template))

    lam = aws("lambda")
    config = lam.get_function_event_invoke_config(FunctionName=values["Fn"])
    assert config["MaximumRetryAttempts"] == 1
    assert config["MaximumEventAgeInSeconds"] == 120
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == values["Failures"]
    assert values["Alias"].endswith(f":function:{values['Fn']}:live")
    alias = lam.get_alias(FunctionName=values["Fn"], Name="live")
    assert alias["FunctionVersion"] == "1"


def test_rest_api_definition_extensions_are_imported(aws, cfn, code, stack_name):
    """SAM writes an Api's GatewayResponses, BinaryMediaTypes and Lambda authorizers into the
    Swagger body; API Gateway's import turns them into gateway responses, binary media types
    and an authorizer used by the method (type TOKEN, its identity source and TTL)."""
    uri = f"s3://{code['S3Bucket']}/{code['S3Key']}"
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "StageName": "live",
                    "BinaryMediaTypes": ["image~1png"],
                    "GatewayResponses": {
                        "MISSING_AUTHENTICATION_TOKEN": {
                            "StatusCode": "404",
                            "ResponseTemplates": {"application/json": '{"message":"Not found"}'},
                        }
                    },
                    "Auth": {
                        "DefaultAuthorizer": "TokenAuth",
                        "Authorizers": {
                            "TokenAuth": {
                                "FunctionArn": {"Fn::GetAtt": ["Authorizer", "Arn"]},
                                "Identity": {"Header": "Authorization", "ReauthorizeEvery": 60},
                            }
                        },
                    },
                },
            },
            "Authorizer": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": uri, "Handler": "app.handler", "Runtime": "python3.13"},
            },
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": uri,
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "Events": {
                        "Get": {
                            "Type": "Api",
                            "Properties": {
                                "RestApiId": {"Ref": "Api"},
                                "Path": "/secret",
                                "Method": "get",
                            },
                        }
                    },
                },
            },
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
    }
    api_id = outputs(create(cfn, stack_name, template))["ApiId"]

    apigw = aws("apigateway")
    response = apigw.get_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN"
    )
    assert response["statusCode"] == "404"
    assert response["responseTemplates"] == {"application/json": '{"message":"Not found"}'}
    assert apigw.get_rest_api(restApiId=api_id)["binaryMediaTypes"] == ["image/png"]
    authorizers = apigw.get_authorizers(restApiId=api_id)["items"]
    assert [(a["name"], a["type"]) for a in authorizers] == [("TokenAuth", "TOKEN")]
    assert authorizers[0]["identitySource"] == "method.request.header.Authorization"
    assert authorizers[0]["authorizerResultTtlInSeconds"] == 60
    secret = next(
        r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/secret"
    )
    method = apigw.get_method(restApiId=api_id, resourceId=secret["id"], httpMethod="GET")
    assert method["authorizationType"] == "CUSTOM"
    assert method["authorizerId"] == authorizers[0]["id"]


def test_nested_stack_from_a_template_url(local_cloud, aws, cfn, code, stack_name):
    """AWS::CloudFormation::Stack creates a nested stack from its TemplateURL; its outputs are
    the parent's Outputs.<name> attributes; a nested stack that fails fails the parent."""
    s3 = aws("s3")
    child = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}}},
    }
    broken = {"Resources": {"Thing": {"Type": "AWS::Foo::Bar"}}}
    for key, body in (("child.json", child), ("broken.json", broken)):
        s3.put_object(
            Bucket=code["S3Bucket"], Key=f"{stack_name}/{key}", Body=json.dumps(body).encode()
        )

    def parent(key):
        url = f"{local_cloud.endpoint_url}/{code['S3Bucket']}/{stack_name}/{key}"
        return {
            "Resources": {
                "Child": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": url},
                }
            },
            "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Child", "Outputs.QueueArn"]}}},
        }

    created = create(cfn, stack_name, parent("child.json"))
    assert outputs(created)["Arn"].startswith("arn:aws:sqs:")
    failed = create(cfn, f"{stack_name}-broken", parent("broken.json"))
    cfn.delete_stack(StackName=f"{stack_name}-broken")
    assert failed["StackStatus"] == "ROLLBACK_COMPLETE"


def test_sam_state_machine_definition_and_substitutions(aws, cfn, code, stack_name):
    """SAM's StateMachine carries its ASL as Definition with DefinitionSubstitutions: the state
    machine Step Functions serves has the definition with ${...} replaced (moto's own model
    read only DefinitionString and wrote where the API does not look once executions run)."""
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                },
            },
            "Machine": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {
                    "Definition": {
                        "StartAt": "Call",
                        "States": {
                            "Call": {"Type": "Task", "Resource": "${FnArn}", "End": True},
                        },
                    },
                    "DefinitionSubstitutions": {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}},
                    "Policies": [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "Fn"}}}],
                },
            },
        },
        "Outputs": {
            "Machine": {"Value": {"Ref": "Machine"}},
            "Name": {"Value": {"Fn::GetAtt": ["Machine", "Name"]}},
            "FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}},
        },
    }
    values = outputs(create(cfn, stack_name, template))

    described = aws("stepfunctions").describe_state_machine(stateMachineArn=values["Machine"])
    assert described["name"] == values["Name"]
    asl = json.loads(described["definition"])
    assert asl["States"]["Call"]["Resource"] == values["FnArn"]


def test_table_updates_in_place_and_is_replaced_only_for_its_keys(aws, cfn, stack_name):
    """Turning a table's stream on or adding a global index updates it in place (its items
    stay); changing its key schema replaces it (CloudFormation's update behaviours)."""

    def table(key="id", **extra):
        properties = {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": key, "AttributeType": "S"},
                {"AttributeName": "kind", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            **extra,
        }
        outputs_ = {"Name": {"Value": {"Ref": "Table"}}}
        if "StreamSpecification" in extra:
            outputs_["Stream"] = {"Value": {"Fn::GetAtt": ["Table", "StreamArn"]}}
        return {
            "Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": properties}},
            "Outputs": outputs_,
        }

    name = outputs(create(cfn, stack_name, table()))["Name"]
    ddb = aws("dynamodb")
    ddb.put_item(TableName=name, Item={"id": {"S": "1"}, "kind": {"S": "a"}})

    with_stream = table(
        StreamSpecification={"StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-kind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        TimeToLiveSpecification={"AttributeName": "expires", "Enabled": True},
    )
    values = outputs(update(cfn, stack_name, with_stream))
    assert values["Name"] == name
    assert ":table/" in values["Stream"]
    assert "Item" in ddb.get_item(TableName=name, Key={"id": {"S": "1"}})
    description = ddb.describe_table(TableName=name)["Table"]
    assert [i["IndexName"] for i in description["GlobalSecondaryIndexes"]] == ["by-kind"]
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires"

    replaced = outputs(update(cfn, stack_name, table(key="pk")))["Name"]
    assert replaced != name
    assert name not in ddb.list_tables()["TableNames"]
