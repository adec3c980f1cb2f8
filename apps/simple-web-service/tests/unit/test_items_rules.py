"""The item rules (items_api.items) against an in-memory store: no AWS, no HTTP."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from items_api import items
from items_api.items import Item, ItemFields, StoreKey


class InMemoryItemStore:
    """A fake ItemStore with the same contract as the DynamoDB adapter."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.calls: list[str] = []

    def insert(self, item: Item) -> None:
        self.calls.append("insert")
        if item.id in self.items:
            raise KeyError(item.id)
        self.items[item.id] = item

    def fetch(self, item_id: str) -> Item | None:
        self.calls.append("fetch")
        return self.items.get(item_id)

    def replace(self, item_id: str, fields: ItemFields, updated_at: str) -> Item | None:
        self.calls.append("replace")
        current = self.items.get(item_id)
        if current is None:
            return None
        replaced = Item(
            id=item_id, fields=fields, created_at=current.created_at, updated_at=updated_at
        )
        self.items[item_id] = replaced
        return replaced

    def remove(self, item_id: str) -> bool:
        self.calls.append("remove")
        return self.items.pop(item_id, None) is not None

    def page(self, limit: int, after: StoreKey | None) -> tuple[list[Item], StoreKey | None]:
        self.calls.append("page")
        ids = sorted(self.items)
        if after is not None:
            ids = [item_id for item_id in ids if item_id > after["id"]]
        chosen = ids[:limit]
        # Like DynamoDB, a full page carries a key even when nothing follows it.
        last_key = {"id": chosen[-1]} if len(chosen) == limit else None
        return [self.items[item_id] for item_id in chosen], last_key


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)

    def __call__(self) -> datetime:
        current = self.now
        self.now += timedelta(seconds=1)
        return current


@pytest.fixture
def store() -> InMemoryItemStore:
    return InMemoryItemStore()


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


VALID = {"name": "Lamp", "price": 19.99, "description": "A desk lamp", "tags": ["home", "light"]}


def test_create_assigns_uuid4_id_and_equal_timestamps(store, clock):
    item = items.create_item(store, VALID, clock=clock)

    assert uuid.UUID(item.id).version == 4
    assert item.created_at == item.updated_at == "2026-01-02T03:04:05.678Z"
    assert store.items[item.id] == item
    assert item.to_json() == {
        "id": item.id,
        "name": "Lamp",
        "price": 19.99,
        "description": "A desk lamp",
        "tags": ["home", "light"],
        "created_at": "2026-01-02T03:04:05.678Z",
        "updated_at": "2026-01-02T03:04:05.678Z",
    }


def test_create_keeps_optional_fields_absent_when_not_given(store):
    item = items.create_item(store, {"name": "Pen", "price": 2})

    assert item.to_json().keys() == {"id", "name", "price", "created_at", "updated_at"}
    assert item.to_json()["price"] == 2
    assert isinstance(item.to_json()["price"], int)


def test_prices_are_stored_as_exact_decimals(store):
    item = items.create_item(store, {"name": "Gum", "price": 0.1})

    assert item.fields.price == Decimal("0.1")
    assert item.to_record()["price"] == Decimal("0.1")


def test_negative_zero_price_is_stored_as_zero(store):
    item = items.create_item(store, {"name": "Free", "price": -0.0})

    assert item.fields.price == Decimal(0)
    assert str(item.fields.price) == "0"


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"price": 1}, "name", "missing required field 'name'"),
        ({"name": "x"}, "price", "missing required field 'price'"),
        ({}, "name, price", "missing required fields 'name', 'price'"),
        ({**VALID, "colour": "red"}, "colour", "unexpected field 'colour'; allowed: 'name'"),
        ({**VALID, "id": "abc", "colour": "red"}, "colour, id", "unexpected fields 'colour', 'id'"),
        ({**VALID, "name": 7}, "name", "must be a string"),
        ({**VALID, "name": ""}, "name", "must not be empty"),
        ({**VALID, "name": "   "}, "name", "must not be blank"),
        ({**VALID, "name": "x" * 201}, "name", "at most 200 characters"),
        ({**VALID, "description": 5}, "description", "must be a string"),
        ({**VALID, "description": None}, "description", "must be a string"),
        ({**VALID, "price": "12"}, "price", "must be a number"),
        ({**VALID, "price": True}, "price", "must be a number"),
        ({**VALID, "price": None}, "price", "must be a number"),
        ({**VALID, "price": -0.01}, "price", "must be at least 0"),
        ({**VALID, "price": 10**12}, "price", "must be at most 1000000000"),
        ({**VALID, "price": float("inf")}, "price", "must be at most"),
        ({**VALID, "price": float("nan")}, "price", "must be a finite number"),
        ({**VALID, "price": 1e-7}, "price", "at most 6 decimal places"),
        ({**VALID, "price": 1e-200}, "price", "at most 6 decimal places"),
        ({**VALID, "tags": "home"}, "tags", "must be an array"),
        ({**VALID, "tags": ["ok", 3]}, "tags[1]", "must be a string"),
        ({**VALID, "tags": ["a", "a"]}, "tags", "must not contain duplicates"),
        ({**VALID, "tags": [str(n) for n in range(21)]}, "tags", "at most 20 entries"),
        ({**VALID, "tags": [""]}, "tags[0]", "must not be empty"),
    ],
)
def test_invalid_bodies_name_the_field(store, body, field, problem):
    with pytest.raises(items.InvalidInput) as raised:
        items.create_item(store, body)

    assert raised.value.field == field
    assert problem in str(raised.value)
    for name in field.split(", "):
        assert f"'{name}'" in str(raised.value)
    assert store.items == {}


