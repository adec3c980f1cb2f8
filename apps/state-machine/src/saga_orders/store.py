"""The orders table (DynamoDB): one item per order, key ``order_id``.

Each step is one conditional ``UpdateItem`` that sets the step's attribute and appends its
name to ``steps`` in the same write, so an effect and its record never disagree, and a
repeated step (a Step Functions retry) fails the condition and changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from saga_orders.orders import FaultDrill, Order


class DynamoDBOrderStore:
    """The :class:`saga_orders.orders.OrderStore` port on a boto3 DynamoDB ``Table``."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, order: Order) -> None:
        self._table.put_item(
            Item={
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "items": order.items,
                "amount": order.amount,
                "currency": order.currency,
                "created_at": order.created_at,
                "status": order.status,
                "charge_attempts": 0,
                "steps": [],
                "fault_drill": order.fault_drill.to_json(),
            },
            # An order id is a fresh UUID: a collision is a bug, never an overwrite.
            ConditionExpression="attribute_not_exists(order_id)",
        )

    def get(self, order_id: str) -> Order | None:
        item = self._table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        return None if item is None else _order(item)

    def set_execution(self, order_id: str, execution_arn: str) -> None:
        self._table.update_item(
            Key={"order_id": order_id},
            UpdateExpression="SET execution_arn = :arn",
            ExpressionAttributeValues={":arn": execution_arn},
        )

    def count_charge_attempt(self, order_id: str) -> int:
        response = self._table.update_item(
            Key={"order_id": order_id},
            UpdateExpression="ADD charge_attempts :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["charge_attempts"])

    def apply_step(
        self,
        order_id: str,
        step: str,
        attribute: str,
        new_value: str,
        expected: str | None,
    ) -> bool:
        names = {"#attr": attribute}
        values: dict[str, Any] = {":new": new_value, ":step": [step]}
        if expected is None:
            condition = "attribute_exists(order_id) AND attribute_not_exists(#attr)"
        else:
            condition = "#attr = :expected"
            values[":expected"] = expected
        try:
            self._table.update_item(
                Key={"order_id": order_id},
                UpdateExpression="SET #attr = :new, steps = list_append(steps, :step)",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _order(item: dict[str, Any]) -> Order:
    failure = item.get("failure")
    return Order(
        order_id=str(item["order_id"]),
        customer_id=str(item["customer_id"]),
        items=[{"sku": str(i["sku"]), "quantity": int(i["quantity"])} for i in item["items"]],
        amount=Decimal(item["amount"]),
        currency=str(item["currency"]),
        created_at=str(item["created_at"]),
        status=str(item["status"]),
        reservation=item.get("reservation"),
        payment=item.get("payment"),
        charge_attempts=int(item.get("charge_attempts", 0)),
        steps=[str(s) for s in item.get("steps", [])],
        execution_arn=item.get("execution_arn"),
        failure={k: str(v) for k, v in failure.items()} if isinstance(failure, dict) else None,
        fault_drill=FaultDrill.from_json(item.get("fault_drill")),
    )
