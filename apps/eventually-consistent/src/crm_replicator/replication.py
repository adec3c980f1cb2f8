"""The replicator's rules: turn DynamoDB stream records into changes of the PostgreSQL copy.

Every record of a batch ends in one of these ways:

- **applied**: the copy now holds this version of the account (an upsert, or a tombstone
  for a delete);
- **stale**: the copy already holds this version or a newer one, so nothing changed. This
  is how a retried batch, a bisected half delivered again, or an old record replayed by
  hand is harmless: the upsert only wins with a higher version
  (``ON CONFLICT ... DO UPDATE ... WHERE excluded.version > accounts.version``);
- **superseded**: a later record of the same account is in the same batch (streams keep
  the order of one item's writes), so only that later one is written;
- **parked**: the record cannot be mapped to an account (a writer other than the API put
  an item without a numeric version, a date, a plan...). Retrying would fail the same way
  forever and block the shard, so it goes to the dead-letter queue at once, in the common
  layer's envelope with the reason, and the batch goes on.

Anything else (the database unavailable, or refusing a statement) raises: the whole batch
fails and the event source mapping retries it, bisecting it to isolate a record the
database refuses, and after ``MaximumRetryAttempts`` sends a pointer to the records it gave
up on to the same queue (its on-failure destination). Records applied before the failure
are applied again on the retry, which the version check turns into "stale".

A ``REMOVE`` record is a hard delete (TTL expiring a tombstone a week after the DELETE, or
someone deleting the item by hand): the row goes unless the copy holds a newer version
(a REMOVE of an item that was never mappable removes whatever older row the copy has).

The copy and the queue are ports (``ReadModel``, ``DeadLetters``): fakes in unit tests,
the RDS Data API (``crm_replicator.read_model``) and SQS in Lambda.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from boto3.dynamodb.types import TypeDeserializer
from common_layer.failures import send_to_dlq
from common_layer.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

PLANS = frozenset({"free", "team", "enterprise"})

_deserializer = TypeDeserializer()


class Unmappable(ValueError):
    """This record can never become a row; the message says why (it goes to the DLQ)."""


@dataclass(frozen=True, slots=True)
class Upsert:
    """The account at ``version``: live (fields set) or a tombstone (``deleted``)."""

    account_id: str
    version: int
    updated_at: str
    deleted: bool = False
    name: str | None = None
    email: str | None = None
    plan: str | None = None


@dataclass(frozen=True, slots=True)
class Purge:
    """The item is gone from the table; it was at ``version`` when it went (None: the item
    had no usable version, so it never replicated in that state; any row is older)."""

    account_id: str
    version: int | None


Change = Upsert | Purge


@dataclass
class Tally:
    """How the records of one batch ended (also the handler's return value)."""

    records: int = 0
    applied: int = 0
    stale: int = 0
    superseded: int = 0
    purged: int = 0
    parked: int = 0
    parked_reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "applied": self.applied,
            "stale": self.stale,
            "superseded": self.superseded,
            "purged": self.purged,
            "parked": self.parked,
            "parked_reasons": list(self.parked_reasons),
        }


class ReadModel(Protocol):
    """The PostgreSQL copy."""

    def ensure_schema(self) -> None:
        """Create the table if it is missing (cheap after the first call)."""
        ...

    def upsert(self, change: Upsert) -> bool:
        """Write the row unless the copy has this version or a newer one; True if written."""
        ...

    def purge(self, change: Purge) -> bool:
        """Delete the row unless the copy has a newer version; True if a row went."""
        ...


class DeadLetters(Protocol):
    def park(self, record: Mapping[str, Any], reason: Unmappable) -> str:
        """Send the record with the reason; return the message id."""
        ...


def _plain(image: Mapping[str, Any]) -> dict[str, Any]:
    """A stream image (DynamoDB JSON) as plain Python values."""
    try:
        return {name: _deserializer.deserialize(value) for name, value in image.items()}
    except (TypeError, ValueError, AttributeError) as error:
        raise Unmappable(f"the image is not DynamoDB JSON: {error}") from None


