"""What the receiver promises a sender: the webhook contract, the signature, the queue message.

The receiver only checks what a sender can fix (the shape of the body, the source name, the
signature) and hands the webhook to the queue; it never touches the database, so it answers
in milliseconds however slow or busy the database is. Business rules are the consumer's.

Nothing here knows about HTTP. The queue and the signing secret are ports (``WebhookQueue``,
``SigningSecret``), so the same code runs against fakes in unit tests and against SQS and
Secrets Manager in Lambda (``SqsWebhookQueue``, ``SecretsManagerSigningSecret``).

The queue message (the consumer's input) is JSON::

    {"event_id": "<uuid>", "source": "shop", "received_at": "2026-11-23T10:00:00.000Z",
     "webhook": {"type": "...", "data": {...}, ...the body as the sender sent it}}

with the message attributes ``event_id`` and ``source`` (String), so the queue can be
inspected, filtered or redriven without parsing bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

SIGNATURE_HEADER = "X-Webhook-Signature"
SIGNATURE_SCHEME = "sha256="

# The source is the last path segment (/webhooks/{source}) and ends up in the database and
# in queue attributes: keep it to a plain, URL-safe name.
SOURCE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

# Event ids derived from a sender's own delivery id live in this namespace (uuid5), so the
# same (source, delivery id) always maps to the same event id, on every receiver instance.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d0c1e-4c56-4d0b-9a51-5e8a3b7c2d90")

WEBHOOK_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "A webhook this service accepts",
    "type": "object",
    "properties": {
        # The sender's own delivery id: a retry carrying the same id is the same event.
        "id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "pattern": "^[!-~]+$",
            "errorMessage": {"pattern": "must be printable ASCII without spaces"},
        },
        "type": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
            "errorMessage": {
                "pattern": "must start with a letter or digit and hold only letters, "
                "digits and . _ : -"
            },
        },
        "occurred_at": {"type": "string", "format": "date-time"},
        "data": {"type": "object"},
    },
    "required": ["type", "data"],
    "additionalProperties": False,
}


class InvalidWebhook(ValueError):
    """The sender sent something the contract rejects; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SignatureMismatch(PermissionError):
    """The signature header is missing or does not match the body."""


@dataclass(frozen=True, slots=True)
class AcceptedWebhook:
    """A webhook handed to the queue: from now on the service owns it."""

    event_id: str
    source: str
    received_at: str
    message_id: str


class WebhookQueue(Protocol):
    """Where accepted webhooks wait for the consumer."""

    def enqueue(self, body: str, attributes: Mapping[str, str]) -> str:
        """Queue one message durably; return its message id. Raises when it was not queued."""
        ...


class SigningSecret(Protocol):
    """The shared secret senders sign bodies with."""

    def value(self) -> str: ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return SIGNATURE_SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise ``SignatureMismatch`` unless ``header`` is the HMAC of exactly these bytes.

    The comparison takes the same time whatever the header holds, so timing does not
    leak how much of a forged signature was right.
    """
    if not header or not header.strip():
        raise SignatureMismatch(
            f"missing {SIGNATURE_HEADER} header: sign the body with the shared secret "
            f"({SIGNATURE_SCHEME}<hex HMAC-SHA256>)"
        )
    given = header.strip()
    # Some senders write the scheme or the hex digits in upper case.
    if given[: len(SIGNATURE_SCHEME)].lower() == SIGNATURE_SCHEME:
        given = SIGNATURE_SCHEME + given[len(SIGNATURE_SCHEME) :].lower()
    expected = sign(secret, body)
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise SignatureMismatch(f"{SIGNATURE_HEADER} does not match the body")


def check_source(source: str) -> str:
    """The source path segment, if it is a plain name; InvalidWebhook names it otherwise."""
    if not SOURCE_PATTERN.fullmatch(source):
        raise InvalidWebhook(
            "source",
            "path parameter 'source' must be 1 to 63 lower-case letters, digits or hyphens, "
            "starting with a letter or digit",
        )
    return source


def check_webhook(body: Mapping[str, Any]) -> None:
    """Check a parsed body against ``WEBHOOK_SCHEMA``; InvalidWebhook names the bad field."""
    # The layer compiles the schema once per execution environment and reuses it.
    try:
        validate(body, WEBHOOK_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidWebhook(violation.field or "body", violation.message) from None
    occurred_at = body.get("occurred_at")
    # The schema's date-time format checks the shape only (it lets month 19 through).
    if occurred_at is not None and parse_instant(occurred_at) is None:
        raise InvalidWebhook("occurred_at", "field 'occurred_at' must be a real date and time")


def parse_instant(value: str) -> datetime | None:
    """An RFC 3339 date-time with its offset as an aware datetime; None if it is no instant."""
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def event_id_for(source: str, delivery_id: str | None, new_id: Callable[[], str]) -> str:
    """The event's id: stable for a sender's delivery id (retries dedupe), else fresh."""
    if delivery_id is None:
        return new_id()
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}\n{delivery_id}"))


def queue_message(event_id: str, source: str, received_at: str, webhook: Mapping[str, Any]) -> str:
    """The queue message body. ASCII only (``ensure_ascii``): SQS refuses some Unicode
    characters a JSON string may hold, and escapes carry every one of them safely."""
    return json.dumps(
        {"event_id": event_id, "source": source, "received_at": received_at, "webhook": webhook},
        separators=(",", ":"),
    )


def accept_webhook(
    queue: WebhookQueue,
    source: str,
    body: Mapping[str, Any],
    *,
    clock: Clock = _utc_now,
    new_id: Callable[[], str] = _new_id,
) -> AcceptedWebhook:
    """Check a webhook and queue it; return its event id once the queue holds it."""
    check_source(source)
    check_webhook(body)
    event_id = event_id_for(source, body.get("id"), new_id)
    received_at = _timestamp(clock)
    message_id = queue.enqueue(
        queue_message(event_id, source, received_at, body),
        {"event_id": event_id, "source": source},
    )
    return AcceptedWebhook(
        event_id=event_id, source=source, received_at=received_at, message_id=message_id
    )


def _timestamp(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SqsWebhookQueue:
    """``WebhookQueue`` on an SQS queue."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, body: str, attributes: Mapping[str, str]) -> str:
        response = self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        )
        return response["MessageId"]


class SecretsManagerSigningSecret:
    """``SigningSecret`` read from Secrets Manager and kept for ``ttl_seconds``.

    Kept, so a warm receiver makes no Secrets Manager call per webhook; re-read after the
    TTL, so a new secret value (rotation) takes effect without a deploy.
    """

    def __init__(
        self,
        client: SecretsManagerClient,
        secret_id: str,
        *,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._ttl = ttl_seconds
        self._clock = clock
        self._value: str | None = None
        self._read_at = 0.0

    def value(self) -> str:
        now = self._clock()
        if self._value is None or now - self._read_at >= self._ttl:
            secret = self._client.get_secret_value(SecretId=self._secret_id)
            self._value = secret["SecretString"]
            self._read_at = now
        return self._value
