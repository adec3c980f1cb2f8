"""FilterCriteria of event source mappings: which records reach the function."""

from __future__ import annotations

import base64
import json
import sys
import uuid
from pathlib import Path

import pytest

from localcloud.awslambda.event_sources.filters import (
    InvalidFilterPattern,
    accepts,
    kinesis_view,
    parse_pattern,
    sqs_view,
)

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_event_source_helpers")
from _event_source_helpers import (  # noqa: E402 (after the path and rewrite setup)
    RECORDER,
    queue_counts,
    wait_until_empty,
)

# Fixtures: recorder, make_queue, make_mapping.
pytest_plugins = ["_event_source_helpers"]

RECORDING = (
    RECORDER
    + """
def handler(event, context):
    record(event, time.time())
"""
)

ORDER = {"kind": "order", "total": 42, "tags": ["new", "vip"], "customer": {"tier": "gold"}}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"kind": ["order"]}, True),
        ({"kind": ["refund", "order"]}, True),
        ({"kind": ["refund"]}, False),
        ({"customer": {"tier": ["gold"]}}, True),
        ({"customer": {"tier": ["silver"]}}, False),
        ({"tags": ["vip"]}, True),
        ({"total": [42]}, True),
        ({"total": ["42"]}, False),
        ({"total": [{"numeric": [">", 40, "<=", 42]}]}, True),
        ({"total": [{"numeric": ["<", 40]}]}, False),
        ({"kind": [{"prefix": "ord"}]}, True),
        ({"kind": [{"suffix": "der"}]}, True),
        ({"kind": [{"equals-ignore-case": "ORDER"}]}, True),
        ({"kind": [{"wildcard": "o*r"}]}, True),
        ({"kind": [{"anything-but": ["refund", "void"]}]}, True),
        ({"kind": [{"anything-but": "order"}]}, False),
        ({"kind": [{"anything-but": {"prefix": "ord"}}]}, False),
        ({"kind": [{"exists": True}]}, True),
        ({"missing": [{"exists": False}]}, True),
        ({"missing": [{"exists": True}]}, False),
        ({"missing": ["x"]}, False),
        ({"kind": ["order"], "total": [1]}, False),
        ({"$or": [{"kind": ["refund"]}, {"total": [42]}]}, True),
    ],
)
def test_event_patterns_match_like_lambda(pattern, expected):
    """Filter patterns use EventBridge's syntax: every field must match, a list of values
    matches any of them, an array in the record matches by any element, and prefix, suffix,
    equals-ignore-case, wildcard, anything-but, numeric, exists and $or operate on values."""
    assert accepts([parse_pattern(json.dumps(pattern))], ORDER) is expected


@pytest.mark.parametrize(
    "pattern",
    ["not json", "[]", "{}", '{"kind": "order"}', '{"kind": [{"unknown": 1}]}'],
)
def test_invalid_patterns_are_refused(pattern):
    """A pattern must be a JSON object whose leaves are lists of values or operators."""
    with pytest.raises(InvalidFilterPattern):
        parse_pattern(pattern)


def test_sqs_body_and_kinesis_data_are_filtered_as_json():
    """Lambda parses an SQS body, and a Kinesis record's base64 data, as JSON for filtering;
    a body that is not JSON is matched as the plain string it is."""
    body_pattern = parse_pattern('{"body": {"kind": ["order"]}}')
    assert accepts([body_pattern], sqs_view({"body": json.dumps(ORDER)}))
    assert not accepts([body_pattern], sqs_view({"body": "kind=order"}))
    assert accepts([parse_pattern('{"body": ["kind=order"]}')], sqs_view({"body": "kind=order"}))
    data = base64.b64encode(json.dumps(ORDER).encode()).decode()
    data_pattern = parse_pattern('{"data": {"customer": {"tier": ["gold"]}}}')
    assert accepts([data_pattern], kinesis_view({"kinesis": {"data": data}}))


def test_sqs_messages_no_filter_accepts_are_deleted_without_invoking(
    aws, make_function, make_queue, make_mapping, recorder
):
    """With FilterCriteria on an SQS mapping, Lambda invokes the function with the matching
    messages only and deletes the others from the queue."""
    url, arn = make_queue()
    name = make_function(RECORDING, environment=recorder.environment)
    sqs = aws("sqs")
    for body in (json.dumps(ORDER), json.dumps({"kind": "noise"}), "plain text"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    make_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=10,
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
    )

    wait_until_empty(aws, url)
    assert [r["body"] for r in recorder.records()] == [json.dumps(ORDER)]
    assert queue_counts(aws, url) == (0, 0)


def test_stream_records_no_filter_accepts_are_skipped(aws, make_function, make_mapping, recorder):
    """With FilterCriteria on a DynamoDB stream mapping, records no pattern matches are
    skipped and the shard moves past them."""
    table = f"esm-{uuid.uuid4().hex[:12]}"
    stream_arn = aws("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    name = make_function(RECORDING, environment=recorder.environment)
    try:
        for pk, status in (("a", "new"), ("a", "paid"), ("b", "new")):
            aws("dynamodb").put_item(
                TableName=table, Item={"pk": {"S": pk}, "status": {"S": status}}
            )

        make_mapping(
            EventSourceArn=stream_arn,
            FunctionName=name,
            StartingPosition="TRIM_HORIZON",
            BatchSize=1,
            FilterCriteria={"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
        )

        records = recorder.wait_for_records(lambda found: len(found) >= 2)
        assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [
            ("INSERT", "a"),
            ("INSERT", "b"),
        ]
    finally:
        aws("dynamodb").delete_table(TableName=table)
