"""The FIFOer as a producer sees it: ledger events into the FIFO queue, the ledger behind it.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Every test
uses accounts of its own (``unique_id``) and deletes what it wrote, even when it fails.

What they prove: each account's events are applied exactly in send order while accounts
are interleaved; SQS drops a resent deduplication id and the consumer's sequence check
drops what SQS cannot; a transient failure in the middle of an account's events delays
that account only and loses nothing; invalid messages are parked in the FIFO dead-letter
queue without holding up or reordering the rest of their account.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from stack_testing import Stack, wait_for

# SendMessageBatch and BatchWriteItem limits.
SQS_BATCH = 10
DYNAMODB_BATCH = 25


def event(account: str, seq: int, kind: str, amount: int) -> dict[str, Any]:
    return {"account_id": account, "seq": seq, "type": kind, "amount_cents": amount}


@dataclass
class Expected:
    """The ledger of an account replayed here, by the documented rules, in send order."""

    outcomes: list[tuple[int, str, int]] = field(default_factory=list)
    balance: int = 0

    def apply(self, sent: dict[str, Any]) -> None:
        amount = sent["amount_cents"]
        if sent["type"] == "deposit":
            self.balance += amount
            outcome = "applied"
        elif amount <= self.balance:
            self.balance -= amount
            outcome = "applied"
        else:
            outcome = "rejected"
        self.outcomes.append((sent["seq"], outcome, self.balance))

    def reject(self, seq: int) -> None:
        self.outcomes.append((seq, "rejected", self.balance))


@dataclass
class Ledger:
    """The stack's queues and tables, and the accounts a test used (deleted afterwards)."""

    stack: Stack
    accounts: set[str] = field(default_factory=set)

    @property
    def sqs(self) -> Any:
        return self.stack.client("sqs")

    @property
    def dynamodb(self) -> Any:
        return self.stack.client("dynamodb")

    def send(self, messages: Sequence[dict[str, Any]]) -> list[str]:
        """SendMessageBatch in chunks of 10, in order; each message is a dict with ``body``
        (an event dict or raw text), ``group`` and ``dedup`` (defaults from the event)."""
        ids: list[str] = []
        for start in range(0, len(messages), SQS_BATCH):
            chunk = messages[start : start + SQS_BATCH]
            entries = []
            for index, message in enumerate(chunk):
                body = message["body"]
                self.accounts.add(message.get("group") or body["account_id"])
                entries.append(
                    {
                        "Id": str(index),
                        "MessageBody": body if isinstance(body, str) else json.dumps(body),
                        "MessageGroupId": message.get("group") or body["account_id"],
                        "MessageDeduplicationId": message.get("dedup")
                        or f"{body['account_id']}:{body['seq']}",
                    }
                )
            response = self.sqs.send_message_batch(
                QueueUrl=self.stack.output("LedgerQueueUrl"), Entries=entries
            )
            assert not response.get("Failed"), response.get("Failed")
            by_entry = {item["Id"]: item["MessageId"] for item in response["Successful"]}
            ids += [by_entry[str(index)] for index in range(len(chunk))]
        return ids

    def account(self, account_id: str) -> dict[str, Any]:
        item = self.dynamodb.get_item(
            TableName=self.stack.output("AccountsTableName"),
            Key={"account_id": {"S": account_id}},
            ConsistentRead=True,
        ).get("Item", {})
        return {name: next(iter(value.values())) for name, value in item.items()}

    def number(self, account_id: str, attribute: str) -> int:
        return int(self.account(account_id).get(attribute, 0))

    def entries(self, account_id: str) -> list[dict[str, Any]]:
        """The account's ledger entries in sequence order (a strongly consistent Query)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.stack.output("LedgerTableName"),
            "KeyConditionExpression": "account_id = :a",
            "ExpressionAttributeValues": {":a": {"S": account_id}},
            "ConsistentRead": True,
        }
        while True:
            page = self.dynamodb.query(**kwargs)
            items += [
                {name: next(iter(value.values())) for name, value in item.items()}
                for item in page["Items"]
            ]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def statement(self, account_id: str) -> list[tuple[int, str, int]]:
        return [
            (int(e["seq"]), str(e["outcome"]), int(e["balance_after_cents"]))
            for e in self.entries(account_id)
        ]

    def wait_until_recorded(self, account_id: str, last_seq: int, timeout: float = 60) -> None:
        wait_for(
            lambda: self.number(account_id, "last_seq") >= last_seq,
            timeout=timeout,
            interval=0.25,
            description=f"account {account_id} recorded up to event {last_seq}",
        )

    def arm_fault_drill(self, account_id: str, *seqs: int) -> None:
        self.accounts.add(account_id)
        self.dynamodb.update_item(
            TableName=self.stack.output("AccountsTableName"),
            Key={"account_id": {"S": account_id}},
            UpdateExpression="ADD fault_drills :seqs",
            ExpressionAttributeValues={":seqs": {"NS": [str(seq) for seq in seqs]}},
        )

    def take_dead_letters(self, group: str, count: int) -> list[dict[str, Any]]:
        """Receive (and delete) the first ``count`` parked messages of ``group``, in order.

        Other groups' messages that come along are made visible again at once: the DLQ may
        hold other runs' messages, and they are not this test's to take.
        """
        taken: list[dict[str, Any]] = []
        url = self.stack.output("DeadLetterQueueUrl")

        def more() -> bool:
            response = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                VisibilityTimeout=30,
                MessageSystemAttributeNames=["MessageGroupId"],
            )
            for message in response.get("Messages", []):
                handle = message["ReceiptHandle"]
                if message["Attributes"]["MessageGroupId"] == group:
                    taken.append(message)
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
                else:
                    self.sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0
                    )
            return len(taken) >= count

        wait_for(more, timeout=60, interval=0.2, description=f"{count} parked messages")
        return taken

    def delete_accounts(self) -> None:
        accounts_table = self.stack.output("AccountsTableName")
        ledger_table = self.stack.output("LedgerTableName")
        for account_id in self.accounts:
            self.dynamodb.delete_item(
                TableName=accounts_table, Key={"account_id": {"S": account_id}}
            )
            keys = [
                {"account_id": {"S": account_id}, "seq": {"N": str(entry["seq"])}}
                for entry in self.entries(account_id)
            ]
            for start in range(0, len(keys), DYNAMODB_BATCH):
                requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
                self.dynamodb.batch_write_item(RequestItems={ledger_table: requests})


@pytest.fixture
def ledger(stack: Stack) -> Iterator[Ledger]:
    used = Ledger(stack)
    yield used
    used.delete_accounts()


def random_events(account: str, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Deposits and withdrawals where order matters: about half of the withdrawals ask for
    more than the balance holds at their turn, so any reordering changes some outcome."""
    events = []
    balance = 0
    for seq in range(1, count + 1):
        if seq == 1 or rng.random() < 0.5:
            amount = rng.randint(1, 10_000)
            events.append(event(account, seq, "deposit", amount))
            balance += amount
        else:
            amount = rng.randint(1, 2 * balance + 1)
            events.append(event(account, seq, "withdrawal", amount))
            balance -= amount if amount <= balance else 0
    return events


