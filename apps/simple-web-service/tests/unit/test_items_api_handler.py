"""The Lambda handler end to end, in process: REST v1 events in, HTTP responses out,
DynamoDB played by moto."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
ITEM = {"name": "Desk lamp", "price": 19.99, "description": "Warm light", "tags": ["home"]}


def _create(api, body=None):
    response = api("POST", "/items", json_body=body or ITEM)
    assert response.status == 201, response.body
    return response.json()


def test_post_creates_item_with_201_location_and_json(api, table):
    response = api("POST", "/items", json_body=ITEM)

    assert response.status == 201
    created = response.json()
    assert response.headers["location"] == f"/v1/items/{created['id']}"
    assert response.headers["content-type"].startswith("application/json")
    assert uuid.UUID(created["id"]).version == 4
    assert {key: created[key] for key in ITEM} == ITEM
    assert created["created_at"] == created["updated_at"]
    stored = table.get_item(Key={"id": created["id"]})["Item"]
    assert stored["price"] == Decimal("19.99")
    assert stored["name"] == "Desk lamp"


def test_get_returns_200_with_the_item(api):
    created = _create(api)

    response = api("GET", f"/items/{created['id']}")

    assert response.status == 200
    assert response.json() == created


@pytest.mark.parametrize("item_id", [str(uuid.uuid4()), "not-an-id"])
def test_get_unknown_item_is_404(api, item_id):
    response = api("GET", f"/items/{item_id}")

    assert response.status == 404
    assert item_id in response.message


def test_put_replaces_item_and_returns_200(api, table):
    created = _create(api)
    replacement = {"name": "Floor lamp", "price": 49}

    response = api("PUT", f"/items/{created['id']}", json_body=replacement)

    assert response.status == 200
    replaced = response.json()
    assert replaced["name"] == "Floor lamp"
    assert replaced["price"] == 49
    assert "description" not in replaced
    assert "tags" not in replaced
    assert replaced["created_at"] == created["created_at"]
    assert replaced["updated_at"] >= created["updated_at"]
    stored = table.get_item(Key={"id": created["id"]})["Item"]
    assert "description" not in stored
    assert stored["price"] == Decimal(49)


def test_put_of_missing_item_is_404_and_creates_nothing(api, table):
    missing = str(uuid.uuid4())

    response = api("PUT", f"/items/{missing}", json_body=ITEM)

    assert response.status == 404
    assert "Item" not in table.get_item(Key={"id": missing})


def test_put_with_invalid_body_is_400_and_leaves_item_unchanged(api):
    created = _create(api)

    response = api("PUT", f"/items/{created['id']}", json_body={**ITEM, "price": "cheap"})

    assert response.status == 400
    assert "'price'" in response.message
    assert api("GET", f"/items/{created['id']}").json() == created


def test_delete_returns_204_then_item_is_gone(api, table):
    created = _create(api)

    response = api("DELETE", f"/items/{created['id']}")

    assert response.status == 204
    assert not response.body
    assert api("GET", f"/items/{created['id']}").status == 404
    assert "Item" not in table.get_item(Key={"id": created["id"]})


def test_delete_of_missing_item_is_404(api):
    assert api("DELETE", f"/items/{uuid.uuid4()}").status == 404


def test_list_paginates_across_pages_with_opaque_tokens(api):
    created = {_create(api, {"name": f"item {n}", "price": n})["id"] for n in range(5)}

    seen: list[str] = []
    page_sizes: list[int] = []
    query: dict[str, str] = {"limit": "2"}
    for _ in range(10):
        response = api("GET", "/items", query=query)
        assert response.status == 200
        page = response.json()
        page_sizes.append(len(page["items"]))
        seen.extend(item["id"] for item in page["items"])
        if page["next_token"] is None:
            break
        query = {"limit": "2", "next_token": page["next_token"]}

    assert sorted(seen) == sorted(created)
    assert page_sizes[:3] == [2, 2, 1]


def test_list_defaults_to_twenty_items(api):
    for n in range(21):
        _create(api, {"name": f"item {n}", "price": n})

    page = api("GET", "/items").json()

    assert len(page["items"]) == 20
    assert page["next_token"]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-3", "2.5", ""])
def test_list_with_bad_limit_is_400_naming_limit(api, limit):
    response = api("GET", "/items", query={"limit": limit})

    assert response.status == 400
    assert "'limit'" in response.message


@pytest.mark.parametrize("token", ["garbage!", "e30", "eyJpZCI6ICJ4In0"])
def test_list_with_bad_next_token_is_400_naming_next_token(api, token):
    response = api("GET", "/items", query={"next_token": token})

    assert response.status == 400
    assert "'next_token'" in response.message


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/items/{id}", {"DELETE", "GET", "PUT"}),
        ("POST", "/items/{id}", {"DELETE", "GET", "PUT"}),
        ("PUT", "/items", {"GET", "POST"}),
        ("DELETE", "/items", {"GET", "POST"}),
        ("PATCH", "/items", {"GET", "POST"}),
        ("PUT", "/items/", {"GET", "POST"}),
        ("POST", "/items/{id}/", {"DELETE", "GET", "PUT"}),
    ],
)
def test_unsupported_method_on_known_path_is_405_with_allow(api, method, path, allowed):
    response = api(method, path.replace("{id}", str(uuid.uuid4())), json_body=ITEM)

    assert response.status == 405
    assert {value.strip() for value in response.headers["allow"].split(",")} == allowed


@pytest.mark.parametrize("path", ["/things", "/items/a/b", "/", "/itemsx"])
def test_unknown_path_is_404(api, path):
    assert api("GET", path).status == 404


@pytest.mark.parametrize(
    "body", ['{"name": "x", "price": 1', "not json", "[1, 2]", '"text"', "", "null"]
)
def test_malformed_or_non_object_json_is_400(api, body):
    response = api("POST", "/items", body=body)

    assert response.status == 400
    assert response.message


def test_missing_body_is_400(api):
    assert api("POST", "/items", body=None).status == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 1, "price": 1}, "name"),
        ({"name": "x", "price": "1"}, "price"),
        ({"name": "x", "price": True}, "price"),
        ({"name": "x", "price": -1}, "price"),
        ({"name": "x", "price": 1, "tags": "a"}, "tags"),
        ({"name": "x", "price": 1, "tags": ["a", 2]}, "tags[1]"),
        ({"name": "x", "price": 1, "description": 3}, "description"),
        ({"name": "x"}, "price"),
        ({"price": 1}, "name"),
        ({"name": "x", "price": 1, "colour": "red"}, "colour"),
        ({"name": "x", "price": 1, "id": str(uuid.uuid4())}, "id"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(api, body, field):
    response = api("POST", "/items", json_body=body)

    assert response.status == 400
    assert f"'{field}'" in response.message, response.message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_price_is_400_not_500(api, constant):
    response = api("POST", "/items", body=f'{{"name": "x", "price": {constant}}}')

    assert response.status == 400
    assert constant.lstrip("-") in response.message


def test_body_over_16_kib_is_413(api, handler):
    body = json.dumps({"name": "x", "price": 1, "description": "d" * handler.MAX_BODY_BYTES})

    response = api("POST", "/items", body=body)

    assert response.status == 413


def test_body_at_the_limit_is_judged_on_content_not_size(api, handler):
    padding = handler.MAX_BODY_BYTES - len(json.dumps({"name": "x", "price": 1, "description": ""}))
    body = json.dumps({"name": "x", "price": 1, "description": "d" * padding})
    assert len(body.encode()) == handler.MAX_BODY_BYTES

    response = api("POST", "/items", body=body)

    assert response.status == 400
    assert "'description'" in response.message


def test_size_limit_counts_bytes_not_characters(api, handler):
    # 3 bytes per character: under the limit in characters, over it in bytes.
    description = "€" * (handler.MAX_BODY_BYTES // 3 + 10)

    response = api(
        "POST", "/items", body=json.dumps({"description": description}, ensure_ascii=False)
    )

    assert response.status == 413


def test_put_over_the_limit_is_413(api, handler):
    created = _create(api)
    body = json.dumps({**ITEM, "description": "d" * handler.MAX_BODY_BYTES})

    assert api("PUT", f"/items/{created['id']}", body=body).status == 413


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/items", "{"),
        ("POST", "/items", '{"name": "x", "price": 1e400}'),
        ("POST", "/items", '{"name": "x", "price": 1e-300}'),
        ("POST", "/items", '{"name": "x", "price": 12345678901234567890}'),
        ("POST", "/items", '{"name": "\\u0000", "price": 0}'),
        ("PUT", "/items/%00", '{"name": "x", "price": 1}'),
        ("GET", "/items/" + "x" * 3000, None),
        ("DELETE", "/items/" + "x" * 3000, None),
    ],
)
def test_odd_client_input_never_yields_500(api, method, path, body):
    response = api(method, path, body=body)

    assert 200 <= response.status < 500, response.body


@pytest.mark.parametrize(
    ("name", "status"),
    [("create_item.json", 201), ("get_item.json", 404), ("list_items.json", 200)],
)
def test_sample_events_are_requests_the_handler_understands(invoke, name, status):
    event = json.loads((EVENTS_DIR / name).read_text())

    assert invoke(event).status == status