def test_get_returns_the_stored_item(store):
    created = items.create_item(store, VALID)

    assert items.get_item(store, created.id) == created


def test_get_of_unknown_id_is_not_found(store):
    with pytest.raises(items.ItemNotFound):
        items.get_item(store, str(uuid.uuid4()))


@pytest.mark.parametrize("item_id", ["nope", "", "A" * 2000, str(uuid.uuid4()).upper()])
def test_ids_that_cannot_be_ours_are_not_found_without_a_read(store, item_id):
    for operation in (
        lambda: items.get_item(store, item_id),
        lambda: items.replace_item(store, item_id, VALID),
        lambda: items.delete_item(store, item_id),
    ):
        with pytest.raises(items.ItemNotFound):
            operation()
    assert store.calls == []


def test_replace_swaps_fields_keeps_created_at_and_drops_omitted_optionals(store, clock):
    created = items.create_item(store, VALID, clock=clock)

    replaced = items.replace_item(store, created.id, {"name": "Lamp v2", "price": 25}, clock=clock)

    assert replaced.id == created.id
    assert replaced.created_at == created.created_at
    assert replaced.updated_at > created.updated_at
    assert replaced.to_json() == {
        "id": created.id,
        "name": "Lamp v2",
        "price": 25,
        "created_at": created.created_at,
        "updated_at": replaced.updated_at,
    }
    assert store.items[created.id] == replaced


def test_replace_of_missing_item_is_not_found(store):
    with pytest.raises(items.ItemNotFound):
        items.replace_item(store, str(uuid.uuid4()), VALID)


def test_replace_validates_the_body(store):
    created = items.create_item(store, VALID)

    with pytest.raises(items.InvalidInput) as raised:
        items.replace_item(store, created.id, {**VALID, "price": "free"})

    assert raised.value.field == "price"
    assert store.items[created.id] == created


def test_delete_removes_and_a_second_delete_is_not_found(store):
    created = items.create_item(store, VALID)

    items.delete_item(store, created.id)

    assert created.id not in store.items
    with pytest.raises(items.ItemNotFound):
        items.delete_item(store, created.id)


def _walk(store: InMemoryItemStore, limit: int) -> Iterator[items.Page]:
    token: str | None = None
    while True:
        page = items.list_items(store, limit=limit, next_token=token)
        yield page
        if page.next_token is None:
            return
        token = page.next_token


def test_list_walks_every_item_exactly_once_across_pages(store):
    created = {items.create_item(store, {"name": f"n{n}", "price": n}).id for n in range(5)}

    pages = list(_walk(store, limit=2))

    seen = [item.id for page in pages for item in page.items]
    assert sorted(seen) == sorted(created)
    assert [len(page.items) for page in pages] == [2, 2, 1]


def test_list_defaults_to_twenty_per_page(store):
    for n in range(25):
        items.create_item(store, {"name": f"n{n}", "price": n})

    page = items.list_items(store)

    assert len(page.items) == items.DEFAULT_PAGE_SIZE == 20
    assert page.next_token is not None


def test_list_of_empty_store_has_no_token(store):
    assert items.list_items(store).to_json() == {"items": [], "next_token": None}


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_list_rejects_limits_out_of_range(store, limit):
    with pytest.raises(items.InvalidInput) as raised:
        items.list_items(store, limit=limit)
    assert raised.value.field == "limit"


@pytest.mark.parametrize(("raw", "expected"), [(None, 20), ("1", 1), ("100", 100), (" 7 ", 7)])
def test_parse_limit_accepts(raw, expected):
    assert items.parse_limit(raw) == expected


@pytest.mark.parametrize("raw", ["", "0", "101", "-1", "+5", "1.5", "1e2", "abc", "1_0", "٣"])
def test_parse_limit_rejects_naming_the_parameter(raw):
    with pytest.raises(items.InvalidInput) as raised:
        items.parse_limit(raw)
    assert raised.value.field == "limit"
    assert str(raised.value) == "query parameter 'limit' must be an integer from 1 to 100"


def test_page_token_round_trips_and_is_url_safe():
    key = {"id": str(uuid.uuid4())}

    token = items.encode_page_token(key)

    assert token is not None
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert items.decode_page_token(token) == key
    assert items.encode_page_token(None) is None
    assert items.decode_page_token(None) is None


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64!",
        "%%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _b64("just a string"),
        _b64(["id"]),
        _b64({}),
        _b64({"id": 5}),
        _b64({"id": "not-a-uuid"}),
        _b64({"id": str(uuid.uuid4()), "extra": "x"}),
        "A" * 2000,
    ],
)
def test_forged_page_tokens_are_invalid_input(store, token):
    with pytest.raises(items.InvalidInput) as raised:
        items.list_items(store, next_token=token)
    assert raised.value.field == "next_token"
    assert store.calls == []


def test_record_round_trip_through_the_store_shape():
    item = Item(
        id=str(uuid.uuid4()),
        fields=ItemFields(name="n", price=Decimal("1.50"), description="d", tags=("a",)),
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )

    assert Item.from_record(item.to_record()) == item
    assert item.to_json()["price"] == 1.5