def replay(events: Sequence[dict[str, Any]]) -> Expected:
    expected = Expected()
    for sent in events:
        expected.apply(sent)
    return expected


def interleave(per_account: Sequence[Sequence[dict[str, Any]]], rng: random.Random) -> list[Any]:
    """One send order mixing all accounts at random while keeping each account's order."""
    queues = [list(events) for events in per_account]
    mixed = []
    while any(queues):
        chosen = rng.choice([queue for queue in queues if queue])
        mixed.append(chosen.pop(0))
    return mixed


def test_interleaved_accounts_are_each_applied_exactly_in_send_order(ledger, unique_id):
    rng = random.Random(unique_id)
    accounts = [f"{unique_id}-acct{n}" for n in range(5)]
    per_account = [random_events(account, 30, rng) for account in accounts]
    mixed = interleave(per_account, rng)
    assert mixed != [sent for events in per_account for sent in events]

    message_ids = ledger.send([{"body": sent} for sent in mixed])

    sent_id = {(s["account_id"], s["seq"]): m for s, m in zip(mixed, message_ids, strict=True)}
    for account in accounts:
        ledger.wait_until_recorded(account, 30, timeout=120)
    for account, events in zip(accounts, per_account, strict=True):
        expected = replay(events)
        entries = ledger.entries(account)
        assert ledger.statement(account) == expected.outcomes
        # Each entry is the message sent for that number, applied on its first delivery.
        assert [e["message_id"] for e in entries] == [sent_id[(account, s)] for s in range(1, 31)]
        assert {int(e["receive_count"]) for e in entries} == {1}
        # Recorded one after the other, in sequence order.
        times = [str(e["recorded_at"]) for e in entries]
        assert times == sorted(times)
        state = ledger.account(account)
        assert int(state["balance_cents"]) == expected.balance >= 0
        assert "sequence_gaps" not in state
        assert "duplicates_skipped" not in state
    assert any("rejected" in {o for _, o, _ in replay(e).outcomes} for e in per_account)


