"""The admin API's actions (in memory) and its handler (moto DynamoDB)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gatekeeper_admin import admin
from gatekeeper_clients.clients import hash_token

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def fixed_clock() -> datetime:
    return datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _handle(store, action, payload=None):
    event = {"action": action} if payload is None else {"action": action, "payload": payload}
    return admin.handle(store, event, clock=fixed_clock)


def test_add_client_returns_the_token_once_and_stores_only_its_hash(store):
    added = _handle(store, "add_client", {"name": "ui", "routes": ["GET /reports"]})

    stored = store.fetch(added["client_id"])
    assert stored.token_hash == hash_token(added["token"])
    assert added["token"] not in json.dumps(stored.to_record())
    assert added["status"] == "active"
    assert added["routes"] == ["GET /reports"]
    listed = _handle(store, "list_clients")["clients"]
    assert "token" not in listed[0]
    assert "token_hash" not in listed[0]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "drop_table"}, "action"),
        ({"action": "add_client", "payload": {"name": "ui"}}, "routes"),
        ({"action": "add_client", "payload": {"name": "ui", "routes": []}}, "routes"),
        ({"action": "add_client", "payload": {"name": "ui", "routes": ["GET reports"]}}, "path"),
        ({"action": "list_clients", "payload": {"next_token": "forged"}}, "next_token"),
        ("not an object", "JSON objects"),
    ],
)
def test_bad_requests_fail_with_validation_failed(store, event, message):
    with pytest.raises(admin.ValidationFailed, match=message):
        admin.handle(store, event, clock=fixed_clock)


def test_revoke_marks_the_client_revoked_and_is_idempotent(store):
    added = _handle(store, "add_client", {"name": "ui", "routes": ["GET /reports"]})

    first = _handle(store, "revoke_client", {"client_id": added["client_id"]})
    again = _handle(store, "revoke_client", {"client_id": added["client_id"]})

    assert first["status"] == again["status"] == "revoked"
    assert first["revoked_at"] == again["revoked_at"]


@pytest.mark.parametrize("client_id", ["c-" + "0" * 32, "nonsense"])
def test_revoking_an_unknown_client_is_client_not_found(store, client_id):
    with pytest.raises(admin.ClientNotFound, match="not found"):
        _handle(store, "revoke_client", {"client_id": client_id})


def test_list_pages_through_every_client(store):
    ids = {
        _handle(store, "add_client", {"name": f"c{i}", "routes": ["GET /r"]})["client_id"]
        for i in range(5)
    }

    seen: list[str] = []
    page = _handle(store, "list_clients", {"limit": 2})
    while True:
        seen += [client["client_id"] for client in page["clients"]]
        if page["next_token"] is None:
            break
        page = _handle(store, "list_clients", {"limit": 2, "next_token": page["next_token"]})

    assert sorted(seen) == sorted(ids)


def test_handler_adds_revokes_and_lists_in_dynamodb(load_handler, tables, lambda_context):
    handler = load_handler("gatekeeper_admin")
    event = json.loads((EVENTS_DIR / "add_client.json").read_text())

    added = handler.lambda_handler(event, lambda_context)
    revoked = handler.lambda_handler(
        {"action": "revoke_client", "payload": {"client_id": added["client_id"]}}, lambda_context
    )
    listed = handler.lambda_handler({"action": "list_clients"}, lambda_context)

    record = tables.clients.get_item(Key={"client_id": added["client_id"]})["Item"]
    assert record["token_hash"] == hash_token(added["token"])
    assert record["status"] == "revoked" == revoked["status"]
    assert [c["client_id"] for c in listed["clients"]] == [added["client_id"]]
    with pytest.raises(admin.ClientNotFound):
        handler.lambda_handler(
            {"action": "revoke_client", "payload": {"client_id": "c-" + "1" * 32}}, lambda_context
        )
