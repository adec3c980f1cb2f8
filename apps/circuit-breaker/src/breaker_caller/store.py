"""The breaker store on DynamoDB: one item per breaker, every change a conditional write.

Item: ``breaker_key`` (partition key), ``state``, ``failures``, ``open_until_ms``,
``open_ms``, ``trial_until_ms``, ``version``, ``updated_at_ms``.

- counting a failure is one ``UpdateItem`` with ``ADD failures 1`` under the condition
  "closed or absent", so concurrent failures never overwrite each other's count;
- a change of state is a ``PutItem`` under the condition "version and failure count are
  still what the decision read", so of two callers deciding from the same read exactly one
  write succeeds (the other gets ``ConditionalCheckFailedException`` and re-reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from breaker_caller.circuit import Snapshot, State, wall_clock_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoDBBreakerStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def load(self, key: str) -> Snapshot:
        item = self.table.get_item(Key={"breaker_key": key}, ConsistentRead=True).get("Item")
        return _snapshot(key, item) if item else Snapshot(key)

    def add_failure(self, key: str) -> Snapshot | None:
        try:
            response = self.table.update_item(
                Key={"breaker_key": key},
                UpdateExpression=(
                    "SET #state = if_not_exists(#state, :closed),"
                    " #version = if_not_exists(#version, :zero), updated_at_ms = :now"
                    " ADD failures :one"
                ),
                ConditionExpression="attribute_not_exists(#state) OR #state = :closed",
                ExpressionAttributeNames={"#state": "state", "#version": "version"},
                ExpressionAttributeValues={
                    ":closed": State.CLOSED.value,
                    ":zero": 0,
                    ":one": 1,
                    ":now": wall_clock_ms(),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return _snapshot(key, response["Attributes"])

    def reset_failures(self, key: str) -> None:
        try:
            self.table.update_item(
                Key={"breaker_key": key},
                UpdateExpression="SET failures = :zero, updated_at_ms = :now",
                ConditionExpression="#state = :closed AND failures > :zero",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":closed": State.CLOSED.value,
                    ":zero": 0,
                    ":now": wall_clock_ms(),
                },
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    def replace(self, expected: Snapshot, new: Snapshot) -> bool:
        try:
            self.table.put_item(
                Item={
                    "breaker_key": new.key,
                    "state": new.state.value,
                    "failures": new.failures,
                    "open_until_ms": new.open_until_ms,
                    "open_ms": new.open_ms,
                    "trial_until_ms": new.trial_until_ms,
                    "version": new.version,
                    "updated_at_ms": wall_clock_ms(),
                },
                ConditionExpression="#version = :version AND failures >= :failures",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={
                    ":version": expected.version,
                    ":failures": expected.failures,
                },
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True


def _snapshot(key: str, item: dict[str, Any]) -> Snapshot:
    return Snapshot(
        key=key,
        state=State(item.get("state", State.CLOSED.value)),
        failures=int(item.get("failures", 0)),
        open_until_ms=int(item.get("open_until_ms", 0)),
        open_ms=int(item.get("open_ms", 0)),
        trial_until_ms=int(item.get("trial_until_ms", 0)),
        version=int(item.get("version", 0)),
    )