def _text(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise Unmappable(f"attribute {name!r} must be a non-empty string, got {value!r}")
    return value


def _version(item: Mapping[str, Any]) -> int:
    value = item.get("version")
    if not isinstance(value, Decimal) or value != value.to_integral_value() or value < 1:
        raise Unmappable(f"attribute 'version' must be a whole number of 1 or more, got {value!r}")
    return int(value)


def _instant(item: Mapping[str, Any]) -> str:
    value = _text(item, "updated_at")
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise Unmappable(f"attribute 'updated_at' must be an ISO 8601 instant, got {value!r}")
    return value


def record_key(record: Mapping[str, Any]) -> str | None:
    """The account id of a record's key, or None when it has none."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    value = keys.get("account_id") or {}
    key = value.get("S") if isinstance(value, Mapping) else None
    return key if isinstance(key, str) else None


def change_of(record: Mapping[str, Any]) -> Change:
    """The change a stream record asks for; ``Unmappable`` says why there is none."""
    details = record.get("dynamodb") or {}
    account_id = record_key(record)
    if account_id is None:
        raise Unmappable("the record has no string key 'account_id'")
    event_name = record.get("eventName")
    if event_name == "REMOVE":
        old = details.get("OldImage")
        if not old:
            raise Unmappable(
                "a REMOVE record without OldImage: the stream must be NEW_AND_OLD_IMAGES"
            )
        try:
            version: int | None = _version(_plain(old))
        except Unmappable:
            # The item is gone either way: the copy must not keep an older row of it.
            version = None
        return Purge(account_id, version)
    if event_name not in ("INSERT", "MODIFY"):
        raise Unmappable(f"unknown eventName {event_name!r}")
    new = details.get("NewImage")
    if not new:
        raise Unmappable(f"an {event_name} record without NewImage")
    item = _plain(new)
    version, updated_at = _version(item), _instant(item)
    if item.get("deleted") is True:
        return Upsert(account_id, version, updated_at, deleted=True)
    plan = _text(item, "plan")
    if plan not in PLANS:
        raise Unmappable(f"attribute 'plan' must be one of {sorted(PLANS)}, got {plan!r}")
    return Upsert(
        account_id,
        version,
        updated_at,
        name=_text(item, "name"),
        email=_text(item, "email"),
        plan=plan,
    )


def latest_per_account(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The last record of each account, in stream order (earlier ones are superseded).

    A stream delivers the writes of one item in the order they happened, so within a batch
    the last record of an account is its newest state. Records without a key are kept:
    they are parked one by one.
    """
    last: dict[str, int] = {}
    for index, record in enumerate(records):
        key = record_key(record)
        if key is not None:
            last[key] = index
    keep = set(last.values())
    return [r for i, r in enumerate(records) if record_key(r) is None or i in keep]


def replicate_batch(
    records: Iterable[Mapping[str, Any]], *, model: ReadModel, dead_letters: DeadLetters
) -> Tally:
    """Apply one batch of stream records to the copy; raise to have the batch retried."""
    batch = list(records)
    tally = Tally(records=len(batch))
    if not batch:
        return tally
    model.ensure_schema()
    latest = latest_per_account(batch)
    tally.superseded = len(batch) - len(latest)
    for record in latest:
        try:
            change = change_of(record)
        except Unmappable as reason:
            dead_letters.park(record, reason)
            tally.parked += 1
            tally.parked_reasons.append(str(reason))
            logger.warning(
                "stream record parked",
                extra={
                    "reason": str(reason),
                    "account_id": record_key(record),
                    "sequence_number": (record.get("dynamodb") or {}).get("SequenceNumber"),
                },
            )
            continue
        if isinstance(change, Purge):
            if model.purge(change):
                tally.purged += 1
            else:
                tally.stale += 1
        elif model.upsert(change):
            tally.applied += 1
        else:
            tally.stale += 1
    return tally


class SqsDeadLetters:
    """``DeadLetters`` on an SQS queue, in the common layer's DLQ envelope."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def park(self, record: Mapping[str, Any], reason: Unmappable) -> str:
        # The record as the stream delivered it (DynamoDB JSON is JSON), so it can be
        # fixed in the table and written again, or replayed to the replicator as is.
        return send_to_dlq(
            self._client,
            self._queue_url,
            dict(record),
            reason,
            1,
            str(record.get("eventSourceARN") or "") or None,
        )
