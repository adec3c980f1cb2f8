"""The consumer end to end in process: SQS FIFO events in, partial batch responses out, with
moto playing DynamoDB and SQS. ``settle`` does what Lambda's event source does with the
response: it deletes the messages not reported as failed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from common_layer.failures import ENVELOPE_KIND, redrive

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def accounts_table() -> str:
    return os.environ["ACCOUNTS_TABLE_NAME"]


def ledger_table() -> str:
    return os.environ["LEDGER_TABLE_NAME"]


def ev(account: str, seq: int, kind: str = "deposit", amount: int = 100) -> dict[str, Any]:
    return {"account_id": account, "seq": seq, "type": kind, "amount_cents": amount}


def settle(queues, response: dict[str, Any], messages: list[dict[str, Any]]) -> list[str]:
    """Delete what succeeded (as the event source does); return the failed message ids."""
    failed = [item["itemIdentifier"] for item in response.get("batchItemFailures", [])]
    for message in messages:
        if message["MessageId"] not in failed:
            queues.client.delete_message(
                QueueUrl=queues.url, ReceiptHandle=message["ReceiptHandle"]
            )
    return failed


def account(account_id: str) -> dict[str, Any]:
    item = (
        boto3.resource("dynamodb")
        .Table(accounts_table())
        .get_item(Key={"account_id": account_id}, ConsistentRead=True)
    )
    return dict(item.get("Item", {}))


def statement(account_id: str) -> list[tuple[int, str, int]]:
    items = (
        boto3.resource("dynamodb")
        .Table(ledger_table())
        .query(
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": account_id},
            ConsistentRead=True,
        )["Items"]
    )
    return [(int(i["seq"]), str(i["outcome"]), int(i["balance_after_cents"])) for i in items]


def receive_count(account_id: str, seq: int) -> int:
    item = (
        boto3.resource("dynamodb")
        .Table(ledger_table())
        .get_item(Key={"account_id": account_id, "seq": seq}, ConsistentRead=True)["Item"]
    )
    return int(item["receive_count"])


def dead_lettered(queues) -> list[dict[str, Any]]:
    return queues.receive(queues.dlq_url)


@pytest.fixture
def fast_retries(aws_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff 0: returned messages are visible again at once (set before the import)."""
    monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0")


def test_interleaved_accounts_are_each_applied_in_order(handler, queues, sqs_event, context):
    sends = [ev("a", 1, amount=500), ev("b", 1, amount=50), ev("a", 2, "withdrawal", 300)]
    sends += [ev("b", 2, "withdrawal", 80), ev("a", 3, "withdrawal", 300)]
    for body in sends:
        queues.send(body)
    messages = queues.receive()

    response = handler.lambda_handler(sqs_event(messages), context)

    assert response == {"batchItemFailures": []}
    assert statement("a") == [(1, "applied", 500), (2, "applied", 200), (3, "rejected", 200)]
    assert statement("b") == [(1, "applied", 50), (2, "rejected", 50)]
    assert account("a")["last_seq"] == 3
    assert account("a")["balance_cents"] == 200


