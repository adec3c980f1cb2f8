"""The Simple Web Service as a client sees it: HTTP in front, the items table behind.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Every item a
test creates is deleted again, even when the test fails.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from stack_testing import Stack, wait_for

# Per request; generous enough for a cold start of the function.
TIMEOUT = 30
# A walk over the listing stops here rather than loop forever on a broken next_token.
MAX_PAGES = 500

CreateItem = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def items_url(stack: Stack) -> str:
    return stack.url("ApiUrl").rstrip("/") + "/items"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def create_item(items_url: str, http: requests.Session) -> Iterator[CreateItem]:
    """POST an item (asserting 201); whatever the test leaves behind is deleted afterwards."""
    created: list[str] = []

    def create(body: dict[str, Any]) -> dict[str, Any]:
        response = http.post(items_url, json=body, timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        item: dict[str, Any] = response.json()
        created.append(item["id"])
        return item

    yield create
    for item_id in created:
        # 404 is fine here: the test may have deleted the item itself.
        http.delete(f"{items_url}/{item_id}", timeout=TIMEOUT)


def error_message(response: requests.Response) -> str:
    """The message of an error response (the common layer's error body)."""
    return str(response.json()["message"])


def stored_record(stack: Stack, item_id: str) -> dict[str, Any] | None:
    """The item as DynamoDB holds it, read straight from the table."""
    response = stack.client("dynamodb").get_item(
        TableName=stack.output("ItemsTableName"), Key={"id": {"S": item_id}}, ConsistentRead=True
    )
    record: dict[str, Any] | None = response.get("Item")
    return record


def walk_listing(
    http: requests.Session, items_url: str, *, limit: int, until: set[str]
) -> tuple[list[str], int]:
    """Follow next_token page by page until every id in ``until`` was seen or the listing
    ends; return the ids seen, in order, and the number of pages read."""
    seen: list[str] = []
    params = {"limit": str(limit)}
    for pages in range(1, MAX_PAGES + 1):
        response = http.get(items_url, params=params, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        seen.extend(item["id"] for item in page["items"])
        if until <= set(seen) or page["next_token"] is None:
            return seen, pages
        params = {"limit": str(limit), "next_token": page["next_token"]}
    raise AssertionError(f"the listing did not end within {MAX_PAGES} pages")


def test_item_lifecycle_create_read_replace_list_delete(items_url, http, create_item, unique_id):
    created = create_item(
        {"name": f"{unique_id} desk lamp", "price": 19.99, "tags": ["home", "light"]}
    )
    item_url = f"{items_url}/{created['id']}"
    assert uuid.UUID(created["id"])
    assert created["created_at"] == created["updated_at"]

    fetched = http.get(item_url, timeout=TIMEOUT)
    assert fetched.status_code == 200
    assert fetched.json() == created

    replaced = http.put(
        item_url,
        json={"name": f"{unique_id} floor lamp", "price": 49, "description": "Tall"},
        timeout=TIMEOUT,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == f"{unique_id} floor lamp"
    assert replaced.json()["created_at"] == created["created_at"]
    assert "tags" not in replaced.json()
    assert http.get(item_url, timeout=TIMEOUT).json() == replaced.json()

    # Listing is eventually consistent (single-item reads are not): poll for it.
    def listed() -> bool:
        seen, _ = walk_listing(http, items_url, limit=50, until={created["id"]})
        return created["id"] in seen

    assert wait_for(listed, description="the replaced item in the listing")

    deleted = http.delete(item_url, timeout=TIMEOUT)
    assert deleted.status_code == 204
    assert http.get(item_url, timeout=TIMEOUT).status_code == 404
    assert http.delete(item_url, timeout=TIMEOUT).status_code == 404


def test_created_item_is_stored_in_the_table(stack, create_item, unique_id):
    created = create_item({"name": f"{unique_id} mug", "price": 7.5, "description": "Blue"})

    record = stored_record(stack, created["id"])

    assert record is not None
    assert record["name"] == {"S": f"{unique_id} mug"}
    assert record["price"] == {"N": "7.5"}
    assert record["description"] == {"S": "Blue"}
    assert record["created_at"] == {"S": created["created_at"]}


def test_deleted_item_is_gone_from_the_table(stack, items_url, http, create_item, unique_id):
    created = create_item({"name": f"{unique_id} pen", "price": 1})

    assert http.delete(f"{items_url}/{created['id']}", timeout=TIMEOUT).status_code == 204

    assert stored_record(stack, created["id"]) is None


def test_listing_pages_through_every_item_once(items_url, http, create_item, unique_id):
    wanted = {create_item({"name": f"{unique_id} #{n}", "price": n})["id"] for n in range(3)}

    def every_item_listed() -> tuple[list[str], int] | None:
        seen, pages = walk_listing(http, items_url, limit=2, until=wanted)
        return (seen, pages) if wanted <= set(seen) else None

    seen, pages = wait_for(every_item_listed, description="all three items in the listing")

    # Three items at two per page cannot fit on one page: the token was followed.
    assert pages >= 2
    assert len(seen) == len(set(seen)), "an item appeared on two pages"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"next_token": "forged"}, "next_token"),
    ],
)
def test_bad_listing_parameters_are_400_naming_the_parameter(items_url, http, params, parameter):
    response = http.get(items_url, params=params, timeout=TIMEOUT)

    assert response.status_code == 400
    assert f"'{parameter}'" in error_message(response)


