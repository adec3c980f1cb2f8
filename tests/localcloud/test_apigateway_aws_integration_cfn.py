"""A SAM ``AWS::Serverless::Api`` whose OpenAPI ``DefinitionBody`` holds ``aws`` (Kinesis) and
``http_proxy`` integrations, deployed through CloudFormation and called on the data plane.

AWS rules: API Gateway developer guide, "x-amazon-apigateway-integration object" (type, uri,
httpMethod, credentials, requestTemplates, requestParameters, passthroughBehavior,
timeoutInMillis, responses keyed by selection pattern with "default"), and "Set up HTTP proxy
integrations" for the greedy path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import requests

sys.path.insert(0, str(Path(__file__).parent))
from _apigateway_integration_helpers import (
    backend_fixture,  # noqa: F401
    execute_url,
)
from _cfn_helpers import create, delete, outputs, unique

REGION = "us-east-1"


def definition(backend_url: str) -> dict[str, Any]:
    return {
        "swagger": "2.0",
        "info": {"title": "integrations", "version": "1"},
        "paths": {
            "/streams/{stream}/record": {
                "put": {
                    "x-amazon-apigateway-integration": {
                        "type": "aws",
                        "httpMethod": "POST",
                        "uri": f"arn:aws:apigateway:{REGION}:kinesis:action/PutRecord",
                        "credentials": "arn:aws:iam::123456789012:role/apigw-kinesis",
                        "passthroughBehavior": "never",
                        "timeoutInMillis": 5000,
                        "requestTemplates": {
                            "application/json": '{"StreamName": "$input.params(\'stream\')", '
                            '"Data": "$util.base64Encode($input.body)", '
                            '"PartitionKey": "$context.requestId"}'
                        },
                        "responses": {
                            "default": {
                                "statusCode": "200",
                                "responseTemplates": {
                                    "application/json": '{"sequence": '
                                    "$input.json('$.SequenceNumber')}"
                                },
                            },
                            "4\\d{2}": {
                                "statusCode": "400",
                                "responseTemplates": {
                                    "application/json": "{\"error\": $input.json('$.__type')}"
                                },
                            },
                        },
                    }
                }
            },
            "/legacy/{proxy+}": {
                "x-amazon-apigateway-any-method": {
                    "parameters": [
                        {"name": "proxy", "in": "path", "required": True, "type": "string"}
                    ],
                    "x-amazon-apigateway-integration": {
                        "type": "http_proxy",
                        "httpMethod": "ANY",
                        "uri": f"{backend_url}/old/{{proxy}}",
                        "requestParameters": {
                            "integration.request.path.proxy": "method.request.path.proxy",
                            "integration.request.header.X-Via": "'apigw'",
                        },
                        "passthroughBehavior": "when_no_match",
                        "responses": {"default": {"statusCode": "200"}},
                    },
                }
            },
        },
    }


def test_sam_api_with_aws_and_http_proxy_integrations(aws, local_cloud, backend):
    """The OpenAPI import keeps requestTemplates, requestParameters, passthroughBehavior,
    timeoutInMillis and the integration responses; both integrations then work: the record
    reaches the stream, the greedy path reaches the HTTP endpoint."""
    cfn = aws("cloudformation")
    stream = f"cfn-apigw-{uuid4().hex[:8]}"
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Stream": {
                "Type": "AWS::Kinesis::Stream",
                "Properties": {"Name": stream, "ShardCount": 1},
            },
            "Api": {
                "Type": "AWS::Serverless::Api",
                "Properties": {"StageName": "live", "DefinitionBody": definition(backend.url)},
            },
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "Api"}}},
    }
    stack_name = unique("apigw-integrations")
    stack = create(cfn, stack_name, template)
    try:
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        api_id = outputs(stack)["ApiId"]
        apigw = aws("apigateway")
        resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}
        kinesis_integration = apigw.get_integration(
            restApiId=api_id, resourceId=resources["/streams/{stream}/record"], httpMethod="PUT"
        )
        assert kinesis_integration["type"] == "AWS"
        assert kinesis_integration["passthroughBehavior"].upper() == "NEVER"
        assert int(kinesis_integration["timeoutInMillis"]) == 5000
        assert "application/json" in kinesis_integration["requestTemplates"]
        assert set(kinesis_integration["integrationResponses"]) == {"200", "400"}
        proxy_integration = apigw.get_integration(
            restApiId=api_id, resourceId=resources["/legacy/{proxy+}"], httpMethod="ANY"
        )
        assert proxy_integration["type"] == "HTTP_PROXY"
        assert proxy_integration["requestParameters"]["integration.request.header.X-Via"] == (
            "'apigw'"
        )

        endpoint = local_cloud.endpoint_url
        response = requests.put(
            execute_url(endpoint, api_id, f"/streams/{stream}/record", stage="live"),
            json={"n": 1},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        kinesis = aws("kinesis")
        shard = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        found = kinesis.get_records(ShardIterator=iterator)["Records"]
        assert [json.loads(r["Data"]) for r in found] == [{"n": 1}]
        assert response.json() == {"sequence": found[0]["SequenceNumber"]}

        missing = requests.put(
            execute_url(endpoint, api_id, "/streams/nope/record", stage="live"),
            json={},
            timeout=10,
        )
        assert missing.status_code == 400
        assert missing.json() == {"error": "ResourceNotFoundException"}

        legacy = requests.delete(
            execute_url(endpoint, api_id, "/legacy/a/b?c=d", stage="live"), timeout=10
        )
        assert legacy.status_code == 200
        assert backend.last.method == "DELETE"
        assert backend.last.path == "/old/a/b?c=d"
        assert backend.last.headers["X-Via"] == "apigw"
    finally:
        delete(cfn, stack_name)
