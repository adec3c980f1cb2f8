"""AWS service integrations (type AWS) of REST APIs: Kinesis and SQS on the local cloud.

The API renders the request template, calls the service action on the local cloud and maps
the service's answer through the integration responses. AWS rules: API Gateway developer
guide, "Tutorial: Create a REST API as an Amazon Kinesis proxy", "Tutorial: Create a REST API
as an Amazon SQS proxy", "Set up an API integration request" (uri
``arn:aws:apigateway:{region}:{service}:action/{Action}`` or ``:path/{path}``), "Set up
integration responses" (selectionPattern on the status code of the service's answer).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import requests
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
from _apigateway_integration_helpers import (
    apigw_fixture,  # noqa: F401
    create_api,
    execute_url,
)

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/apigateway-kinesis"


@pytest.fixture
def endpoint(local_cloud: Any) -> str:
    return str(local_cloud.endpoint_url)


@pytest.fixture
def stream(aws: Any) -> Any:
    kinesis = aws("kinesis")
    name = f"apigw-{uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    yield name
    kinesis.delete_stream(StreamName=name)


def records(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    shard = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return list(kinesis.get_records(ShardIterator=iterator)["Records"])


def kinesis_route(action: str, template: str, responses: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "integration": {
            "type": "AWS",
            "integrationHttpMethod": "POST",
            "uri": f"arn:aws:apigateway:{REGION}:kinesis:action/{action}",
            "credentials": ROLE,
            "requestTemplates": {"application/json": template},
            "passthroughBehavior": "NEVER",
        },
        "responses": responses,
    }


OK = {"statusCode": "200"}
CLIENT_ERROR = {
    "statusCode": "400",
    "selectionPattern": "4\\d{2}",
    "responseTemplates": {
        "application/json": '{"error": $input.json(\'$.__type\'), "stage": "$context.stage"}'
    },
}

PUT_RECORD = """{
  "StreamName": "$input.params('stream')",
  "Data": "$util.base64Encode($input.body)",
  "PartitionKey": "$context.requestId"
}"""


def test_put_record_puts_the_body_into_the_stream(apigw, aws, endpoint, stream):
    """Kinesis proxy: PutRecord with Data = $util.base64Encode($input.body) and the stream from
    $input.params('stream'): the record is in the stream; the default integration response
    passes the service's JSON answer (ShardId, SequenceNumber) through."""
    api_id = create_api(
        apigw, {("/streams/{stream}/record", "PUT"): kinesis_route("PutRecord", PUT_RECORD, [OK])}
    )
    event = {"kind": "order-placed", "id": 7}
    response = requests.put(
        execute_url(endpoint, api_id, f"/streams/{stream}/record"), json=event, timeout=10
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ShardId"].startswith("shardId-")
    found = records(aws("kinesis"), stream)
    assert [json.loads(r["Data"]) for r in found] == [event]
    assert found[0]["SequenceNumber"] == answer["SequenceNumber"]
    assert found[0]["PartitionKey"] == response.headers["x-amzn-RequestId"]


PUT_RECORDS = """{
  "StreamName": "$input.params('stream')",
  "Records": [
#foreach($elem in $input.path('$.records'))
    {
      "Data": "$util.base64Encode($elem.data)",
      "PartitionKey": "$elem.key"
    }#if($foreach.hasNext),#end
#end
  ]
}"""

PUT_RECORDS_RESPONSE = {
    "statusCode": "200",
    "responseTemplates": {
        "application/json": "{\"failed\": $input.json('$.FailedRecordCount'), "
        "\"count\": $input.path('$.Records').size()}"
    },
}


def test_put_records_with_foreach_and_a_response_template(apigw, aws, endpoint, stream):
    """PutRecords built with #foreach over $input.path('$.records'); the response template maps
    the service's answer ($input is the service's JSON there)."""
    api_id = create_api(
        apigw,
        {
            ("/streams/{stream}/records", "PUT"): kinesis_route(
                "PutRecords", PUT_RECORDS, [PUT_RECORDS_RESPONSE]
            )
        },
    )
    batch = {"records": [{"data": "one", "key": "k1"}, {"data": "two", "key": "k2"}]}
    response = requests.put(
        execute_url(endpoint, api_id, f"/streams/{stream}/records"), json=batch, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"failed": 0, "count": 2}
    found = records(aws("kinesis"), stream)
    assert [(r["Data"], r["PartitionKey"]) for r in found] == [(b"one", "k1"), (b"two", "k2")]


def test_service_error_is_mapped_by_the_selection_pattern(apigw, endpoint):
    """A request the service refuses (a stream that does not exist): the service's 400 is
    selected by the 4\\d{2} integration response and mapped by its template."""
    api_id = create_api(
        apigw,
        {
            ("/streams/{stream}/record", "PUT"): kinesis_route(
                "PutRecord", PUT_RECORD, [OK, CLIENT_ERROR]
            )
        },
    )
    response = requests.put(
        execute_url(endpoint, api_id, "/streams/no-such-stream/record"), json={}, timeout=10
    )
    assert response.status_code == 400
    assert response.json() == {"error": "ResourceNotFoundException", "stage": "Prod"}


def test_service_error_without_error_response_takes_the_default(apigw, endpoint):
    """Without an integration response matching the error status, the default (200) one is
    used: API Gateway does not turn the service's error into an error by itself."""
    api_id = create_api(
        apigw, {("/streams/{stream}/record", "PUT"): kinesis_route("PutRecord", PUT_RECORD, [OK])}
    )
    response = requests.put(
        execute_url(endpoint, api_id, "/streams/no-such-stream/record"), json={}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["__type"] == "ResourceNotFoundException"


def test_unmapped_content_type_is_415_with_passthrough_never(apigw, endpoint, stream):
    """passthroughBehavior NEVER and no template for text/plain: 415, nothing sent."""
    api_id = create_api(
        apigw, {("/streams/{stream}/record", "PUT"): kinesis_route("PutRecord", PUT_RECORD, [OK])}
    )
    response = requests.put(
        execute_url(endpoint, api_id, f"/streams/{stream}/record"),
        data=b"hello",
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.status_code == 415


@pytest.fixture
def queue(aws: Any) -> Any:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"apigw-{uuid4().hex[:8]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
    )


SQS_RESPONSE = {
    "statusCode": "202",
    "responseTemplates": {
        "application/json": '{"messageId": $input.json(\'$.SendMessageResponse.'
        "SendMessageResult.MessageId')}"
    },
}


def test_sqs_send_message_path_style(apigw, aws, endpoint, queue):
    """SQS proxy (path style): uri path/{account}/{queue}, Content-Type
    application/x-www-form-urlencoded set by requestParameters and the template
    Action=SendMessage&MessageBody=$util.urlEncode($input.body): the message is in the
    queue; the answer's MessageId is mapped by the response template."""
    account, name = queue.rsplit("/", 2)[-2:]
    api_id = create_api(
        apigw,
        {
            ("/messages", "POST"): {
                "integration": {
                    "type": "AWS",
                    "integrationHttpMethod": "POST",
                    "uri": f"arn:aws:apigateway:{REGION}:sqs:path/{account}/{name}",
                    "credentials": ROLE,
                    "requestParameters": {
                        "integration.request.header.Content-Type": (
                            "'application/x-www-form-urlencoded'"
                        )
                    },
                    "requestTemplates": {
                        "application/json": "Action=SendMessage&MessageBody="
                        "$util.urlEncode($input.body)"
                    },
                },
                "responses": [SQS_RESPONSE],
            }
        },
    )
    message = {"order": 1, "note": "a&b=c"}
    response = requests.post(execute_url(endpoint, api_id, "/messages"), json=message, timeout=10)
    assert response.status_code == 202, response.text
    sqs = aws("sqs")
    got = wait_for(lambda: received(sqs, queue), timeout=10, description="the message")
    assert [json.loads(m["Body"]) for m in got] == [message]
    assert response.json() == {"messageId": got[0]["MessageId"]}


def test_sqs_send_message_action_style(apigw, aws, endpoint, queue):
    """SQS proxy (action style): uri action/SendMessage with QueueUrl as an integration query
    parameter from a stage variable and the message from the request's query string."""
    api_id = create_api(
        apigw,
        {
            ("/notify", "GET"): {
                "integration": {
                    "type": "AWS",
                    "integrationHttpMethod": "POST",
                    "uri": f"arn:aws:apigateway:{REGION}:sqs:action/SendMessage",
                    "credentials": ROLE,
                    "requestParameters": {
                        "integration.request.querystring.QueueUrl": "stageVariables.queueUrl",
                        "integration.request.querystring.MessageBody": (
                            "method.request.querystring.text"
                        ),
                    },
                },
                "responses": [SQS_RESPONSE],
            }
        },
        variables={"queueUrl": queue},
    )
    response = requests.get(
        execute_url(endpoint, api_id, "/notify"), params={"text": "hello there"}, timeout=10
    )
    assert response.status_code == 202, response.text
    sqs = aws("sqs")
    got = wait_for(lambda: received(sqs, queue), timeout=10, description="the message")
    assert [m["Body"] for m in got] == ["hello there"]
    assert response.json()["messageId"] == got[0]["MessageId"]


def test_unsupported_template_construct_is_a_500_naming_it(apigw, endpoint, stream):
    """A template using JSONPath beyond the supported subset answers 500 naming the construct
    (a limitation of the local cloud, not silently wrong data)."""
    template = '{"StreamName": "x", "Data": $input.json(\'$..deep\'), "PartitionKey": "k"}'
    api_id = create_api(apigw, {("/bad", "POST"): kinesis_route("PutRecord", template, [OK])})
    response = requests.post(execute_url(endpoint, api_id, "/bad"), json={}, timeout=10)
    assert response.status_code == 500
    assert "unsupported JSONPath" in response.json()["message"]
