"""The admin API of the authorization service: add, revoke and list API clients.

Callers invoke the admin function synchronously (``lambda.invoke``, ``RequestResponse``)::

    {"action": "add_client", "payload": {"name": "reporting-ui", "routes": ["GET /reports"]}}
    {"action": "revoke_client", "payload": {"client_id": "c-..."}}
    {"action": "list_clients", "payload": {"limit": 50, "next_token": "..."}}

There is no HTTP route: IAM (``lambda:InvokeFunction`` on this function) is the whole
access control. A refused request fails the invocation with the ``errorType``
``ValidationFailed`` or ``ClientNotFound``; the message says what to fix.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from common_layer.validation import SchemaViolation, validate
from gatekeeper_clients.clients import (
    ACTIVE,
    Client,
    ClientStore,
    InvalidRoute,
    hash_token,
    is_client_id,
    new_client_id,
    new_token,
    parse_routes,
)

Clock = Callable[[], datetime]
MAX_PAGE = 100

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["add_client", "revoke_client", "list_clients"]},
        "payload": {"type": "object"},
    },
    "required": ["action"],
    "additionalProperties": False,
}
ADD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "routes": {
            "type": "array",
            "items": {"type": "string", "minLength": 3, "maxLength": 200},
            "minItems": 1,
            "maxItems": 50,
        },
    },
    "required": ["name", "routes"],
    "additionalProperties": False,
}
REVOKE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"client_id": {"type": "string"}},
    "required": ["client_id"],
    "additionalProperties": False,
}
LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        "next_token": {"type": "string", "maxLength": 200},
    },
    "additionalProperties": False,
}


class ValidationFailed(Exception):
    """The request breaks the contract; sending it again cannot succeed."""


class ClientNotFound(Exception):
    """No client has this id."""


CLIENT_ERRORS: tuple[type[Exception], ...] = (ValidationFailed, ClientNotFound)


def handle(store: ClientStore, event: object, *, clock: Clock) -> dict[str, Any]:
    """Run the action an admin request names."""
    request = _checked(event, REQUEST_SCHEMA)
    payload = request.get("payload", {})
    if request["action"] == "add_client":
        return add_client(store, _checked(payload, ADD_SCHEMA), clock=clock)
    if request["action"] == "revoke_client":
        return revoke_client(store, _checked(payload, REVOKE_SCHEMA)["client_id"], clock=clock)
    body = _checked(payload, LIST_SCHEMA)
    return list_clients(store, limit=body.get("limit", MAX_PAGE), next_token=body.get("next_token"))


def add_client(store: ClientStore, body: Mapping[str, Any], *, clock: Clock) -> dict[str, Any]:
    """Register a client; the answer holds its token, which is never shown again."""
    try:
        routes = parse_routes(body["routes"])
    except InvalidRoute as error:
        raise ValidationFailed(str(error)) from None
    client_id = new_client_id()
    token = new_token(client_id)
    client = Client(
        client_id=client_id,
        name=body["name"],
        routes=routes,
        token_hash=hash_token(token),
        status=ACTIVE,
        created_at=_timestamp(clock),
    )
    store.insert(client)
    return {**client.to_json(), "token": token}


def revoke_client(store: ClientStore, client_id: str, *, clock: Clock) -> dict[str, Any]:
    """Revoke a client. Cached policies stay valid until their TTL runs out."""
    client = store.revoke(client_id, _timestamp(clock)) if is_client_id(client_id) else None
    if client is None:
        raise ClientNotFound(f"client {client_id!r} not found")
    return client.to_json()


def list_clients(
    store: ClientStore, *, limit: int = MAX_PAGE, next_token: str | None = None
) -> dict[str, Any]:
    clients, last_key = store.page(limit, _decode(next_token))
    return {"clients": [client.to_json() for client in clients], "next_token": _encode(last_key)}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _checked(value: object, schema: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed("the request and its payload must be JSON objects")
    try:
        validate(value, schema)
    except SchemaViolation as violation:
        raise ValidationFailed(violation.message) from None
    return value


def _encode(key: Mapping[str, Any] | None) -> str | None:
    if key is None:
        return None
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str | None) -> Mapping[str, Any] | None:
    if token is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (
        isinstance(key, dict) and key.keys() == {"client_id"} and is_client_id(key["client_id"])
    ):
        raise ValidationFailed("next_token is not a token returned by list_clients")
    return key


def _timestamp(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
