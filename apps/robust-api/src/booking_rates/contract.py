"""The rates service's contract with its callers: the request envelope and the error types.

Callers invoke the function synchronously (``InvocationType=RequestResponse``), through
``common_layer.lambda_client.LambdaServiceClient``, with::

    {"action": "quote", "version": 1, "payload": {...}, "correlation_id": "optional"}

and get the quote back as a JSON object. A refused request fails the invocation with one of
the exception classes below as its ``errorType``; the class names are the contract.

- ``ValidationFailed``: the request breaks the contract or a rule of the room (too many
  guests); the message names the field. Sending it again cannot succeed.
- ``NotFound``: no such room.
- ``Unavailable``: the service cannot answer now (its store failed, or a fault drill is
  armed on the room); the same request may succeed later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from common_layer.validation import SchemaViolation, validate

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        "version": {"type": "integer", "minimum": 1},
        "payload": {"type": "object"},
        "correlation_id": {"type": "string", "minLength": 1, "maxLength": 200},
    },
    "required": ["action", "version", "payload"],
    "additionalProperties": False,
}


class ServiceError(Exception):
    """Base of the contract's error types (never raised itself)."""


class ValidationFailed(ServiceError):
    """The request does not meet the contract; the message says what to fix."""


class NotFound(ServiceError):
    """The request names a room the service does not have."""


class Unavailable(ServiceError):
    """The service cannot answer now; the caller may try again later."""


# Refusals caused by the request, counted apart from the service's own failures.
CLIENT_ERRORS: tuple[type[ServiceError], ...] = (ValidationFailed, NotFound)

Action = Callable[[Mapping[str, Any]], dict[str, Any]]


def check(value: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Validate ``value``; ValidationFailed names the offending field."""
    try:
        validate(value, schema)
    except SchemaViolation as violation:
        raise ValidationFailed(violation.message) from None


def dispatch(event: object, actions: Mapping[tuple[str, int], Action]) -> dict[str, Any]:
    """Check the envelope, then run the action it names at the version it names."""
    if not isinstance(event, Mapping):
        raise ValidationFailed(
            "the request must be a JSON object with 'action', 'version', 'payload'"
        )
    check(event, ENVELOPE_SCHEMA)
    action = actions.get((event["action"], event["version"]))
    if action is None:
        known = ", ".join(f"{name} v{version}" for name, version in sorted(actions))
        raise ValidationFailed(
            f"action '{event['action']}' v{event['version']} is not supported; supported: {known}"
        )
    return action(event["payload"])
