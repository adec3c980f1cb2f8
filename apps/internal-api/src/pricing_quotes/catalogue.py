"""The catalogue on DynamoDB: one item per sku (string partition key ``sku``).

A record holds ``name`` (string), ``unit_price_cents`` (number) and optionally
``bulk_min_quantity`` and ``bulk_percent_off`` (numbers, both or neither). A cart is read
with one BatchGetItem (a cart has at most 50 lines, BatchGetItem takes up to 100 keys).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pricing_quotes.contract import Unavailable
from pricing_quotes.pricing import CatalogueItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource

# BatchGetItem may leave keys unprocessed when it is throttled; ask for them again this
# many times (with a short backoff) before telling the caller to come back later.
MAX_ROUNDS = 4
# DynamoDB errors that mean "not now", as opposed to a bug or a misconfiguration.
_TRANSIENT = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class DynamoDBCatalogue:
    """``Catalogue`` on a DynamoDB table; store failures become ``Unavailable``."""

    def __init__(
        self,
        dynamodb: DynamoDBServiceResource,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._dynamodb = dynamodb
        self._table_name = table_name
        self._sleep = sleep

    def fetch(self, skus: Sequence[str]) -> dict[str, CatalogueItem]:
        keys: list[dict[str, Any]] = [{"sku": sku} for sku in dict.fromkeys(skus)]
        found: dict[str, CatalogueItem] = {}
        for round_ in range(MAX_ROUNDS):
            if round_:
                self._sleep(0.05 * 2 ** (round_ - 1))
            response = self._batch_get(keys)
            for record in response.get("Responses", {}).get(self._table_name, []):
                item = item_from_record(record)
                found[item.sku] = item
            keys = list(
                response.get("UnprocessedKeys", {}).get(self._table_name, {}).get("Keys", [])
            )
            if not keys:
                return found
        raise Unavailable("the catalogue is busy (reads were throttled); try again shortly")

    def _batch_get(self, keys: list[dict[str, Any]]) -> Mapping[str, Any]:
        try:
            return self._dynamodb.batch_get_item(
                # Strongly consistent: a quote must use the price as last written.
                RequestItems={self._table_name: {"Keys": keys, "ConsistentRead": True}}
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _TRANSIENT:
                raise Unavailable(
                    f"the catalogue is unavailable ({code}); try again shortly"
                ) from error
            raise
        except BotoCoreError as error:
            raise Unavailable(
                f"the catalogue is unreachable ({type(error).__name__}); try again shortly"
            ) from error


def item_from_record(record: Mapping[str, Any]) -> CatalogueItem:
    """A catalogue item from its DynamoDB record (numbers arrive as Decimal)."""
    sku = str(record["sku"])
    try:
        return CatalogueItem(
            sku=sku,
            name=str(record["name"]),
            unit_price_cents=_whole(record["unit_price_cents"]),
            bulk_min_quantity=_optional_whole(record.get("bulk_min_quantity")),
            bulk_percent_off=_optional_whole(record.get("bulk_percent_off")),
        )
    except KeyError as missing:
        raise ValueError(f"catalogue item {sku!r} has no {missing}") from None


def _whole(value: Any) -> int:
    number = Decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value} is not a whole number of cents")
    return int(number)


def _optional_whole(value: Any) -> int | None:
    return None if value is None else _whole(value)
