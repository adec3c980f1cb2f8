"""A subscriber's ports on AWS: its DynamoDB table and its SQS dead-letter queue.

Every subscriber table has the same key: ``order_id`` (partition) and ``event_type``
(sort). An order is placed, cancelled or refunded once, so that key is also what makes a
second delivery of the same event (or the same line logged twice) a no-op: the put is
conditional on the item not existing yet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from common_layer.failures import dlq_envelope

from orderfeed_contract.events import InvalidOrderEvent, OrderEvent
from orderfeed_contract.subscriber import QueueMessage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs.client import SQSClient


def _dynamodb_value(value: Any) -> Any:
    """JSON data as DynamoDB takes it: numbers as Decimal (floats are refused)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


class DynamoDbEventStore:
    """``EventStore`` on a table keyed by (order_id, event_type)."""

    def __init__(self, table: Table, service: str) -> None:
        self._table = table
        self._service = service

    def record(self, event: OrderEvent, attributes: Mapping[str, Any]) -> bool:
        item = {
            **_dynamodb_value(dict(attributes)),
            "order_id": event.order_id,
            "event_type": event.event_type,
            "event_id": event.event_id,
            "occurred_at": event.occurred_at,
            "service": self._service,
            "recorded_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(order_id)")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


class SqsDeadLetters:
    """``DeadLetters`` on an SQS queue: the common layer's envelope (original body, reason,
    receive count, source queue) with the message attributes kept, so a redrive after the
    fix replays the message as SNS delivered it."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def park(self, message: QueueMessage, reason: InvalidOrderEvent) -> None:
        envelope = dlq_envelope(message.body, reason, message.receive_count, message.source)
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(envelope),
            MessageAttributes={
                name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
                for name, value in message.attributes.items()
            },
        )
