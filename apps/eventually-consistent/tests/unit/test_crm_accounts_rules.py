"""The write side's rules on a moto DynamoDB table: versions, If-Match, tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from crm_accounts import accounts

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
BODY = {"name": "Acme Corp", "email": "Billing@Acme.Example", "plan": "team"}


@pytest.fixture
def store(accounts_table: Any) -> accounts.DynamoDBAccountStore:
    return accounts.DynamoDBAccountStore(accounts_table)


def clock() -> datetime:
    return NOW


def test_every_write_is_the_next_version_and_replaces_the_fields(store):
    first = accounts.put_account(store, "acme", BODY, clock=clock)
    second = accounts.put_account(store, "acme", {**BODY, "plan": "enterprise"}, clock=clock)
    assert (first.version, second.version) == (1, 2)
    assert second.plan == "enterprise"
    assert second.email == "billing@acme.example"  # e-mail addresses compare lower-cased
    assert second.updated_at == "2026-11-23T10:00:00.000Z"
    assert accounts.get_account(store, "acme") == second


def test_a_delete_leaves_a_tombstone_that_keeps_the_version_and_expires(store, accounts_table):
    accounts.put_account(store, "acme", BODY, clock=clock)
    version = accounts.delete_account(store, "acme", clock=clock)
    assert version == 2
    item = accounts_table.get_item(Key={"account_id": "acme"})["Item"]
    assert item["deleted"] is True
    assert int(item["version"]) == 2
    assert int(item["expires_at"]) == int((NOW + timedelta(days=7)).timestamp())
    assert not {"name", "email", "plan"} & set(item)
    with pytest.raises(accounts.AccountNotFound):
        accounts.get_account(store, "acme")
    with pytest.raises(accounts.AccountNotFound):
        accounts.delete_account(store, "acme", clock=clock)


def test_an_account_created_again_goes_on_from_its_tombstone(store, accounts_table):
    accounts.put_account(store, "acme", BODY, clock=clock)
    accounts.delete_account(store, "acme", clock=clock)
    again = accounts.put_account(store, "acme", BODY, clock=clock)
    assert again.version == 3
    item = accounts_table.get_item(Key={"account_id": "acme"})["Item"]
    assert "deleted" not in item
    assert "expires_at" not in item


def test_deleting_a_missing_account_is_not_found(store):
    with pytest.raises(accounts.AccountNotFound, match="'ghost' not found"):
        accounts.delete_account(store, "ghost", clock=clock)


def test_if_match_only_writes_over_the_version_it_names(store):
    accounts.put_account(store, "acme", BODY, clock=clock)
    with pytest.raises(accounts.VersionMismatch, match="is version 1, not version 4"):
        accounts.put_account(store, "acme", BODY, if_match='"4"', clock=clock)
    assert accounts.put_account(store, "acme", BODY, if_match='"1"', clock=clock).version == 2
    with pytest.raises(accounts.VersionMismatch):
        accounts.delete_account(store, "acme", if_match='"1"', clock=clock)
    assert accounts.delete_account(store, "acme", if_match='W/"2"', clock=clock) == 3
    with pytest.raises(accounts.VersionMismatch, match="deleted or missing"):
        accounts.put_account(store, "acme", BODY, if_match="3", clock=clock)


@pytest.mark.parametrize(
    ("header", "expected"), [(None, None), ("", None), ('"3"', 3), ('W/"12"', 12), ("7", 7)]
)
def test_if_match_names_a_version(header, expected):
    assert accounts.parse_if_match(header) == expected


@pytest.mark.parametrize("header", ['"abc"', '"0"', "*", '"-1"'])
def test_if_match_that_is_no_version_is_refused(header):
    with pytest.raises(accounts.InvalidInput, match="If-Match"):
        accounts.parse_if_match(header)


@pytest.mark.parametrize(
    ("body", "mentioned"),
    [
        ({"email": "a@b.co", "plan": "team"}, "name"),
        ({**BODY, "name": "   "}, "name"),
        ({**BODY, "name": "bad\u0000name"}, "name"),
        ({**BODY, "name": "x" * 201}, "name"),
        ({**BODY, "email": "nobody"}, "e-mail"),
        ({**BODY, "plan": "gold"}, "plan"),
        ({**BODY, "plan": 3}, "plan"),
        ({**BODY, "owner": "me"}, "owner"),
    ],
)
def test_invalid_fields_are_refused_naming_the_field(store, body, mentioned):
    with pytest.raises(accounts.InvalidInput, match=mentioned):
        accounts.put_account(store, "acme", body, clock=clock)


@pytest.mark.parametrize("account_id", ["", "-acme", "a" * 65, "has space", "a/b", "ä"])
def test_account_ids_are_plain_names(store, account_id):
    with pytest.raises(accounts.InvalidInput, match="account_id"):
        accounts.put_account(store, account_id, BODY, clock=clock)
