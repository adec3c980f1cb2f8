"""Record an event once per event id in a DynamoDB table: the subscribers' idempotency.

SNS delivers at least once, SQS too, and publishers retry: the same event can arrive twice.
A conditional put keyed on ``eventId`` records it the first time; later deliveries only
count themselves (``deliveries``), so the table shows how often that happened.

**Fault drills.** An item holding only ``eventId`` and ``faultDrill`` arms a drill: every
delivery of that event then fails with ``FaultDrill``, as an outage would, so the retry and
DLQ path can be watched end to end on a live stack (the integration tests do). The check
rides on the conditional put's failure (``ReturnValuesOnConditionCheckFailure``), so it
costs nothing on the normal path. Only someone with write access to the table can arm one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class FaultDrill(RuntimeError):
    """A drill armed for this event id: fail as a transient error would."""


class RecordOnceTable:
    """Puts an item unless one with its ``eventId`` exists; returns whether it was new.

    ``table`` is a boto3 DynamoDB ``Table`` resource (moto's in the unit tests).
    """

    def __init__(self, table: Table) -> None:
        self._table = table

    def put_once(self, item: Mapping[str, Any]) -> bool:
        try:
            self._table.put_item(
                Item={**item, "deliveries": 1},
                ConditionExpression="attribute_not_exists(eventId)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            existing = error.response.get("Item")
            if isinstance(existing, Mapping) and "faultDrill" in existing:
                raise FaultDrill(f"fault drill armed for event {item['eventId']}") from None
            self._table.update_item(
                Key={"eventId": item["eventId"]},
                UpdateExpression="ADD deliveries :one",
                ExpressionAttributeValues={":one": 1},
            )
            return False
        return True
