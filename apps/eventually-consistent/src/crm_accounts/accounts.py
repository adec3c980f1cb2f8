"""The account write service's rules: validation, versions, tombstones.

DynamoDB is the source of truth. Every write (a PUT or a DELETE) makes the account's
``version`` one higher, atomically, in the same ``UpdateItem`` that changes the fields, so
the versions of one account are a strictly increasing sequence in the order DynamoDB applied
the writes. The copy in PostgreSQL compares these versions ("newest write wins"): it never
needs to trust a clock or the order in which it hears about writes.

A DELETE does not remove the item: it turns it into a **tombstone** (``deleted = true``, the
fields removed, the version raised once more, ``expires_at`` set for DynamoDB's TTL). Keeping
the version after a delete is what lets the copy tell "deleted at version 4" from "an old
version 3 delivered late", and lets an account created again under the same id go on from
version 5 instead of starting over at 1. TTL removes the tombstone a week later (long after
DynamoDB Streams' 24 hours of retention: every copy has seen it by then).

Nothing here knows about HTTP. Storage is the ``AccountStore`` port: an in-memory fake in
unit tests, DynamoDB in Lambda (``DynamoDBAccountStore``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError
from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# How long a tombstone outlives the delete. It must exceed the stream's 24 hours, so the
# replicator always sees the tombstone (not just the TTL removal) of a deleted account.
TOMBSTONE_TTL = timedelta(days=7)

# Account ids appear in URLs and are the key of both copies: plain, URL-safe names.
ACCOUNT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

PLANS = ("free", "team", "enterprise")

ACCOUNT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Account fields a client sets (a PUT replaces all of them)",
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
            "errorMessage": {"pattern": "must not be blank or hold control characters"},
        },
        "email": {
            "type": "string",
            "maxLength": 254,
            "pattern": r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$",
            "errorMessage": {"pattern": "must be an e-mail address (name@example.com)"},
        },
        "plan": {"type": "string", "enum": list(PLANS)},
    },
    "required": ["name", "email", "plan"],
    "additionalProperties": False,
}


class InvalidInput(ValueError):
    """The request breaks a rule; the message names the field."""


class AccountNotFound(LookupError):
    """No such account (never created, or deleted)."""


class VersionMismatch(Exception):
    """The client's ``If-Match`` version is not the account's current version."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the write service stores and returns it."""

    account_id: str
    name: str
    email: str
    plan: str
    version: int
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "name": self.name,
            "email": self.email,
            "plan": self.plan,
            "version": self.version,
            "updated_at": self.updated_at,
        }


class AccountStore(Protocol):
    """The accounts table."""

    def put(
        self, account_id: str, fields: Mapping[str, str], updated_at: str, expected: int | None
    ) -> Account:
        """Set the fields and raise the version by one; ``VersionMismatch`` when
        ``expected`` is given and is not the current version of a live account."""
        ...

    def tombstone(
        self, account_id: str, updated_at: str, expires_at: int, expected: int | None
    ) -> int:
        """Turn a live account into a tombstone (version + 1) and return that version;
        ``AccountNotFound`` when there is no live account, ``VersionMismatch`` as ``put``."""
        ...

    def get(self, account_id: str) -> Account | None:
        """The live account (a strongly consistent read), or None."""
        ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2026-11-23T10:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_account_id(account_id: str) -> str:
    if not ACCOUNT_ID_PATTERN.fullmatch(account_id):
        raise InvalidInput(
            "path parameter 'account_id' must be 1 to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return account_id


def parse_if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``), or None."""
    if header is None or not header.strip():
        return None
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit() or int(value) < 1:
        raise InvalidInput(
            'header If-Match must be the version the client last read, e.g. "3" (the ETag)'
        )
    return int(value)


def check_fields(body: Mapping[str, Any]) -> dict[str, str]:
    try:
        validate(body, ACCOUNT_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidInput(violation.message) from None
    return {"name": body["name"], "email": body["email"].lower(), "plan": body["plan"]}


def put_account(
    store: AccountStore,
    account_id: str,
    body: Mapping[str, Any],
    *,
    if_match: str | None = None,
    clock: Clock = _utc_now,
) -> Account:
    """Create or replace an account: one new version, whatever it held before."""
    check_account_id(account_id)
    expected = parse_if_match(if_match)
    fields = check_fields(body)
    return store.put(account_id, fields, timestamp(clock()), expected)


def delete_account(
    store: AccountStore,
    account_id: str,
    *,
    if_match: str | None = None,
    clock: Clock = _utc_now,
) -> int:
    """Delete an account (a tombstone, one new version); return the tombstone's version."""
    check_account_id(account_id)
    expected = parse_if_match(if_match)
    now = clock()
    expires_at = int((now + TOMBSTONE_TTL).timestamp())
    return store.tombstone(account_id, timestamp(now), expires_at, expected)


