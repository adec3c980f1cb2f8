"""The ledger's adapters on AWS: DynamoDB for accounts and ledger entries, SQS for the DLQ.

Two tables:

- accounts, key ``account_id``: ``balance_cents``, ``last_seq`` (the last event recorded),
  ``updated_at``, the anomaly counters ``duplicates_skipped`` and ``sequence_gaps``, and
  ``fault_drills``, a number set of sequence numbers armed to fail once (see below).
- ledger, key ``account_id`` + ``seq``: one entry per recorded event (``LedgerEntry``).

An event is recorded with one transaction: the account moves to the event's sequence number
and balance only if it is still at the previous number, and the entry is written only if
that number has none yet. Reordering or a second consumer can therefore never apply an
event twice or out of order, whatever the queue does.

Fault drills: an operator (or a test) arms one with
``UpdateItem ADD fault_drills :seqs`` on an account; the event with that number then fails
once on purpose and is retried, which shows the retry path end to end. Arming needs write
access to the accounts table, so producers cannot trigger it. Checking costs nothing extra:
the consumer reads the account anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from common_layer.failures import send_to_dlq

from ledger_consumer.ledger import AccountState, Anomaly, LedgerEntry, QueuedMessage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

# A group id for a message that has none (only possible on a standard queue, kept safe).
UNGROUPED = "ungrouped"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_attributes(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in record.items()}


def _from_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoDBLedgerStore:
    """``LedgerStore`` on the accounts and ledger tables (low-level client: transactions)."""

    def __init__(self, client: DynamoDBClient, accounts_table: str, ledger_table: str) -> None:
        self._client = client
        self._accounts = accounts_table
        self._ledger = ledger_table

    def account(self, account_id: str) -> AccountState:
        # Strongly consistent: the decision rests on the last write of the previous event.
        response = self._client.get_item(
            TableName=self._accounts,
            Key={"account_id": {"S": account_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return AccountState(account_id)
        record = _from_attributes(item)
        return AccountState(
            account_id=account_id,
            balance_cents=int(record.get("balance_cents", 0)),
            last_seq=int(record.get("last_seq", 0)),
            fault_drills=frozenset(int(seq) for seq in record.get("fault_drills", ())),
        )

    def entry(self, account_id: str, seq: int) -> LedgerEntry | None:
        response = self._client.get_item(
            TableName=self._ledger,
            Key={"account_id": {"S": account_id}, "seq": {"N": str(seq)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else LedgerEntry.from_record(_from_attributes(item))

    def commit(self, entry: LedgerEntry, *, previous_seq: int) -> bool:
        values: dict[str, Any] = {
            ":balance": {"N": str(entry.balance_after_cents)},
            ":seq": {"N": str(entry.seq)},
            ":now": {"S": entry.recorded_at},
        }
        if previous_seq == 0:
            condition = "attribute_not_exists(last_seq)"
        else:
            condition = "last_seq = :previous"
            values[":previous"] = {"N": str(previous_seq)}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._accounts,
                            "Key": {"account_id": {"S": entry.account_id}},
                            "UpdateExpression": (
                                "SET balance_cents = :balance, last_seq = :seq, updated_at = :now"
                            ),
                            "ConditionExpression": condition,
                            "ExpressionAttributeValues": values,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._ledger,
                            "Item": _to_attributes(entry.to_record()),
                            "ConditionExpression": "attribute_not_exists(seq)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if _error_code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                return False
            raise
        return True

    def disarm_fault_drill(self, account_id: str, seq: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._accounts,
                Key={"account_id": {"S": account_id}},
                UpdateExpression="DELETE fault_drills :seqs",
                ConditionExpression="contains(fault_drills, :seq)",
                ExpressionAttributeValues={":seqs": {"NS": [str(seq)]}, ":seq": {"N": str(seq)}},
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def count(self, account_id: str, anomaly: Anomaly) -> None:
        self._client.update_item(
            TableName=self._accounts,
            Key={"account_id": {"S": account_id}},
            UpdateExpression="ADD #counter :one",
            ExpressionAttributeNames={"#counter": anomaly},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )


class SqsDeadLetters:
    """``DeadLetters`` on the FIFO dead-letter queue, in the common layer's envelope.

    The message keeps its group there, so the DLQ holds each account's parked events in
    order and ``common_layer.failures.redrive`` can replay them in that order.
    """

    def __init__(self, client: SQSClient, queue_url: str, source: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._source = source

    def park(self, message: QueuedMessage, problem: Exception) -> None:
        send_to_dlq(
            self._client,
            self._queue_url,
            payload=message.body,
            error=problem,
            attempt=message.receive_count,
            source=self._source,
            message_group_id=message.group_id or UNGROUPED,
        )
