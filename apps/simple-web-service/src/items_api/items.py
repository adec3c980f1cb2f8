"""The items service's business rules: validation, identity, timestamps and paging.

Nothing in this module knows about HTTP. Storage is reached through the ``ItemStore`` port,
so the same rules run in unit tests against an in-memory fake and in Lambda against
DynamoDB (``DynamoDBItemStore``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError
from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PRICE = 1_000_000_000
MAX_PRICE_DECIMALS = 6
# Far longer than any token this module issues; stops a hostile token costing a big decode.
_MAX_TOKEN_CHARS = 512

ITEM_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Item fields a client may set",
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": r"\S",
            "errorMessage": {"pattern": "must not be blank"},
        },
        "description": {"type": "string", "maxLength": 2000},
        "price": {"type": "number", "minimum": 0, "maximum": MAX_PRICE},
        "tags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 50},
            "maxItems": 20,
            "uniqueItems": True,
        },
    },
    "required": ["name", "price"],
    "additionalProperties": False,
}
_OPTIONAL_FIELDS = ("description", "tags")


class InvalidInput(ValueError):
    """The client sent something the rules reject; ``field`` names what to fix.

    Schema failures carry the common layer's message (``common_layer.validation``), and
    the rules' own checks use the same style (``field 'price' must be a number``), so
    clients see one style whether the layer or these rules refused the request.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def of_field(cls, field: str, problem: str) -> InvalidInput:
        return cls(field, f"field '{field}' {problem}")

    @classmethod
    def of_parameter(cls, name: str, problem: str) -> InvalidInput:
        return cls(name, f"query parameter '{name}' {problem}")


class ItemNotFound(LookupError):
    """No item has this id (or the id cannot be one of ours)."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"item {item_id!r} not found")
        self.item_id = item_id


@dataclass(frozen=True, slots=True)
class ItemFields:
    """The validated part of an item that clients own."""

    name: str
    price: Decimal
    description: str | None = None
    tags: tuple[str, ...] | None = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"name": self.name, "price": self.price}
        if self.description is not None:
            record["description"] = self.description
        if self.tags is not None:
            record["tags"] = list(self.tags)
        return record


@dataclass(frozen=True, slots=True)
class Item:
    """A stored item: client fields plus the server-owned id and timestamps."""

    id: str
    fields: ItemFields
    created_at: str
    updated_at: str

    def to_record(self) -> dict[str, Any]:
        """The DynamoDB shape (numbers as Decimal, as boto3 requires)."""
        return {
            "id": self.id,
            **self.fields.to_record(),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Item:
        tags = record.get("tags")
        return cls(
            id=str(record["id"]),
            fields=ItemFields(
                name=str(record["name"]),
                price=Decimal(record["price"]),
                description=record.get("description"),
                tags=None if tags is None else tuple(str(tag) for tag in tags),
            ),
            created_at=str(record["created_at"]),
            updated_at=str(record["updated_at"]),
        )

    def to_json(self) -> dict[str, Any]:
        """The API shape: plain JSON types, optional fields omitted when unset."""
        body = self.to_record()
        body["price"] = _json_number(self.fields.price)
        return body


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[Item, ...]
    next_token: str | None

    def to_json(self) -> dict[str, Any]:
        return {"items": [item.to_json() for item in self.items], "next_token": self.next_token}


StoreKey = Mapping[str, Any]


class ItemStore(Protocol):
    """Where items live. Each method is one atomic storage operation, so no rule here
    depends on reading before writing."""

    def insert(self, item: Item) -> None:
        """Store a new item; never overwrite an existing one."""
        ...

    def fetch(self, item_id: str) -> Item | None:
        """The item as last written (read-your-writes), or None."""
        ...

    def replace(self, item_id: str, fields: ItemFields, updated_at: str) -> Item | None:
        """Swap the client fields of an existing item; None when there is no such item."""
        ...

    def remove(self, item_id: str) -> bool:
        """Delete an existing item; False when there was no such item."""
        ...

    def page(self, limit: int, after: StoreKey | None) -> tuple[list[Item], StoreKey | None]:
        """Up to ``limit`` items after ``after``, and the key to continue from (None at the end)."""
        ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


def parse_fields(body: Mapping[str, Any]) -> ItemFields:
    """Check a create/replace body against ``ITEM_SCHEMA``; InvalidInput names the bad field."""
    # The layer compiles ITEM_SCHEMA once per execution environment and reuses it.
    try:
        validate(body, ITEM_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidInput(violation.field or "body", violation.message) from None
    price = _to_price(body["price"])
    tags = body.get("tags")
    return ItemFields(
        name=body["name"],
        price=price,
        description=body.get("description"),
        tags=None if tags is None else tuple(tags),
    )


def create_item(
    store: ItemStore,
    body: Mapping[str, Any],
    *,
    clock: Clock = _utc_now,
    new_id: Callable[[], str] = _new_id,
) -> Item:
    fields = parse_fields(body)
    now = _timestamp(clock)
    item = Item(id=new_id(), fields=fields, created_at=now, updated_at=now)
    store.insert(item)
    return item


def get_item(store: ItemStore, item_id: str) -> Item:
    item = store.fetch(item_id) if is_item_id(item_id) else None
    if item is None:
        raise ItemNotFound(item_id)
    return item


def replace_item(
    store: ItemStore, item_id: str, body: Mapping[str, Any], *, clock: Clock = _utc_now
) -> Item:
    # An id that cannot be ours fails fast, before any schema work on the body.
    if not is_item_id(item_id):
        raise ItemNotFound(item_id)
    fields = parse_fields(body)
    item = store.replace(item_id, fields, _timestamp(clock))
    if item is None:
        raise ItemNotFound(item_id)
    return item


def delete_item(store: ItemStore, item_id: str) -> None:
    if not (is_item_id(item_id) and store.remove(item_id)):
        raise ItemNotFound(item_id)


def list_items(
    store: ItemStore, *, limit: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
) -> Page:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput.of_parameter("limit", f"must be an integer from 1 to {MAX_PAGE_SIZE}")
    items, last_key = store.page(limit, decode_page_token(next_token))
    return Page(items=tuple(items), next_token=encode_page_token(last_key))


def parse_limit(raw: str | None) -> int:
    """The ``limit`` query parameter: absent means the default; anything else must be 1..100."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    problem = f"must be an integer from 1 to {MAX_PAGE_SIZE}"
    text = raw.strip()
    # isdecimal() first: int() would also take "+5", "1_0" and non-ASCII digits.
    if not (text.isascii() and text.isdecimal()):
        raise InvalidInput.of_parameter("limit", problem)
    value = int(text)
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidInput.of_parameter("limit", problem)
    return value