def get_account(store: AccountStore, account_id: str) -> Account:
    check_account_id(account_id)
    account = store.get(account_id)
    if account is None:
        raise AccountNotFound(f"account {account_id!r} not found")
    return account


def _account(item: Mapping[str, Any]) -> Account:
    return Account(
        account_id=str(item["account_id"]),
        name=str(item["name"]),
        email=str(item["email"]),
        plan=str(item["plan"]),
        version=int(item["version"]),
        updated_at=str(item["updated_at"]),
    )


# Every attribute by placeholder: several (plan, name) are DynamoDB reserved words.
_NAMES = {
    f"#{name}": name
    for name in ("name", "email", "plan", "updated_at", "version", "deleted", "expires_at")
}


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoDBAccountStore:
    """``AccountStore`` on a DynamoDB table keyed by ``account_id``."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def put(
        self, account_id: str, fields: Mapping[str, str], updated_at: str, expected: int | None
    ) -> Account:
        values: dict[str, Any] = {
            ":name": fields["name"],
            ":email": fields["email"],
            ":plan": fields["plan"],
            ":now": updated_at,
            ":zero": 0,
            ":one": 1,
        }
        options: dict[str, Any] = {}
        if expected is not None:
            # Only a live account has a version a client can have read.
            options["ConditionExpression"] = (
                "#version = :expected AND attribute_not_exists(#deleted)"
            )
            values[":expected"] = expected
        try:
            response = self._table.update_item(
                Key={"account_id": account_id},
                # One atomic write: the fields and the next version (a tombstone's version
                # goes on counting, so a re-created account never reuses an old version).
                UpdateExpression=(
                    "SET #name = :name, #email = :email, #plan = :plan, #updated_at = :now, "
                    "#version = if_not_exists(#version, :zero) + :one "
                    "REMOVE #deleted, #expires_at"
                ),
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **options,
            )
        except ClientError as error:
            if _condition_failed(error):
                raise self._mismatch(account_id, expected) from None
            raise
        return _account(response["Attributes"])

    def tombstone(
        self, account_id: str, updated_at: str, expires_at: int, expected: int | None
    ) -> int:
        values: dict[str, Any] = {":true": True, ":now": updated_at, ":ttl": expires_at, ":one": 1}
        condition = "attribute_exists(#account_id) AND attribute_not_exists(#deleted)"
        if expected is not None:
            condition += " AND #version = :expected"
            values[":expected"] = expected
        try:
            response = self._table.update_item(
                Key={"account_id": account_id},
                UpdateExpression=(
                    "SET #deleted = :true, #updated_at = :now, #expires_at = :ttl, "
                    "#version = #version + :one REMOVE #name, #email, #plan"
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames={**_NAMES, "#account_id": "account_id"},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            if self.get(account_id) is None:
                raise AccountNotFound(f"account {account_id!r} not found") from None
            raise self._mismatch(account_id, expected) from None
        return int(str(response["Attributes"]["version"]))

    def get(self, account_id: str) -> Account | None:
        item = self._table.get_item(Key={"account_id": account_id}, ConsistentRead=True).get("Item")
        if item is None or item.get("deleted"):
            return None
        return _account(item)

    def _mismatch(self, account_id: str, expected: int | None) -> VersionMismatch:
        current = self.get(account_id)
        now = f"version {current.version}" if current else "deleted or missing"
        return VersionMismatch(
            f"account {account_id!r} is {now}, not version {expected}: read it again"
        )
