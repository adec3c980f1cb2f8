"""The ledger rules (ledger_consumer.ledger) against in-memory fakes: no AWS."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from ledger_consumer import ledger
from ledger_consumer.ledger import (
    AccountState,
    Anomaly,
    LedgerEntry,
    Outcome,
    QueuedMessage,
)

ACCOUNT = "acct-1"


class InMemoryLedgerStore:
    """A fake LedgerStore with the same contract as the DynamoDB adapter."""

    def __init__(self) -> None:
        self.accounts: dict[str, AccountState] = {}
        self.entries: dict[tuple[str, int], LedgerEntry] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.refuse_commits = False

    def account(self, account_id: str) -> AccountState:
        return self.accounts.get(account_id, AccountState(account_id))

    def entry(self, account_id: str, seq: int) -> LedgerEntry | None:
        return self.entries.get((account_id, seq))

    def commit(self, entry: LedgerEntry, *, previous_seq: int) -> bool:
        current = self.account(entry.account_id)
        if self.refuse_commits or current.last_seq != previous_seq:
            return False
        assert (entry.account_id, entry.seq) not in self.entries
        self.entries[(entry.account_id, entry.seq)] = entry
        self.accounts[entry.account_id] = replace(
            current, balance_cents=entry.balance_after_cents, last_seq=entry.seq
        )
        return True

    def disarm_fault_drill(self, account_id: str, seq: int) -> bool:
        current = self.account(account_id)
        if seq not in current.fault_drills:
            return False
        self.accounts[account_id] = replace(current, fault_drills=current.fault_drills - {seq})
        return True

    def count(self, account_id: str, anomaly: Anomaly) -> None:
        key = (account_id, anomaly)
        self.counters[key] = self.counters.get(key, 0) + 1

    def arm(self, account_id: str, seq: int) -> None:
        current = self.account(account_id)
        self.accounts[account_id] = replace(current, fault_drills=current.fault_drills | {seq})

    def statement(self, account_id: str) -> list[LedgerEntry]:
        return [entry for key, entry in sorted(self.entries.items()) if key[0] == account_id]


class RecordingDeadLetters:
    def __init__(self) -> None:
        self.parked: list[tuple[QueuedMessage, Exception]] = []

    def park(self, message: QueuedMessage, problem: Exception) -> None:
        self.parked.append((message, problem))


@pytest.fixture
def store() -> InMemoryLedgerStore:
    return InMemoryLedgerStore()


@pytest.fixture
def dead_letters() -> RecordingDeadLetters:
    return RecordingDeadLetters()


def fixed_clock() -> datetime:
    return datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def event(seq: int, kind: str = "deposit", amount: int = 100, **extra: Any) -> dict[str, Any]:
    return {"account_id": ACCOUNT, "seq": seq, "type": kind, "amount_cents": amount, **extra}


def message(body: Any, group: str | None = ACCOUNT, message_id: str | None = None) -> QueuedMessage:
    text = body if isinstance(body, str) else json.dumps(body)
    return QueuedMessage(message_id=message_id or f"m-{hash(text)}", body=text, group_id=group)


def handle(
    store: InMemoryLedgerStore, dead_letters: RecordingDeadLetters, body: Any, **kwargs: Any
) -> ledger.Decision:
    return ledger.handle_message(
        message(body, **kwargs), store=store, dead_letters=dead_letters, clock=fixed_clock
    )


def test_events_in_sequence_move_the_balance_and_are_recorded(store, dead_letters):
    decisions = [
        handle(store, dead_letters, event(1, "deposit", 10_000)),
        handle(store, dead_letters, event(2, "withdrawal", 2_500, reference="rent")),
        handle(store, dead_letters, event(3, "deposit", 1)),
    ]

    assert [d.outcome for d in decisions] == [Outcome.APPLIED] * 3
    assert [d.balance_after_cents for d in decisions] == [10_000, 7_500, 7_501]
    assert store.account(ACCOUNT).last_seq == 3
    statement = store.statement(ACCOUNT)
    assert [(e.seq, e.type, e.amount_cents, e.balance_after_cents) for e in statement] == [
        (1, "deposit", 10_000, 10_000),
        (2, "withdrawal", 2_500, 7_500),
        (3, "deposit", 1, 7_501),
    ]
    assert statement[1].reference == "rent"
    assert statement[0].recorded_at == "2026-11-23T12:00:00.000Z"
    assert dead_letters.parked == []


def test_withdrawal_beyond_the_balance_is_rejected_and_the_sequence_moves_on(store, dead_letters):
    handle(store, dead_letters, event(1, "deposit", 500))

    decision = handle(store, dead_letters, event(2, "withdrawal", 501))

    assert decision.outcome is Outcome.REJECTED
    assert "insufficient funds" in (decision.reason or "")
    assert store.account(ACCOUNT) == AccountState(ACCOUNT, balance_cents=500, last_seq=2)
    rejected = store.entry(ACCOUNT, 2)
    assert rejected is not None
    assert (rejected.outcome, rejected.balance_after_cents) == (Outcome.REJECTED, 500)
    assert handle(store, dead_letters, event(3, "withdrawal", 500)).outcome is Outcome.APPLIED
    assert store.account(ACCOUNT).balance_cents == 0


def test_order_decides_the_outcome():
    """Why the queue must keep order: the same two events give different results swapped."""
    deposit = ledger.LedgerEvent(ACCOUNT, 1, "deposit", 100)
    withdrawal = ledger.LedgerEvent(ACCOUNT, 2, "withdrawal", 100)

    in_order = ledger.decide(withdrawal, ledger.decide(deposit, 0)[1])
    swapped = ledger.decide(withdrawal, 0)

    assert in_order[:2] == (Outcome.APPLIED, 0)
    assert swapped[:2] == (Outcome.REJECTED, 0)


def test_an_event_ahead_of_the_sequence_is_refused_and_counted(store, dead_letters):
    handle(store, dead_letters, event(1))

    with pytest.raises(ledger.SequenceGap) as raised:
        handle(store, dead_letters, event(3))

    assert isinstance(raised.value, ledger.RetryableError)
    assert "waiting for 2" in str(raised.value)
    assert store.account(ACCOUNT).last_seq == 1
    assert store.entry(ACCOUNT, 3) is None
    assert store.counters[(ACCOUNT, "sequence_gaps")] == 1
    # Once the missing event arrives, the refused one applies on its retry.
    handle(store, dead_letters, event(2))
    assert handle(store, dead_letters, event(3)).outcome is Outcome.APPLIED


def test_the_first_event_of_an_account_must_be_number_one(store, dead_letters):
    with pytest.raises(ledger.SequenceGap):
        handle(store, dead_letters, event(2))


def test_the_same_event_again_is_skipped_and_counted(store, dead_letters):
    handle(store, dead_letters, event(1, amount=700))
    # The same content serialised differently (key order, spacing) is the same event.
    reordered = json.dumps(dict(reversed(list(event(1, amount=700).items()))), indent=2)

    decision = handle(store, dead_letters, reordered)

    assert decision.outcome is Outcome.DUPLICATE
    assert store.account(ACCOUNT).balance_cents == 700
    assert store.counters[(ACCOUNT, "duplicates_skipped")] == 1
    assert dead_letters.parked == []


def test_a_different_event_under_a_used_number_is_parked_as_a_conflict(store, dead_letters):
    handle(store, dead_letters, event(1, amount=700), message_id="first")

    decision = handle(store, dead_letters, event(1, amount=900))

    assert decision.outcome is Outcome.DEAD_LETTERED
    assert store.account(ACCOUNT).balance_cents == 700
    (parked, problem) = dead_letters.parked[0]
    assert isinstance(problem, ledger.ConflictingEvent)
    assert "message first" in str(problem)
    assert json.loads(parked.body)["amount_cents"] == 900


def test_an_armed_fault_drill_fails_the_event_once(store, dead_letters):
    handle(store, dead_letters, event(1))
    store.arm(ACCOUNT, 2)

    with pytest.raises(ledger.FaultDrill):
        handle(store, dead_letters, event(2))
    assert store.account(ACCOUNT).last_seq == 1

    assert handle(store, dead_letters, event(2)).outcome is Outcome.APPLIED
    assert store.account(ACCOUNT).fault_drills == frozenset()


def test_a_fault_drill_disarmed_meanwhile_does_not_fail_the_event(store, dead_letters):
    store.arm(ACCOUNT, 1)
    store.disarm_fault_drill = lambda account_id, seq: False  # type: ignore[method-assign]

    assert handle(store, dead_letters, event(1)).outcome is Outcome.APPLIED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (event(2, kind="teleport"), "type"),
        (event(2, amount=0), "amount_cents"),
        (event(2, amount=12.5), "amount_cents"),
        (event(2, amount="100"), "amount_cents"),
        (event(2, amount=ledger.MAX_AMOUNT_CENTS + 1), "amount_cents"),
        ({"account_id": ACCOUNT, "seq": 2, "type": "deposit"}, "amount_cents"),
        (event(2, colour="red"), "colour"),
        (event(2, reference="x" * 201), "reference"),
    ],
)
def test_invalid_content_is_parked_recorded_as_rejected_and_the_account_goes_on(
    store, dead_letters, body, field
):
    handle(store, dead_letters, event(1, amount=1_000))

    decision = handle(store, dead_letters, body)

    assert decision.outcome is Outcome.DEAD_LETTERED
    (parked, problem) = dead_letters.parked[0]
    assert isinstance(problem, ledger.InvalidEvent)
    assert f"'{field}'" in str(problem)
    assert json.loads(parked.body) == body
    rejected = store.entry(ACCOUNT, 2)
    assert rejected is not None
    assert rejected.outcome is Outcome.REJECTED
    assert rejected.balance_after_cents == 1_000
    assert (rejected.reason or "").startswith("invalid event: ")
    assert handle(store, dead_letters, event(3, amount=5)).balance_after_cents == 1_005


def test_an_invalid_event_delivered_again_is_not_parked_twice(store, dead_letters):
    handle(store, dead_letters, event(1, kind="refund"))

    decision = handle(store, dead_letters, event(1, kind="refund"))

    assert decision.outcome is Outcome.DUPLICATE
    assert len(dead_letters.parked) == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"seq": 1, "type": "deposit", "amount_cents": 1}),
        json.dumps({"account_id": ACCOUNT, "type": "deposit", "amount_cents": 1}),
        json.dumps(event(0)),
        json.dumps(event(True)),
        json.dumps(event(1.5)),
        json.dumps(event(ledger.MAX_SEQ + 1)),
        json.dumps({**event(1), "account_id": "has space"}),
        json.dumps({**event(1), "account_id": ""}),
    ],
)
def test_a_message_without_a_place_in_a_sequence_is_parked_and_changes_nothing(
    store, dead_letters, body
):
    decision = handle(store, dead_letters, body)

    assert decision.outcome is Outcome.DEAD_LETTERED
    assert isinstance(dead_letters.parked[0][1], ledger.UnidentifiableEvent)
    assert store.accounts == {}
    assert store.entries == {}


def test_an_event_sent_in_another_accounts_group_is_parked(store, dead_letters):
    decision = handle(store, dead_letters, event(1), group="acct-2")

    assert decision.outcome is Outcome.DEAD_LETTERED
    problem = dead_letters.parked[0][1]
    assert "message group 'acct-2' is not the event's account 'acct-1'" in str(problem)
    assert store.entries == {}


def test_a_lost_race_is_retried_not_applied(store, dead_letters):
    store.refuse_commits = True

    with pytest.raises(ledger.ConcurrentUpdate):
        handle(store, dead_letters, event(1))

    assert store.entries == {}


def test_an_invalid_event_is_parked_before_it_is_recorded(store, dead_letters):
    """If recording fails, the message is retried and parked again: a duplicate in the DLQ
    rather than a rejection nobody was told about."""
    store.refuse_commits = True

    with pytest.raises(ledger.ConcurrentUpdate):
        handle(store, dead_letters, event(1, kind="refund"))

    assert len(dead_letters.parked) == 1


def test_entry_record_round_trip():
    entry = LedgerEntry(
        account_id=ACCOUNT,
        seq=4,
        outcome=Outcome.REJECTED,
        balance_after_cents=10,
        message_id="m",
        digest="d",
        recorded_at="2026-11-23T12:00:00.000Z",
        type="withdrawal",
        amount_cents=20,
        reason="insufficient funds",
    )

    record = entry.to_record()

    assert "reference" not in record
    assert LedgerEntry.from_record(record) == entry


def test_digest_ignores_key_order_and_spacing():
    assert ledger.digest_of({"a": 1, "b": [1, 2]}) == ledger.digest_of({"b": [1, 2], "a": 1})
    assert ledger.digest_of({"a": 1}) != ledger.digest_of({"a": 2})