def test_a_failure_returns_the_rest_of_its_group_and_spares_other_groups(
    fast_retries, handler, queues, sqs_event, context
):
    boto3.client("dynamodb").update_item(
        TableName=accounts_table(),
        Key={"account_id": {"S": "a"}},
        UpdateExpression="ADD fault_drills :s",
        ExpressionAttributeValues={":s": {"NS": ["2"]}},
    )
    ids = {}
    for body in [ev("a", 1), ev("b", 1), ev("a", 2), ev("b", 2), ev("a", 3), ev("b", 3)]:
        ids[(body["account_id"], body["seq"])] = queues.send(body)
    messages = queues.receive()

    response = handler.lambda_handler(sqs_event(messages), context)

    failed = settle(queues, response, messages)
    assert failed == [ids[("a", 2)], ids[("a", 3)]]
    assert [seq for seq, _, _ in statement("a")] == [1]
    assert [seq for seq, _, _ in statement("b")] == [1, 2, 3]
    # Backoff 0 made the returned messages visible at once, in order; the retry applies them.
    retried = queues.receive()
    assert [m["MessageId"] for m in retried] == failed
    assert retried[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    response = handler.lambda_handler(sqs_event(retried), context)
    assert settle(queues, response, retried) == []
    assert [seq for seq, _, _ in statement("a")] == [1, 2, 3]
    assert "fault_drills" not in account("a")
    assert [receive_count("a", seq) for seq in (1, 2, 3)] == [1, 2, 2]


def test_returned_messages_wait_for_the_backoff(handler, queues, sqs_event, context):
    boto3.client("dynamodb").update_item(
        TableName=accounts_table(),
        Key={"account_id": {"S": "a"}},
        UpdateExpression="ADD fault_drills :s",
        ExpressionAttributeValues={":s": {"NS": ["2"]}},
    )
    for body in [ev("a", 1), ev("a", 2)]:
        queues.send(body)
    messages = queues.receive()

    settle(queues, handler.lambda_handler(sqs_event(messages), context), messages)

    visibility = queues.client.get_queue_attributes(
        QueueUrl=queues.url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert visibility["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert queues.receive() == []


def test_a_batch_that_fails_entirely_raises_and_is_returned(
    fast_retries, handler, queues, sqs_event, context
):
    queues.send(ev("a", 2))  # event 1 never came: a gap
    messages = queues.receive()

    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(sqs_event(messages), context)

    assert [m["MessageId"] for m in queues.receive()] == [messages[0]["MessageId"]]
    assert account("a")["sequence_gaps"] == 1
    assert statement("a") == []


def test_an_invalid_event_is_parked_in_the_fifo_dlq_with_its_group(
    handler, queues, sqs_event, context
):
    queues.send(ev("a", 1, amount=300))
    bad_id = queues.send(ev("a", 2, kind="refund"))
    queues.send(ev("a", 3, "withdrawal", 300))
    messages = queues.receive()

    response = handler.lambda_handler(sqs_event(messages), context)

    assert response == {"batchItemFailures": []}
    assert statement("a") == [(1, "applied", 300), (2, "rejected", 300), (3, "applied", 0)]
    (parked,) = dead_lettered(queues)
    assert parked["Attributes"]["MessageGroupId"] == "a"
    envelope = json.loads(parked["Body"])
    assert envelope["kind"] == ENVELOPE_KIND
    assert envelope["error"]["type"] == "InvalidEvent"
    assert "'type'" in envelope["error"]["message"]
    assert json.loads(envelope["payload"]) == ev("a", 2, kind="refund")
    assert envelope["source"] == queues.url
    assert bad_id != parked["MessageId"]


def test_a_redriven_parked_event_is_a_harmless_duplicate(handler, queues, sqs_event, context):
    queues.send(ev("a", 1, kind="refund"))
    messages = queues.receive()
    settle(queues, handler.lambda_handler(sqs_event(messages), context), messages)
    parked = dead_lettered(queues)
    queues.client.change_message_visibility(
        QueueUrl=queues.dlq_url, ReceiptHandle=parked[0]["ReceiptHandle"], VisibilityTimeout=0
    )

    assert redrive(queues.client, queues.dlq_url, queues.url, wait_seconds=0) == 1
    redriven = queues.receive()
    assert json.loads(redriven[0]["Body"]) == ev("a", 1, kind="refund")
    response = handler.lambda_handler(sqs_event(redriven), context)

    assert response == {"batchItemFailures": []}
    assert statement("a") == [(1, "rejected", 0)]
    assert account("a")["duplicates_skipped"] == 1
    assert dead_lettered(queues) == []


def test_a_message_in_the_wrong_group_is_parked(handler, queues, sqs_event, context):
    queues.send(ev("a", 1), group="b")
    messages = queues.receive()

    response = handler.lambda_handler(sqs_event(messages), context)

    assert response == {"batchItemFailures": []}
    assert statement("a") == []
    (parked,) = dead_lettered(queues)
    assert parked["Attributes"]["MessageGroupId"] == "b"
    assert "message group 'b'" in json.loads(parked["Body"])["error"]["message"]


def test_the_sample_event_is_a_deposit_for_acct_42(handler, context):
    sample = json.loads((EVENTS_DIR / "ledger_events.json").read_text())

    # Receipt handles in the sample are fake: they only matter when a message fails.
    response = handler.lambda_handler(sample, context)

    assert response == {"batchItemFailures": []}
    assert statement("acct-42") == [(1, "applied", 10_000), (2, "applied", 7_500)]


def test_the_sample_invalid_event_is_parked(handler, queues, context):
    sample = json.loads((EVENTS_DIR / "invalid_event.json").read_text())

    response = handler.lambda_handler(sample, context)

    assert response == {"batchItemFailures": []}
    assert statement("acct-42") == [(1, "rejected", 0)]
    (parked,) = dead_lettered(queues)
    assert json.loads(parked["Body"])["error"]["type"] == "InvalidEvent"


def test_store_commit_refuses_a_stale_sequence(tables):
    from ledger_consumer.ledger import LedgerEntry, Outcome
    from ledger_consumer.storage import DynamoDBLedgerStore

    store = DynamoDBLedgerStore(boto3.client("dynamodb"), accounts_table(), ledger_table())
    entry = LedgerEntry("a", 1, Outcome.APPLIED, 5, "m1", "d1", "2026-11-23T00:00:00.000Z")

    assert store.commit(entry, previous_seq=0) is True
    assert store.commit(entry, previous_seq=0) is False
    second = LedgerEntry("a", 2, Outcome.APPLIED, 9, "m2", "d2", "2026-11-23T00:00:01.000Z")
    assert store.commit(second, previous_seq=5) is False
    assert store.commit(second, previous_seq=1) is True
    assert store.account("a").last_seq == 2
    assert store.account("a").balance_cents == 9
    assert store.entry("a", 1) == entry
    assert store.entry("a", 3) is None


def test_store_fault_drills_disarm_once_and_counters_add(tables):
    from ledger_consumer.storage import DynamoDBLedgerStore

    client = boto3.client("dynamodb")
    store = DynamoDBLedgerStore(client, accounts_table(), ledger_table())
    client.update_item(
        TableName=accounts_table(),
        Key={"account_id": {"S": "a"}},
        UpdateExpression="ADD fault_drills :s",
        ExpressionAttributeValues={":s": {"NS": ["4", "7"]}},
    )

    assert store.account("a").fault_drills == frozenset({4, 7})
    assert store.disarm_fault_drill("a", 4) is True
    assert store.disarm_fault_drill("a", 4) is False
    assert store.account("a").fault_drills == frozenset({7})
    store.count("a", "sequence_gaps")
    store.count("a", "sequence_gaps")
    assert account("a")["sequence_gaps"] == 2
    assert store.account("unknown").last_seq == 0
