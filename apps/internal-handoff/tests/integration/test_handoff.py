"""The internal handoff as its callers and operators see it: hand off, then observe.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and a stack on AWS (``--target aws``). Every test works on
an account id of its own and deletes what it wrote to the ledger.

On AWS, Lambda waits one minute before the first retry of a failed asynchronous invocation
and two before the second, so the failure-path test takes about four minutes there; the
local cloud keeps the same sequence with second-long waits
(``LOCALCLOUD_ASYNC_RETRY_DELAYS_SECONDS``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from stack_testing import Stack, wait_for

APP_DIR = Path(__file__).resolve().parents[2]
# The replay command: tools/redrive.py of the monorepo, or of an ejected project.
REDRIVE_TOOLS = (APP_DIR.parents[1] / "tools" / "redrive.py", APP_DIR / "tools" / "redrive.py")
HOLD_REASON = "compliance review (integration test)"


def on_aws(stack: Stack) -> bool:
    return stack.endpoint_url is None


def effect_timeout(stack: Stack) -> float:
    """How long a recorded payment may take to show: a cold start, or a retry (1 min on AWS)."""
    return 200.0 if on_aws(stack) else 30.0


def failure_timeout(stack: Stack) -> float:
    """First attempt + retries 1 and 2 minutes later on AWS (seconds locally), then delivery."""
    return 420.0 if on_aws(stack) else 60.0


class Ledger:
    """The ledger table, read and written straight through DynamoDB."""

    def __init__(self, stack: Stack) -> None:
        self.client = stack.client("dynamodb")
        self.table = stack.output("LedgerTableName")

    def item(self, account_id: str, entry: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table,
            Key={"account_id": {"S": account_id}, "entry": {"S": entry}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def entries(self, account_id: str) -> list[str]:
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": account_id}},
            ConsistentRead=True,
        )
        return sorted(item["entry"]["S"] for item in response["Items"])

    def balance(self, account_id: str, currency: str = "EUR") -> tuple[Decimal, int]:
        item = self.item(account_id, f"BALANCE#{currency}")
        if item is None:
            return Decimal(0), 0
        return Decimal(item["balance"]["N"]), int(item["payments"]["N"])

    def put_hold(self, account_id: str, reason: str) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={"account_id": {"S": account_id}, "entry": {"S": "HOLD"}, "reason": {"S": reason}},
        )

    def lift_hold(self, account_id: str) -> None:
        self.client.delete_item(
            TableName=self.table, Key={"account_id": {"S": account_id}, "entry": {"S": "HOLD"}}
        )

    def forget(self, account_id: str) -> None:
        for entry in self.entries(account_id):
            self.client.delete_item(
                TableName=self.table,
                Key={"account_id": {"S": account_id}, "entry": {"S": entry}},
            )


@pytest.fixture
def ledger(stack: Stack) -> Ledger:
    return Ledger(stack)


@pytest.fixture
def account(ledger: Ledger, unique_id: str) -> Iterator[str]:
    """An account no other test or run uses; its ledger items are deleted afterwards."""
    account_id = f"acct-{unique_id}"
    yield account_id
    ledger.forget(account_id)


def payment(account_id: str, number: int = 1, amount: str = "25.00") -> dict[str, str]:
    return {
        "payment_id": f"{account_id}-pay-{number}",
        "account_id": account_id,
        "amount": amount,
        "currency": "EUR",
        "reference": f"invoice {number}",
    }


def hand_off(stack: Stack, job: dict[str, Any]) -> dict[str, Any]:
    """Invoke the recorder asynchronously, as a caller of the pattern does."""
    response: dict[str, Any] = stack.client("lambda").invoke(
        FunctionName=stack.output("PaymentRecorderFunctionName"),
        InvocationType="Event",
        Payload=json.dumps(job).encode(),
    )
    return response


def call_intake(stack: Stack, request: Any) -> dict[str, Any]:
    """Invoke the intake synchronously and return its answer."""
    response = stack.client("lambda").invoke(
        FunctionName=stack.output("PaymentIntakeFunctionName"),
        Payload=json.dumps(request).encode(),
    )
    body = response["Payload"].read()
    assert "FunctionError" not in response, body
    answer: dict[str, Any] = json.loads(body)
    return answer


def recorded_entry(
    stack: Stack, ledger: Ledger, job: dict[str, Any], description: str
) -> dict[str, Any]:
    entry = f"PAYMENT#{job['payment_id']}"
    found: dict[str, Any] = wait_for(
        lambda: ledger.item(job["account_id"], entry),
        timeout=effect_timeout(stack),
        interval=0.3,
        description=description,
    )
    return found


def test_an_event_invoke_is_accepted_at_once_and_the_payment_is_recorded(stack, ledger, account):
    """InvocationType Event: Lambda answers 202 with no payload as soon as the event is
    queued; the work happens afterwards, under the request id the 202 carried."""
    job = payment(account, amount="25.00")

    response = hand_off(stack, job)

    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert "FunctionError" not in response
    entry = recorded_entry(stack, ledger, job, "the handed-off payment in the ledger")
    assert entry["request_id"]["S"] == response["ResponseMetadata"]["RequestId"]
    assert Decimal(entry["amount"]["N"]) == Decimal("25.00")
    assert ledger.balance(account) == (Decimal("25.00"), 1)


def test_the_intake_acknowledges_with_a_job_id_and_the_payment_appears(stack, ledger, account):
    request = payment(account, amount="12.50")

    answer = call_intake(stack, request)

    assert answer["statusCode"] == 202
    assert answer["jobId"] == request["payment_id"]
    entry = recorded_entry(stack, ledger, request, "the payment the intake handed off")
    assert entry["requested_at"]["S"] == answer["acceptedAt"]
    assert entry["request_id"]["S"] == answer["requestId"]
    assert ledger.balance(account) == (Decimal("12.50"), 1)


def test_an_invalid_request_is_refused_by_the_intake_naming_the_field(stack):
    answer = call_intake(
        stack, {"payment_id": "p-1", "account_id": "a-1", "amount": 25, "currency": "EUR"}
    )

    assert answer["statusCode"] == 400
    assert answer["field"] == "amount"
    assert "'amount'" in answer["message"]


def test_the_same_payment_handed_off_twice_is_recorded_once(stack, ledger, account):
    """Handing off again is safe: the second delivery reaches the recorder (it is counted on
    the entry) and moves no money."""
    request = payment(account, amount="40.00")
    first = call_intake(stack, request)
    recorded_entry(stack, ledger, request, "the first handoff recorded")

    second = call_intake(stack, request)

    assert (first["statusCode"], second["statusCode"]) == (202, 202)
    assert second["jobId"] == first["jobId"]

    def duplicate_counted() -> bool:
        entry = ledger.item(account, f"PAYMENT#{request['payment_id']}") or {}
        return entry.get("duplicate_deliveries", {}).get("N") == "1"

    wait_for(
        duplicate_counted,
        timeout=effect_timeout(stack),
        description="the second delivery counted as a duplicate",
    )
    assert ledger.balance(account) == (Decimal("40.00"), 1)
    assert ledger.entries(account) == ["BALANCE#EUR", f"PAYMENT#{request['payment_id']}"]


def test_two_deliveries_at_once_still_make_one_effect(stack, ledger, account):
    """Lambda may deliver an asynchronous event twice, possibly at the same time: the one
    that finds the other in progress fails and is retried, then finds it done."""
    job = payment(account, amount="9.99")

    responses = [hand_off(stack, job), hand_off(stack, job)]

    assert [r["StatusCode"] for r in responses] == [202, 202]

    def both_processed() -> bool:
        entry = ledger.item(account, f"PAYMENT#{job['payment_id']}") or {}
        return entry.get("duplicate_deliveries", {}).get("N") == "1"

    # On AWS the loser of the race may wait for Lambda's first retry (one minute).
    wait_for(
        both_processed,
        timeout=effect_timeout(stack),
        description="both deliveries processed, one as a duplicate",
    )
    assert ledger.balance(account) == (Decimal("9.99"), 1)


def _failure_record(stack: Stack, payment_id: str) -> dict[str, Any] | None:
    """The failure queue's record of ``payment_id``, made visible again for the replay; any
    other message seen is made visible again at once too."""
    sqs = stack.client("sqs")
    queue_url = stack.output("FailedPaymentsQueueUrl")
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
    ).get("Messages", [])
    found = None
    for message in messages:
        record = json.loads(message["Body"])
        payload = record.get("requestPayload")
        if isinstance(payload, dict) and payload.get("payment_id") == payment_id:
            found = record
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return found


def _queue_is_empty(stack: Stack) -> bool:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.output("FailedPaymentsQueueUrl"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


def _redrive_tool() -> Path:
    for tool in REDRIVE_TOOLS:
        if tool.is_file():
            return tool
    raise AssertionError(f"the replay command is missing: looked for {REDRIVE_TOOLS}")


def run_redrive(stack: Stack) -> subprocess.CompletedProcess[str]:
    """`make redrive APP=internal-handoff STACK=<stack>`, pointed at the stack's target."""
    env = dict(os.environ)
    if stack.endpoint_url:
        env.update(
            AWS_ENDPOINT_URL=stack.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
        )
    env.setdefault("AWS_DEFAULT_REGION", stack.region)
    return subprocess.run(
        [sys.executable, str(_redrive_tool()), str(APP_DIR), "--stack-name", stack.name],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.timeout(1200)
def test_a_poison_job_is_retried_kept_for_replay_and_replayed_once_fixed(stack, ledger, account):
    """AWS: a failing async invocation is retried twice (MaximumRetryAttempts 2), then the
    on-failure destination gets the invocation record: requestContext (condition
    RetriesExhausted, approximateInvokeCount 3), the original requestPayload and the
    function's error as responsePayload. Replaying that payload once the cause is gone
    records the payment and empties the queue."""
    job = payment(account, amount="75.00")
    ledger.put_hold(account, HOLD_REASON)
    try:
        response = hand_off(stack, job)
        assert response["StatusCode"] == 202

        record = wait_for(
            lambda: _failure_record(stack, job["payment_id"]),
            timeout=failure_timeout(stack),
            interval=1.0,
            description="the poison job's record in the failure queue",
        )

        context = record["requestContext"]
        assert context["condition"] == "RetriesExhausted"
        assert context["approximateInvokeCount"] == 3
        assert context["requestId"] == response["ResponseMetadata"]["RequestId"]
        assert context["functionArn"].split(":")[6] == stack.output("PaymentRecorderFunctionName")
        assert record["requestPayload"] == job
        assert record["responseContext"]["functionError"] == "Unhandled"
        assert record["responsePayload"]["errorType"] == "AccountOnHold"
        assert HOLD_REASON in record["responsePayload"]["errorMessage"]
        assert ledger.entries(account) == ["HOLD"]
    finally:
        ledger.lift_hold(account)

    result = run_redrive(stack)

    assert result.returncode == 0, result.stdout + result.stderr
    replayed = re.search(r"replayed (\d+) message", result.stdout)
    assert replayed is not None, result.stdout
    assert int(replayed.group(1)) >= 1
    entry = recorded_entry(stack, ledger, job, "the replayed payment in the ledger")
    assert entry["reference"]["S"] == job["reference"]
    assert ledger.balance(account) == (Decimal("75.00"), 1)
    wait_for(
        lambda: _queue_is_empty(stack),
        timeout=effect_timeout(stack),
        description="the failure queue empty after the replay",
    )
