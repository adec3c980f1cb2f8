"""DynamoDB applies the writes of one item one after the other (needed by
apps/eventually-consistent, whose write API gives every write of an account the next
version with ``SET version = if_not_exists(version, 0) + 1``).

AWS: concurrent UpdateItem calls on the same item are serialised, so each sees the result
of the previous one: N increments yield N distinct values and a final value of N, and of
several conditional writes expecting the same version exactly one succeeds.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

THREADS = 16
WRITES = 400


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """The local cloud serves requests on threads of this process: switching threads far
    more often than Python's default 5 ms makes a lost update (a missing lock) show at once
    instead of now and then."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def dynamodb(aws: Any) -> Any:
    # One pooled connection per thread, so the requests really are concurrent.
    return aws("dynamodb", config=Config(max_pool_connections=THREADS))


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"concurrent-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


def test_concurrent_increments_of_one_item_are_never_lost(dynamodb: Any, table: str) -> None:
    def increment(_: int) -> int:
        response = dynamodb.update_item(
            TableName=table,
            Key={"pk": {"S": "account"}},
            UpdateExpression="SET version = if_not_exists(version, :zero) + :one",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["version"]["N"])

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        versions = list(pool.map(increment, range(WRITES)))

    assert sorted(versions) == list(range(1, WRITES + 1))
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "account"}}, ConsistentRead=True)
    assert item["Item"]["version"]["N"] == str(WRITES)


def test_of_concurrent_conditional_writes_on_one_version_exactly_one_wins(
    dynamodb: Any, table: str
) -> None:
    rounds = 25
    for expected in range(rounds):

        def compare_and_set(writer: int, expected: int = expected) -> str:
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key={"pk": {"S": "cas"}},
                    UpdateExpression="SET version = :next, writer = :writer",
                    ConditionExpression="attribute_not_exists(version) OR version = :expected",
                    ExpressionAttributeValues={
                        ":expected": {"N": str(expected)},
                        ":next": {"N": str(expected + 1)},
                        ":writer": {"N": str(writer)},
                    },
                )
            except ClientError as error:
                return str(error.response["Error"]["Code"])
            return "written"

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            outcomes = list(pool.map(compare_and_set, range(THREADS)))
        assert outcomes.count("written") == 1, (expected, outcomes)
        assert set(outcomes) == {"written", "ConditionalCheckFailedException"}, outcomes