def test_malformed_json_is_400(items_url, http):
    response = http.post(
        items_url,
        data='{"name": "half an object", "price": ',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    assert error_message(response)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "lamp", "price": "cheap"}, "price"),
        ({"name": 42, "price": 1}, "name"),
        ({"name": "lamp", "price": 1, "tags": ["ok", 7]}, "tags[1]"),
        ({"name": "lamp"}, "price"),
        ({"name": "lamp", "price": 1, "colour": "red"}, "colour"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(items_url, http, body, field):
    response = http.post(items_url, json=body, timeout=TIMEOUT)

    assert response.status_code == 400
    assert f"'{field}'" in error_message(response)


def test_replace_with_wrong_types_is_400_and_changes_nothing(
    items_url, http, create_item, unique_id
):
    created = create_item({"name": f"{unique_id} chair", "price": 30})
    item_url = f"{items_url}/{created['id']}"

    response = http.put(
        item_url, json={"name": f"{unique_id} chair", "price": [30]}, timeout=TIMEOUT
    )

    assert response.status_code == 400
    assert "'price'" in error_message(response)
    assert http.get(item_url, timeout=TIMEOUT).json() == created


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_unsupported_method_on_an_item_is_405_with_allow(
    items_url, http, create_item, unique_id, method
):
    created = create_item({"name": f"{unique_id} desk", "price": 120})

    response = http.request(
        method, f"{items_url}/{created['id']}", json={"price": 99}, timeout=TIMEOUT
    )

    assert response.status_code == 405
    allowed = {value.strip() for value in response.headers["Allow"].split(",")}
    assert allowed == {"DELETE", "GET", "PUT"}


def test_unknown_item_is_404_for_read_replace_and_delete(items_url, http):
    item_url = f"{items_url}/{uuid.uuid4()}"

    assert http.get(item_url, timeout=TIMEOUT).status_code == 404
    assert http.put(item_url, json={"name": "x", "price": 1}, timeout=TIMEOUT).status_code == 404
    assert http.delete(item_url, timeout=TIMEOUT).status_code == 404


def test_unknown_path_is_404(stack, http, unique_id):
    # API Gateway itself answers paths without a resource (a gateway response set to 404).
    response = http.get(f"{stack.url('ApiUrl').rstrip('/')}/{unique_id}", timeout=TIMEOUT)

    assert response.status_code == 404


def test_oversized_body_is_413(items_url, http):
    body = json.dumps({"name": "big", "price": 1, "description": "x" * (17 * 1024)})

    response = http.post(
        items_url, data=body, headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )

    assert response.status_code == 413