def encode_page_token(key: StoreKey | None) -> str | None:
    """An opaque, URL-safe token for the store's continuation key."""
    if key is None:
        return None
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str | None) -> StoreKey | None:
    """Accept only tokens this API could have issued, so a forged one is a 400, not a 500."""
    if token is None:
        return None
    problem = "is not a token returned by this API"
    if not token or len(token) > _MAX_TOKEN_CHARS:
        raise InvalidInput.of_parameter("next_token", problem)
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput.of_parameter("next_token", problem) from None
    if not (isinstance(key, dict) and key.keys() == {"id"} and is_item_id(key["id"])):
        raise InvalidInput.of_parameter("next_token", problem)
    return key


def is_item_id(value: object) -> bool:
    """Ids are canonical uuid4 strings; anything else cannot name an item, so skip the read."""
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _timestamp(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _to_price(value: int | float) -> Decimal:
    # JSON Schema lets NaN through (every comparison with NaN is false), and DynamoDB
    # rejects NaN, so it must be caught here or it would surface as a 500.
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput.of_field("price", "must be a finite number")
    # str() first: Decimal(0.1) would keep the float's binary noise.
    price = Decimal(str(value))
    exponent = price.as_tuple().exponent
    # DynamoDB cannot store numbers below 1e-130; a sane precision limit keeps them out.
    if isinstance(exponent, int) and -exponent > MAX_PRICE_DECIMALS:
        raise InvalidInput.of_field(
            "price", f"must have at most {MAX_PRICE_DECIMALS} decimal places"
        )
    return price if price != 0 else Decimal(0)


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class DynamoDBItemStore:
    """``ItemStore`` on a DynamoDB table keyed by the string attribute ``id``.

    Every write carries a condition on the key, so "create never overwrites" and
    "replace/delete of a missing item is a 404" hold without a read first (no race).
    """

    def __init__(self, table: Table) -> None:
        self._table = table

    def insert(self, item: Item) -> None:
        self._table.put_item(
            Item=item.to_record(),
            ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": "id"},
        )

    def fetch(self, item_id: str) -> Item | None:
        # Strongly consistent: a client that just wrote an item must be able to read it.
        response = self._table.get_item(Key={"id": item_id}, ConsistentRead=True)
        record = response.get("Item")
        return None if record is None else Item.from_record(record)

    def replace(self, item_id: str, fields: ItemFields, updated_at: str) -> Item | None:
        values = {**fields.to_record(), "updated_at": updated_at}
        absent = [name for name in _OPTIONAL_FIELDS if name not in values]
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
        if absent:
            # Replace means replace: an optional field left out of the body goes away.
            expression += " REMOVE " + ", ".join(f"#{name}" for name in absent)
        # Placeholders everywhere because "name" is a DynamoDB reserved word.
        names = {f"#{name}": name for name in ("id", *values, *absent)}
        try:
            response = self._table.update_item(
                Key={"id": item_id},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(#id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{name}": value for name, value in values.items()},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _condition_failed(error):
                return None
            raise
        return Item.from_record(response["Attributes"])

    def remove(self, item_id: str) -> bool:
        try:
            self._table.delete_item(
                Key={"id": item_id},
                ConditionExpression="attribute_exists(#id)",
                ExpressionAttributeNames={"#id": "id"},
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def page(self, limit: int, after: StoreKey | None) -> tuple[list[Item], StoreKey | None]:
        # Eventually consistent on purpose: half the read cost, and a listing that lags a
        # write by a moment is acceptable where a single-item read is not.
        kwargs: dict[str, Any] = {"Limit": limit}
        if after is not None:
            kwargs["ExclusiveStartKey"] = dict(after)
        response = self._table.scan(**kwargs)
        items = [Item.from_record(record) for record in response.get("Items", [])]
        return items, response.get("LastEvaluatedKey")


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
