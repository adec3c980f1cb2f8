"""The ledger's rules: each account's events are applied once, strictly in sequence.

Producers number every account's events 1, 2, 3... (``seq``) and send them to the FIFO queue
with the account id as the message group, so SQS delivers each account's events in that
order while different accounts move independently. These rules do not just trust that
order, they check it: an event is applied only when its ``seq`` follows the account's last
applied one, in the same atomic write that records it in the ledger.

``handle_message`` decides what happens to one queued message:

- next in sequence and valid: a deposit is applied; a withdrawal is applied when the balance
  covers it and recorded as ``rejected`` (insufficient funds) otherwise. The balance never
  goes negative; what the outcome is depends on order, which is the point of the FIFO queue.
- next in sequence but invalid (unknown type, bad amount...): the message is parked in the
  dead-letter queue and the ledger records the sequence number as ``rejected``, so the
  account's later events go on, in order. Retrying would never make it valid.
- not identifiable (not JSON, no account or sequence number, or sent in another account's
  message group, where its order means nothing): parked; the ledger is not touched.
- already recorded (``seq`` at or below the last one): the same event again is skipped and
  counted as a duplicate; a different event under a used number is parked as a conflict.
- ahead of the sequence (a gap): counted and refused with ``SequenceGap``, a retryable
  error. An event is never applied before its predecessor.
- a fault drill is armed for this sequence number: it is disarmed and ``FaultDrill`` is
  raised, so the message fails once and is retried (see ``DynamoDBLedgerStore``).

Retryable errors subclass ``RetryableError``: the consumer reports the message as failed, so
SQS delivers it (and the rest of its group) again. Storage and the dead-letter queue are
ports, so the rules run against fakes in unit tests and against AWS in Lambda.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from common_layer.validation import SchemaViolation, validate

MAX_SEQ = 10**15
MAX_AMOUNT_CENTS = 100_000_000_000  # one billion in whole units
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"

# Only what is needed to place a message in an account's sequence; checked before the rest,
# so an event with a valid place but invalid content can still be recorded as rejected.
IDENTITY_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Where a ledger event belongs",
    "type": "object",
    "properties": {
        "account_id": {"type": "string", "pattern": ACCOUNT_ID_PATTERN},
        "seq": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
    },
    "required": ["account_id", "seq"],
}

EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "A ledger event",
    "type": "object",
    "properties": {
        "account_id": IDENTITY_SCHEMA["properties"]["account_id"],
        "seq": IDENTITY_SCHEMA["properties"]["seq"],
        "type": {"enum": ["deposit", "withdrawal"]},
        "amount_cents": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_CENTS},
        "reference": {"type": "string", "maxLength": 200},
    },
    "required": ["account_id", "seq", "type", "amount_cents"],
    "additionalProperties": False,
}


class Outcome(StrEnum):
    """What became of a message (the ledger entry's outcome where one was written)."""

    APPLIED = "applied"
    REJECTED = "rejected"
    DEAD_LETTERED = "dead-lettered"
    DUPLICATE = "duplicate"


class RetryableError(Exception):
    """The message cannot be handled now but may be later: report it failed, retry it."""


class SequenceGap(RetryableError):
    """The event is ahead of the account's sequence: its predecessor is missing."""

    def __init__(self, account_id: str, seq: int, last_seq: int) -> None:
        super().__init__(
            f"account {account_id!r}: event {seq} arrived while the last applied event is "
            f"{last_seq}; waiting for {last_seq + 1}"
        )


class FaultDrill(RetryableError):
    """An armed fault drill made this attempt fail on purpose; the next one proceeds."""

    def __init__(self, account_id: str, seq: int) -> None:
        super().__init__(f"fault drill: account {account_id!r} event {seq} fails once")


class ConcurrentUpdate(RetryableError):
    """The account moved on between reading it and writing the event (never expected with
    one message group per account; retried rather than applied on stale state)."""

    def __init__(self, account_id: str, seq: int) -> None:
        super().__init__(f"account {account_id!r} changed while event {seq} was applied")


class UnusableMessage(ValueError):
    """A permanent problem: retrying can never help, so the message is parked."""


class UnidentifiableEvent(UnusableMessage):
    """The message cannot be placed in any account's sequence."""


class InvalidEvent(UnusableMessage):
    """The event has a place in its account's sequence but content the ledger refuses."""


class ConflictingEvent(UnusableMessage):
    """A different event arrived under a sequence number the ledger already recorded."""


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One SQS message as the rules need it."""

    message_id: str
    body: str
    group_id: str | None
    receive_count: int = 1


@dataclass(frozen=True, slots=True)
class EventKey:
    account_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    account_id: str
    seq: int
    type: Literal["deposit", "withdrawal"]
    amount_cents: int
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account as last written; a never-seen account is empty at sequence 0."""

    account_id: str
    balance_cents: int = 0
    last_seq: int = 0
    fault_drills: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One line of an account's ledger: what happened to event ``seq``, recorded on the
    ``receive_count``-th delivery of its message."""

    account_id: str
    seq: int
    outcome: Outcome
    balance_after_cents: int
    message_id: str
    digest: str
    recorded_at: str
    receive_count: int = 1
    type: str | None = None
    amount_cents: int | None = None
    reference: str | None = None
    reason: str | None = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "account_id": self.account_id,
            "seq": self.seq,
            "outcome": self.outcome.value,
            "balance_after_cents": self.balance_after_cents,
            "message_id": self.message_id,
            "digest": self.digest,
            "recorded_at": self.recorded_at,
            "receive_count": self.receive_count,
        }
        optional = {
            "type": self.type,
            "amount_cents": self.amount_cents,
            "reference": self.reference,
            "reason": self.reason,
        }
        record.update({key: value for key, value in optional.items() if value is not None})
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LedgerEntry:
        amount = record.get("amount_cents")
        return cls(
            account_id=str(record["account_id"]),
            seq=int(record["seq"]),
            outcome=Outcome(record["outcome"]),
            balance_after_cents=int(record["balance_after_cents"]),
            message_id=str(record["message_id"]),
            digest=str(record["digest"]),
            recorded_at=str(record["recorded_at"]),
            receive_count=int(record.get("receive_count", 1)),
            type=record.get("type"),
            amount_cents=None if amount is None else int(amount),
            reference=record.get("reference"),
            reason=record.get("reason"),
        )


Anomaly = Literal["duplicates_skipped", "sequence_gaps"]


class LedgerStore(Protocol):
    """Where accounts and their ledgers live."""

    def account(self, account_id: str) -> AccountState:
        """The account as last written (strongly consistent); empty if never written."""
        ...

    def entry(self, account_id: str, seq: int) -> LedgerEntry | None:
        """The ledger entry recorded for ``seq``, or None."""
        ...

    def commit(self, entry: LedgerEntry, *, previous_seq: int) -> bool:
        """Atomically record ``entry`` and move the account to its sequence number and
        balance, only if the account is still at ``previous_seq``; False if it is not."""
        ...

    def disarm_fault_drill(self, account_id: str, seq: int) -> bool:
        """Remove the drill armed for ``seq``; False if none was armed (any more)."""
        ...

    def count(self, account_id: str, anomaly: Anomaly) -> None:
        """Add one to the account's counter of ``anomaly``."""
        ...


class DeadLetters(Protocol):
    """Where messages that can never succeed are parked, with what was wrong."""

    def park(self, message: QueuedMessage, problem: Exception) -> None: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """What ``handle_message`` did, for logs and metrics."""

    outcome: Outcome
    account_id: str | None = None
    seq: int | None = None
    reason: str | None = None
    balance_after_cents: int | None = None


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamp(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_document(body: str) -> Mapping[str, Any]:
    """The message body as a JSON object, or UnidentifiableEvent."""
    try:
        document = json.loads(body)
    except ValueError as error:
        raise UnidentifiableEvent(f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise UnidentifiableEvent("body must be a JSON object")
    return document


def identify(document: Mapping[str, Any], group_id: str | None) -> EventKey:
    """The event's place (account and sequence number), checked against its message group.

    The group is what SQS orders by: an event sent in another group than its account's could
    overtake or trail that account's events, so its sequence number cannot be trusted.
    """
    try:
        validate(document, IDENTITY_SCHEMA)
    except SchemaViolation as violation:
        raise UnidentifiableEvent(violation.message) from None
    key = EventKey(account_id=document["account_id"], seq=int(document["seq"]))
    if group_id != key.account_id:
        raise UnidentifiableEvent(
            f"message group {group_id!r} is not the event's account {key.account_id!r}: "
            "send each account's events with MessageGroupId set to its account_id"
        )
    return key


def parse_event(document: Mapping[str, Any]) -> LedgerEvent:
    """The full event, or InvalidEvent naming the field at fault."""
    try:
        validate(document, EVENT_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidEvent(violation.message) from None
    return LedgerEvent(
        account_id=document["account_id"],
        seq=int(document["seq"]),
        type=document["type"],
        amount_cents=int(document["amount_cents"]),
        reference=document.get("reference"),
    )


def digest_of(document: Mapping[str, Any]) -> str:
    """A fingerprint of the event's content, independent of key order and spacing."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def decide(event: LedgerEvent, balance_cents: int) -> tuple[Outcome, int, str | None]:
    """The outcome of an in-sequence event on a balance: (outcome, new balance, reason)."""
    if event.type == "deposit":
        return Outcome.APPLIED, balance_cents + event.amount_cents, None
    if event.amount_cents > balance_cents:
        reason = (
            f"insufficient funds: withdrawal of {event.amount_cents} cents "
            f"with a balance of {balance_cents}"
        )
        return Outcome.REJECTED, balance_cents, reason
    return Outcome.APPLIED, balance_cents - event.amount_cents, None


def handle_message(
    message: QueuedMessage,
    *,
    store: LedgerStore,
    dead_letters: DeadLetters,
    clock: Clock = _utc_now,
) -> Decision:
    """Apply, reject, skip or park one message (see the module docstring).

    Raises a ``RetryableError`` when the message must be delivered again later; any other
    exception (a storage outage...) is retried too, by the same route.
    """
    try:
        document = parse_document(message.body)
        key = identify(document, message.group_id)
    except UnidentifiableEvent as problem:
        dead_letters.park(message, problem)
        return Decision(Outcome.DEAD_LETTERED, reason=str(problem))

    account = store.account(key.account_id)
    digest = digest_of(document)
    if key.seq <= account.last_seq:
        return _already_recorded(message, key, digest, store=store, dead_letters=dead_letters)
    if key.seq > account.last_seq + 1:
        store.count(key.account_id, "sequence_gaps")
        raise SequenceGap(key.account_id, key.seq, account.last_seq)
    if key.seq in account.fault_drills and store.disarm_fault_drill(key.account_id, key.seq):
        raise FaultDrill(key.account_id, key.seq)

    entry_fields: dict[str, Any] = {
        "account_id": key.account_id,
        "seq": key.seq,
        "message_id": message.message_id,
        "digest": digest,
        "recorded_at": _timestamp(clock),
        "receive_count": message.receive_count,
    }
    try:
        event = parse_event(document)
    except InvalidEvent as problem:
        # Parked first: if recording fails after this, the retry parks it again (a duplicate
        # in the DLQ), whereas the other order could record it and never park it.
        dead_letters.park(message, problem)
        entry = LedgerEntry(
            **entry_fields,
            outcome=Outcome.REJECTED,
            balance_after_cents=account.balance_cents,
            reason=f"invalid event: {problem}",
        )
        _commit(store, entry, account)
        return Decision(Outcome.DEAD_LETTERED, key.account_id, key.seq, entry.reason)

    outcome, balance, reason = decide(event, account.balance_cents)
    entry = LedgerEntry(
        **entry_fields,
        outcome=outcome,
        balance_after_cents=balance,
        type=event.type,
        amount_cents=event.amount_cents,
        reference=event.reference,
        reason=reason,
    )
    _commit(store, entry, account)
    return Decision(outcome, key.account_id, key.seq, reason, balance)


def _commit(store: LedgerStore, entry: LedgerEntry, account: AccountState) -> None:
    if not store.commit(entry, previous_seq=account.last_seq):
        raise ConcurrentUpdate(entry.account_id, entry.seq)


def _already_recorded(
    message: QueuedMessage,
    key: EventKey,
    digest: str,
    *,
    store: LedgerStore,
    dead_letters: DeadLetters,
) -> Decision:
    recorded = store.entry(key.account_id, key.seq)
    if recorded is not None and recorded.digest == digest:
        store.count(key.account_id, "duplicates_skipped")
        return Decision(Outcome.DUPLICATE, key.account_id, key.seq, "already recorded")
    problem = ConflictingEvent(
        f"account {key.account_id!r} already recorded a different event {key.seq}"
        + ("" if recorded is None else f" (message {recorded.message_id})")
    )
    dead_letters.park(message, problem)
    return Decision(Outcome.DEAD_LETTERED, key.account_id, key.seq, str(problem))
