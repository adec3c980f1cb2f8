"""``AggregateStore`` on a DynamoDB table: one transaction per record.

The transaction writes three items, all or none:

- ``pk="seen#<shard>", sk=<sequence number>`` only if it does not exist yet (the record has
  not been counted), expiring after ``SEEN_TTL`` (well past the stream's 24 h retention, the
  longest a record can be delivered again);
- ``pk="type#<type>", sk="total"``: ``count`` + 1;
- ``pk="type#<type>", sk="minute#<yyyy-MM-ddTHH:mm>Z"``: ``count`` + 1, expiring after
  ``MINUTE_TTL``.

A cancelled transaction whose first condition failed is a record counted before: not an
error. Any other failure (throttling, a conflict with a concurrent transaction) raises, and
the record is retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from stream_aggregator.aggregates import StreamEvent

SEEN_TTL = 7 * 24 * 3600
MINUTE_TTL = 30 * 24 * 3600

_ADD_ONE = "ADD #count :one SET updated_at = :now"


def type_key(event_type: str) -> str:
    return f"type#{event_type}"


class DynamoDbAggregateStore:
    def __init__(
        self, client: Any, table_name: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def count_once(self, event: StreamEvent) -> bool:
        now = int(self._clock())
        counter_values = {":one": {"N": "1"}, ":now": {"N": str(now)}}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": {"S": f"seen#{event.shard_id}"},
                                "sk": {"S": event.sequence_number},
                                "event_type": {"S": event.event_type},
                                "expires_at": {"N": str(now + SEEN_TTL)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": type_key(event.event_type)}, "sk": {"S": "total"}},
                            "UpdateExpression": _ADD_ONE,
                            "ExpressionAttributeNames": {"#count": "count"},
                            "ExpressionAttributeValues": counter_values,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {
                                "pk": {"S": type_key(event.event_type)},
                                "sk": {"S": f"minute#{event.minute}"},
                            },
                            "UpdateExpression": _ADD_ONE + ", expires_at = :expires",
                            "ExpressionAttributeNames": {"#count": "count"},
                            "ExpressionAttributeValues": {
                                **counter_values,
                                ":expires": {"N": str(now + MINUTE_TTL)},
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if _already_counted(error):
                return False
            raise
        return True


def _already_counted(error: ClientError) -> bool:
    """A transaction cancelled because the "seen" item exists, and for no other reason."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    codes = [str(reason.get("Code", "None")) for reason in reasons]
    return bool(codes) and codes[0] == "ConditionalCheckFailed" and set(codes[1:]) <= {"None"}
