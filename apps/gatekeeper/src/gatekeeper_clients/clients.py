"""API clients of the authorization service: tokens, allowed routes, status, storage.

A client is identified by ``client_id`` and authenticates with a bearer token of the form
``<client_id>.<secret>``, where the secret is 256 random bits. Only ``sha256(token)`` is
stored: the raw token is shown once, when the client is added. Carrying the client id in
the token lets the authorizer read the client with one strongly consistent ``GetItem``
(no index, which would be eventually consistent and make a new client wait). Tokens are
random, not chosen by people, so a plain SHA-256 is enough: a slow password hash or a
pepper protects low-entropy secrets, and 256 random bits cannot be guessed from a hash.

Routes are ``METHOD /path`` patterns: ``GET /reports``, ``GET /reports/{id}`` (a path
parameter matches one or more segments, like IAM's ``*``), ``* /reports/*``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

ACTIVE = "active"
REVOKED = "revoked"

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"})
_CLIENT_ID = re.compile(r"^c-[0-9a-f]{32}$")
_SEGMENT = re.compile(r"^(\*|\{[A-Za-z_][A-Za-z0-9_]*\+?\}|[A-Za-z0-9._~-]+)$")
# Far longer than any token issued here; a hostile header costs no hashing work.
MAX_TOKEN_CHARS = 200


class InvalidRoute(ValueError):
    """A route pattern is not ``METHOD /path``; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Route:
    """An allowed ``METHOD /path`` pattern."""

    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def resource_suffix(self) -> str:
        """The part of an execute-api ARN after ``{api_id}/{stage}/``: ``GET/reports/*``.

        Path parameters become ``*``: in an IAM resource ``*`` matches any characters,
        slashes included, so ``{id}`` also covers deeper paths below it.
        """
        segments = [
            "*" if segment.startswith("{") else segment for segment in self.path.split("/")[1:]
        ]
        return f"{self.method}/{'/'.join(segments)}"


def parse_route(text: str) -> Route:
    parts = text.split(" ")
    if len(parts) != 2:
        raise InvalidRoute(f"route {text!r} must be 'METHOD /path', e.g. 'GET /reports/{{id}}'")
    method, path = parts[0].upper(), parts[1]
    if method not in METHODS:
        allowed = ", ".join(sorted(METHODS))
        raise InvalidRoute(f"route {text!r}: method must be one of {allowed}")
    if path != "/" and not (
        path.startswith("/") and all(_SEGMENT.match(s) for s in path.split("/")[1:])
    ):
        raise InvalidRoute(
            f"route {text!r}: path must start with '/' and hold segments of letters, digits, "
            "'._~-', '{param}' or '*'"
        )
    return Route(method, path)


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    name: str
    routes: tuple[Route, ...]
    token_hash: str
    status: str
    created_at: str
    revoked_at: str | None = None
    authorizations: int = 0
    last_authorized_at: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "client_id": self.client_id,
            "name": self.name,
            "routes": [str(route) for route in self.routes],
            "token_hash": self.token_hash,
            "status": self.status,
            "created_at": self.created_at,
            "authorizations": self.authorizations,
        }
        if self.revoked_at is not None:
            record["revoked_at"] = self.revoked_at
        if self.last_authorized_at is not None:
            record["last_authorized_at"] = self.last_authorized_at
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Client:
        return cls(
            client_id=str(record["client_id"]),
            name=str(record.get("name", "")),
            routes=tuple(parse_route(str(r)) for r in record.get("routes", [])),
            token_hash=str(record["token_hash"]),
            status=str(record["status"]),
            created_at=str(record["created_at"]),
            revoked_at=record.get("revoked_at"),
            authorizations=int(record.get("authorizations", 0)),
            last_authorized_at=record.get("last_authorized_at"),
        )

    def to_json(self) -> dict[str, Any]:
        """What admins see: everything but the token hash."""
        body = self.to_record()
        del body["token_hash"]
        return body


def new_client_id() -> str:
    return f"c-{secrets.token_hex(16)}"


def is_client_id(value: object) -> bool:
    return isinstance(value, str) and _CLIENT_ID.match(value) is not None


def new_token(client_id: str) -> str:
    return f"{client_id}.{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def client_id_of(token: str) -> str | None:
    """The client id a token claims, or None when it cannot be one of ours."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    client_id, _, secret = token.partition(".")
    return client_id if is_client_id(client_id) and secret else None


def token_matches(token: str, token_hash: str) -> bool:
    # Constant time, so response timing says nothing about how much of a hash matched.
    return hmac.compare_digest(hash_token(token), token_hash)


def parse_routes(texts: Iterable[str]) -> tuple[Route, ...]:
    return tuple(dict.fromkeys(parse_route(text) for text in texts))


class ClientStore(Protocol):
    """Where clients live."""

    def insert(self, client: Client) -> None:
        """Store a new client; never overwrite one."""
        ...

    def fetch(self, client_id: str) -> Client | None:
        """The client as last written (strongly consistent), or None."""
        ...

    def revoke(self, client_id: str, revoked_at: str) -> Client | None:
        """Mark a client revoked (idempotent); None when there is no such client."""
        ...

    def page(
        self, limit: int, after: Mapping[str, Any] | None
    ) -> tuple[list[Client], Mapping[str, Any] | None]:
        """Up to ``limit`` clients after ``after``, and the key to continue from."""
        ...

    def record_authorization(self, client_id: str, at: str) -> None:
        """Count one authorizer decision for the client and remember when it happened."""
        ...


class DynamoDBClientStore:
    """``ClientStore`` on a DynamoDB table keyed by the string attribute ``client_id``."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def insert(self, client: Client) -> None:
        self._table.put_item(
            Item=client.to_record(), ConditionExpression="attribute_not_exists(client_id)"
        )

    def fetch(self, client_id: str) -> Client | None:
        record = self._table.get_item(Key={"client_id": client_id}, ConsistentRead=True).get("Item")
        return None if record is None else Client.from_record(record)

    def revoke(self, client_id: str, revoked_at: str) -> Client | None:
        try:
            response = self._table.update_item(
                Key={"client_id": client_id},
                # if_not_exists keeps the first revocation time when revoke is repeated.
                UpdateExpression=(
                    "SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :at)"
                ),
                ConditionExpression="attribute_exists(client_id)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":revoked": REVOKED, ":at": revoked_at},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return Client.from_record(response["Attributes"])

    def page(
        self, limit: int, after: Mapping[str, Any] | None
    ) -> tuple[list[Client], Mapping[str, Any] | None]:
        kwargs: dict[str, Any] = {"Limit": limit}
        if after is not None:
            kwargs["ExclusiveStartKey"] = dict(after)
        response = self._table.scan(**kwargs)
        clients = [Client.from_record(record) for record in response.get("Items", [])]
        return clients, response.get("LastEvaluatedKey")

    def record_authorization(self, client_id: str, at: str) -> None:
        self._table.update_item(
            Key={"client_id": client_id},
            UpdateExpression="ADD authorizations :one SET last_authorized_at = :at",
            ConditionExpression="attribute_exists(client_id)",
            ExpressionAttributeValues={":one": 1, ":at": at},
        )
