"""The consumer's rules: read a queued webhook, decide whether it can ever be stored, store it.

Every message of a batch ends in exactly one of three ways:

- **stored** (or found already stored: SQS delivers at least once, and a sender may retry
  with the same delivery id; the database keeps one row per event id);
- **dead-lettered**: the message can never be stored (``Unprocessable``: not a message the
  receiver wrote, or a webhook that breaks a rule of the consumer). Retrying would fail
  the same way every time, so it is sent to the DLQ at once, wrapped in the common layer's
  envelope with the reason, and reported as done;
- **failed**: anything else (the database paused, throttled or down). The message is
  reported in ``batchItemFailures``, comes back after the visibility timeout, and after
  ``maxReceiveCount`` receives SQS moves it to the same DLQ (as it was, without an envelope;
  the reason is in the consumer's logs).

So accepted = stored + dead-lettered, once the queue is drained.

Storage and the DLQ are ports (``WebhookStore``, ``DeadLetters``): the rules run against
fakes in unit tests and against the RDS Data API (``webhook_consumer.store``) and SQS in
Lambda.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from common_layer.failures import process_sqs_batch, send_to_dlq
from common_layer.observability import logger
from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from mypy_boto3_sqs.client import SQSClient

# How far ahead of the consumer's clock an event may claim to have happened: senders'
# clocks drift, so a little is tolerated; beyond this the timestamp is wrong.
CLOCK_SKEW = timedelta(minutes=5)

_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# The receiver's message (webhook_receiver.intake.queue_message), checked again here: the
# queue also takes messages from elsewhere (a redrive, a person with the CLI).
MESSAGE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "A webhook queued by the receiver",
    "type": "object",
    "properties": {
        "event_id": {"type": "string", "pattern": _UUID},
        "source": {"type": "string", "minLength": 1, "maxLength": 63},
        "received_at": {"type": "string", "format": "date-time"},
        "webhook": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "type": {"type": "string", "minLength": 1},
                "occurred_at": {"type": "string", "format": "date-time"},
                "data": {"type": "object"},
            },
            "required": ["type", "data"],
        },
    },
    "required": ["event_id", "source", "received_at", "webhook"],
}


class Unprocessable(ValueError):
    """This message can never be stored; the message says why (it goes to the DLQ)."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """A queued webhook, as the database stores it."""

    event_id: str
    source: str
    received_at: str
    event_type: str
    occurred_at: str | None
    delivery_id: str | None
    payload: Mapping[str, Any]

    def payload_json(self) -> str:
        return json.dumps(self.payload, separators=(",", ":"))


@dataclass
class BatchTally:
    """How the messages of one batch ended."""

    records: int
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    failed: int = 0


@dataclass(frozen=True)
class BatchResult:
    """The partial batch response for Lambda, and the tally for metrics."""

    response: dict[str, Any]
    tally: BatchTally = field(default_factory=lambda: BatchTally(records=0))


class WebhookStore(Protocol):
    """The database the consumer writes to."""

    def ensure_schema(self) -> None:
        """Create the tables if they are missing (cheap after the first call)."""
        ...

    def begin_batch(self, batch_id: str, request_id: str, records: int) -> None:
        """Record that a batch started (the database's clock)."""
        ...

    def insert(self, webhook: Webhook, batch_id: str) -> bool:
        """Store the webhook unless its event id is stored; True when this call stored it."""
        ...

    def finish_batch(self, batch_id: str, tally: BatchTally) -> None:
        """Record that the batch ended and how its messages ended."""
        ...


class DeadLetters(Protocol):
    """Where messages that can never be stored are parked, with the reason."""

    def park(self, body: str, reason: Unprocessable, attempt: int, source: str | None) -> str:
        """Send the message body with the reason; return the DLQ message id."""
        ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


def parse_message(body: str, event_id_attribute: str | None = None) -> Webhook:
    """Read a queue message; ``Unprocessable`` when it is not a webhook the receiver queued."""
    try:
        message = json.loads(body)
    except ValueError as error:
        raise Unprocessable(f"message body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise Unprocessable("message body is not a JSON object")
    try:
        validate(message, MESSAGE_SCHEMA)
    except SchemaViolation as violation:
        raise Unprocessable(f"message is not a queued webhook: {violation.message}") from None
    if event_id_attribute is not None and event_id_attribute != message["event_id"]:
        raise Unprocessable(
            f"message attribute event_id {event_id_attribute!r} does not match the body's "
            f"{message['event_id']!r}"
        )
    webhook = message["webhook"]
    return Webhook(
        event_id=message["event_id"],
        source=message["source"],
        received_at=message["received_at"],
        event_type=webhook["type"],
        occurred_at=webhook.get("occurred_at"),
        delivery_id=webhook.get("id"),
        payload=webhook,
    )


def check_rules(webhook: Webhook, now: datetime) -> None:
    """The consumer's rules; ``Unprocessable`` names the field and the rule it breaks.

    - ``occurred_at`` may not lie in the future (beyond ``CLOCK_SKEW``): an event cannot
      have happened yet, so the sender's timestamp is wrong and reports would be too.
    - No text may hold U+0000 or half of a surrogate pair: valid JSON, but PostgreSQL's
      text and jsonb types cannot store them, so the insert would fail on every retry.
    """
    if webhook.occurred_at is not None:
        occurred = _instant(webhook.occurred_at)
        if occurred is None:
            raise Unprocessable("field 'occurred_at' is not a real date and time")
        if occurred > now + CLOCK_SKEW:
            raise Unprocessable(
                f"field 'occurred_at' is {webhook.occurred_at}, in the future: an event "
                f"cannot have happened after {(now + CLOCK_SKEW).isoformat()} (now plus the "
                "tolerated clock skew)"
            )
    unstorable = next(_unstorable_text(webhook.payload, ""), None)
    if unstorable is not None:
        path, problem = unstorable
        raise Unprocessable(
            f"field '{_printable(path)}' holds {problem}, which PostgreSQL cannot store"
        )


def _instant(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _unstorable_text(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, problem) for every string (or key) PostgreSQL cannot store."""
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem:
            yield path or "body", problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            key_problem = _text_problem(str(key))
            if key_problem:
                yield child, f"a name with {key_problem}"
            yield from _unstorable_text(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_text(item, f"{path}[{index}]")


def _printable(path: str) -> str:
    """The path with the characters it is blamed for escaped, so the reason is plain text."""
    return "".join(_escaped(char) if _blamed(char) else char for char in path)


def _blamed(char: str) -> bool:
    return char < " " or "\ud800" <= char <= "\udfff"


def _escaped(char: str) -> str:
    return char.encode("unicode_escape").decode()


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "the character U+0000"
    if any("\ud800" <= char <= "\udfff" for char in text):
        return "an unpaired surrogate"
    return None


def store_message(
    record: SQSRecord,
    *,
    store: WebhookStore,
    dead_letters: DeadLetters,
    batch_id: str,
    tally: BatchTally,
    now: datetime,
) -> str:
    """Store one message or park it in the DLQ; return "stored", "duplicate" or
    "dead-lettered". Anything else raises, and the message is retried."""
    attribute = record.message_attributes["event_id"]
    try:
        webhook = parse_message(record.body, attribute.string_value if attribute else None)
        check_rules(webhook, now)
    except Unprocessable as reason:
        attempt = int(record.attributes.approximate_receive_count or 1)
        dead_letters.park(record.body, reason, attempt, record.event_source_arn)
        tally.dead_lettered += 1
        logger.warning("webhook dead-lettered", extra={"reason": str(reason)})
        return "dead-lettered"
    if store.insert(webhook, batch_id):
        tally.stored += 1
        return "stored"
    tally.duplicates += 1
    logger.info("webhook already stored", extra={"event_id": webhook.event_id})
    return "duplicate"


def consume_batch(
    event: Mapping[str, Any],
    context: Any,
    *,
    store: WebhookStore,
    dead_letters: DeadLetters,
    clock: Clock = _utc_now,
    new_batch_id: Callable[[], str] = _new_id,
) -> BatchResult:
    """Handle one SQS batch; return the partial batch response (failed messages only).

    The batch is recorded in the database (start and end, by the database's clock), which
    is how an operator, or a test, sees how many batches ran at once.
    """
    records = event.get("Records") or []
    if not records:
        return BatchResult({"batchItemFailures": []})
    tally = BatchTally(records=len(records))
    batch_id = new_batch_id()
    store.ensure_schema()
    store.begin_batch(batch_id, str(getattr(context, "aws_request_id", "")), len(records))
    now = clock()

    def handle(record: SQSRecord) -> str:
        try:
            return store_message(
                record,
                store=store,
                dead_letters=dead_letters,
                batch_id=batch_id,
                tally=tally,
                now=now,
            )
        except Exception:
            tally.failed += 1
            logger.exception("webhook not stored; it will be retried")
            raise

    try:
        response = process_sqs_batch(event, context, handle)
    finally:
        try:
            store.finish_batch(batch_id, tally)
        except Exception:
            # The ledger is bookkeeping: failing the batch for it would deliver every
            # message again (and dead-letter the poison ones twice).
            logger.exception("batch end not recorded", extra={"batch_id": batch_id})
    return BatchResult(response, tally)


class SqsDeadLetters:
    """``DeadLetters`` on an SQS queue, in the common layer's DLQ envelope."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def park(self, body: str, reason: Unprocessable, attempt: int, source: str | None) -> str:
        # The body as it was (a string): redrive hands exactly these bytes back.
        return send_to_dlq(self._client, self._queue_url, body, reason, attempt, source)