def test_a_deduplication_id_sent_again_within_five_minutes_is_applied_once(ledger, unique_id):
    """SQS drops a message whose deduplication id it accepted in the last 5 minutes, and
    keeps tracking the id after the first copy was received and deleted: a producer's retry
    that comes after the consumer already applied the event must not reach it either."""
    account = f"{unique_id}-dedup"
    first = event(account, 1, "deposit", 2_500)

    ids = ledger.send([{"body": first}])
    ledger.wait_until_recorded(account, 1)
    ledger.send([{"body": first}])  # the producer retries the same event
    ledger.send([{"body": event(account, 2, "withdrawal", 1_000)}])

    # Event 2 queues behind any copy of event 1, so once 2 is recorded a copy would have been
    # handled (and counted as a duplicate) already.
    ledger.wait_until_recorded(account, 2)
    assert ledger.statement(account) == [(1, "applied", 2_500), (2, "applied", 1_500)]
    assert "duplicates_skipped" not in ledger.account(account), "SQS delivered the resend"
    assert ledger.entries(account)[0]["message_id"] == ids[0]


def test_a_resend_sqs_cannot_recognise_is_skipped_by_the_sequence_check(ledger, unique_id):
    """After the 5-minute window (here: a new deduplication id) SQS delivers a resend; the
    consumer recognises the event by its account and number and applies it only once."""
    account = f"{unique_id}-resend"
    first = event(account, 1, "deposit", 700)

    ledger.send([{"body": first}])
    ledger.send([{"body": first, "dedup": f"{account}:1:resent"}])
    ledger.send([{"body": event(account, 2, "deposit", 1)}])

    ledger.wait_until_recorded(account, 2)
    assert ledger.statement(account) == [(1, "applied", 700), (2, "applied", 701)]
    assert ledger.number(account, "duplicates_skipped") == 1


def test_a_transient_failure_mid_account_delays_it_in_order_and_loses_nothing(ledger, unique_id):
    rng = random.Random(unique_id)
    blocked, other = f"{unique_id}-blocked", f"{unique_id}-other"
    blocked_events = random_events(blocked, 15, rng)
    other_events = random_events(other, 15, rng)
    # Events 6 and 12 fail on their first delivery (an armed fault drill), then succeed.
    ledger.arm_fault_drill(blocked, 6, 12)

    ledger.send([{"body": sent} for sent in interleave([blocked_events, other_events], rng)])

    ledger.wait_until_recorded(blocked, 15)
    ledger.wait_until_recorded(other, 15)
    assert ledger.statement(blocked) == replay(blocked_events).outcomes
    assert ledger.statement(other) == replay(other_events).outcomes
    state = ledger.account(blocked)
    assert "fault_drills" not in state, "the drills were never triggered"
    entries = {int(e["seq"]): e for e in ledger.entries(blocked)}
    assert int(entries[6]["receive_count"]) >= 2, entries[6]
    assert int(entries[12]["receive_count"]) >= 2, entries[12]
    assert {int(entries[seq]["receive_count"]) for seq in range(1, 6)} == {1}
    # The other account's messages were never sent back because of the blocked one.
    assert {int(e["receive_count"]) for e in ledger.entries(other)} == {1}
    assert "sequence_gaps" not in state


def test_invalid_messages_are_parked_in_the_fifo_dlq_and_the_account_goes_on(ledger, unique_id):
    account = f"{unique_id}-poison"
    events = [
        event(account, 1, "deposit", 5_000),
        event(account, 2, "withdrawal", 1_000),
        event(account, 3, "refund", 400),  # no such type: can never succeed
        event(account, 4, "withdrawal", 3_000),
        event(account, 5, "withdrawal", 2_000),  # more than the 1,000 left: rejected
        event(account, 6, "deposit", 10),
    ]
    not_json = '{"account_id": "' + account + '", "seq": 7, "type": "deposit", "amount_c'
    messages: list[dict[str, Any]] = [{"body": sent} for sent in events[:4]]
    messages.append({"body": not_json, "group": account, "dedup": f"{account}:garbled"})
    messages += [{"body": sent} for sent in events[4:]]

    ledger.send(messages)

    ledger.wait_until_recorded(account, 6)
    expected = Expected()
    for sent in events:
        if sent["seq"] == 3:
            expected.reject(3)
        else:
            expected.apply(sent)
    assert ledger.statement(account) == expected.outcomes
    assert expected.outcomes[4] == (5, "rejected", 1_000)
    reason = ledger.entries(account)[2]["reason"]
    assert "invalid event" in reason
    assert "'type'" in reason

    parked = ledger.take_dead_letters(account, 2)

    assert [json.loads(m["Body"])["error"]["type"] for m in parked] == [
        "InvalidEvent",
        "UnidentifiableEvent",
    ]
    envelopes = [json.loads(m["Body"]) for m in parked]
    assert json.loads(envelopes[0]["payload"]) == events[2]
    assert envelopes[1]["payload"] == not_json
    assert all(e["source"] == ledger.stack.output("LedgerQueueUrl") for e in envelopes)
    assert ledger.number(account, "sequence_gaps") == 0
