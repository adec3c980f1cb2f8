"""The router as its callers and operators see it: send tickets, observe the tables and queues.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and a stack on AWS (``--target aws``). Every test registers a
customer of its own, uses ticket ids of its own, and deletes the items and failure records
it created.

The router is not retried by Lambda (MaximumRetryAttempts 0), so a failed routing reaches
its failure queue within seconds everywhere. A task is retried twice, one and then two
minutes apart on AWS (a second or two locally, ``LOCALCLOUD_ASYNC_RETRY_DELAYS_SECONDS``),
so the task failure test takes about four minutes on AWS.
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

# ticket type -> (its table's output, its failure queue's output)
TASKS = {
    "refund": ("RefundsTableName", "FailedRefundsQueueUrl"),
    "incident": ("IncidentsTableName", "FailedIncidentsQueueUrl"),
    "feedback": ("FeedbackTableName", "FailedFeedbackQueueUrl"),
}
DETAILS = {
    "refund": {"order_id": "ord-1", "amount": "49.90", "currency": "EUR", "reason": "damaged"},
    "incident": {"service": "checkout", "severity": 2, "summary": "payments time out"},
    "feedback": {"rating": 2, "comment": "slow delivery"},
}


def on_aws(stack: Stack) -> bool:
    return stack.endpoint_url is None


def effect_timeout(stack: Stack) -> float:
    """Two async hops and cold starts; on AWS a retried duplicate may wait a minute."""
    return 200.0 if on_aws(stack) else 30.0


def task_failure_timeout(stack: Stack) -> float:
    """First attempt + retries 1 and 2 minutes later on AWS (seconds locally), then delivery."""
    return 420.0 if on_aws(stack) else 60.0


class Desk:
    """The stack's tables and queues, read and written straight through the AWS APIs."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.dynamodb = stack.client("dynamodb")
        self.sqs = stack.client("sqs")
        self.created: list[tuple[str, dict[str, Any]]] = []

    def table(self, ticket_type: str) -> str:
        return self.stack.output(TASKS[ticket_type][0])

    def queue(self, ticket_type: str) -> str:
        return self.stack.output(TASKS[ticket_type][1])

    def register_customer(self, customer_id: str, tier: str, name: str = "Test Ltd") -> None:
        table = self.stack.output("CustomersTableName")
        key = {"customer_id": {"S": customer_id}}
        self.dynamodb.put_item(
            TableName=table, Item={**key, "name": {"S": name}, "tier": {"S": tier}}
        )
        self.created.append((table, key))

    def ticket(self, ticket_type: str, ticket_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table(ticket_type),
            Key={"ticket_id": {"S": ticket_id}},
            ConsistentRead=True,
        ).get("Item")
        return item

    def forget_ticket(self, ticket_id: str) -> None:
        for ticket_type in TASKS:
            for key in (ticket_id, f"drill#{ticket_id}"):
                self.created.append((self.table(ticket_type), {"ticket_id": {"S": key}}))

    def arm_fault_drill(self, ticket_type: str, ticket_id: str, failures: int) -> None:
        self.dynamodb.put_item(
            TableName=self.table(ticket_type),
            Item={"ticket_id": {"S": f"drill#{ticket_id}"}, "failures_left": {"N": str(failures)}},
        )

    def drill(self, ticket_type: str, ticket_id: str) -> dict[str, Any] | None:
        return self.ticket(ticket_type, f"drill#{ticket_id}")

    def clean_up(self) -> None:
        for table, key in self.created:
            self.dynamodb.delete_item(TableName=table, Key=key)

    def failure_record(self, queue_url: str, ticket_id: str) -> dict[str, Any] | None:
        """The queue's record of ``ticket_id``, deleted from the queue (the test's clean-up);
        any other message seen is made visible again at once."""
        messages = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
        ).get("Messages", [])
        found = None
        for message in messages:
            record = json.loads(message["Body"])
            payload = record.get("requestPayload")
            if isinstance(payload, dict) and payload.get("ticket_id") == ticket_id:
                found = record
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                self.sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return found

    def holds_record_of(self, queue_url: str, ticket_id: str) -> bool:
        """True when the queue holds a record of ``ticket_id`` (left in the queue)."""
        messages = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=5
        ).get("Messages", [])
        found = False
        for message in messages:
            payload = json.loads(message["Body"]).get("requestPayload")
            found = found or (isinstance(payload, dict) and payload.get("ticket_id") == ticket_id)
            self.sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return found


@pytest.fixture
def desk(stack: Stack) -> Iterator[Desk]:
    desk = Desk(stack)
    yield desk
    desk.clean_up()


@pytest.fixture
def customer(desk: Desk, unique_id: str) -> str:
    customer_id = f"cust-{unique_id}"
    desk.register_customer(customer_id, tier="business")
    return customer_id


def new_ticket(
    desk: Desk, ticket_type: str, customer_id: str, suffix: str = "1", **overrides: Any
) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "ticket_id": f"{customer_id}-t{suffix}",
        "type": ticket_type,
        "customer_id": customer_id,
        "submitted_at": "2026-11-23T10:00:00.000Z",
        "details": DETAILS.get(ticket_type, {"anything": True}),
    }
    ticket.update(overrides)
    desk.forget_ticket(ticket["ticket_id"])
    return ticket


def send(stack: Stack, ticket: Any) -> dict[str, Any]:
    """Invoke the router asynchronously, as another service does."""
    response: dict[str, Any] = stack.client("lambda").invoke(
        FunctionName=stack.output("TicketRouterFunctionName"),
        InvocationType="Event",
        Payload=json.dumps(ticket).encode(),
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    return response


def recorded(stack: Stack, desk: Desk, ticket_type: str, ticket_id: str) -> dict[str, Any]:
    item: dict[str, Any] = wait_for(
        lambda: desk.ticket(ticket_type, ticket_id),
        timeout=effect_timeout(stack),
        interval=0.3,
        description=f"ticket {ticket_id} in the {ticket_type} table",
    )
    return item


def routing_failure(stack: Stack, desk: Desk, ticket_id: str) -> dict[str, Any]:
    record: dict[str, Any] = wait_for(
        lambda: desk.failure_record(stack.output("FailedRoutingsQueueUrl"), ticket_id),
        timeout=effect_timeout(stack),
        interval=0.5,
        description=f"the router's failure record of {ticket_id}",
    )
    return record


def assert_in_no_table(desk: Desk, ticket_id: str) -> None:
    for ticket_type in TASKS:
        assert desk.ticket(ticket_type, ticket_id) is None, f"{ticket_id} in {ticket_type}"


@pytest.mark.parametrize("ticket_type", sorted(TASKS))
def test_each_ticket_ends_in_its_own_task_table_and_no_other(stack, desk, customer, ticket_type):
    ticket = new_ticket(desk, ticket_type, customer)

    response = send(stack, ticket)

    item = recorded(stack, desk, ticket_type, ticket["ticket_id"])
    assert item["type"]["S"] == ticket_type
    assert item["customer_id"]["S"] == customer
    # The router's enrichment travelled with the ticket, under the router's request id.
    assert item["customer_tier"]["S"] == "business"
    assert item["customer_name"]["S"] == "Test Ltd"
    assert item["router_request_id"]["S"] == response["ResponseMetadata"]["RequestId"]
    assert (
        item["priority"]["S"]
        == {"refund": "normal", "incident": "high", "feedback": "normal"}[ticket_type]
    )
    for other in set(TASKS) - {ticket_type}:
        assert desk.ticket(other, ticket["ticket_id"]) is None, f"also routed to {other}"


def test_the_task_adds_its_own_fields_and_enterprise_customers_get_priority(stack, desk, unique_id):
    customer_id = f"vip-{unique_id}"
    desk.register_customer(customer_id, tier="enterprise", name="Big Co")
    ticket = new_ticket(
        desk,
        "refund",
        customer_id,
        details={"order_id": "ord-9", "amount": "750", "currency": "USD", "reason": "late"},
    )

    send(stack, ticket)

    item = recorded(stack, desk, "refund", ticket["ticket_id"])
    assert item["priority"]["S"] == "urgent"  # large refund (high), one step up for enterprise
    assert item["status"]["S"] == "awaiting_approval"
    assert Decimal(item["amount"]["N"]) == Decimal("750.00")
    assert item["customer_name"]["S"] == "Big Co"


def test_an_unknown_type_is_not_dropped_it_lands_in_the_routers_failure_queue(
    stack, desk, customer
):
    ticket = new_ticket(desk, "warranty", customer)

    response = send(stack, ticket)

    record = routing_failure(stack, desk, ticket["ticket_id"])
    context = record["requestContext"]
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 1  # MaximumRetryAttempts 0
    assert context["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert context["functionArn"].split(":")[6] == stack.output("TicketRouterFunctionName")
    assert record["requestPayload"] == ticket
    assert record["responsePayload"]["errorType"] == "UnknownTicketType"
    assert "'warranty'" in record["responsePayload"]["errorMessage"]
    assert_in_no_table(desk, ticket["ticket_id"])


def test_an_invalid_ticket_lands_in_the_failure_queue_naming_the_field(stack, desk, customer):
    ticket = new_ticket(
        desk, "incident", customer, details={"service": "checkout", "severity": 9, "summary": "x"}
    )

    send(stack, ticket)

    record = routing_failure(stack, desk, ticket["ticket_id"])
    assert record["responsePayload"]["errorType"] == "InvalidTicket"
    assert "'details.severity'" in record["responsePayload"]["errorMessage"]
    assert_in_no_table(desk, ticket["ticket_id"])


def test_the_same_ticket_sent_twice_is_recorded_once(stack, desk, customer):
    """Senders retry, Lambda may deliver twice: the second routing reaches the task (it is
    counted on the item) and changes nothing else."""
    ticket = new_ticket(desk, "incident", customer)
    send(stack, ticket)
    first = recorded(stack, desk, "incident", ticket["ticket_id"])

    send(stack, ticket)

    def duplicate_counted() -> dict[str, Any] | None:
        item = desk.ticket("incident", ticket["ticket_id"]) or {}
        return item if item.get("duplicate_deliveries", {}).get("N") == "1" else None

    after = wait_for(
        duplicate_counted,
        timeout=effect_timeout(stack),
        description="the second delivery counted as a duplicate",
    )
    assert after["recorded_at"] == first["recorded_at"]
    assert after["request_id"] == first["request_id"]


def test_a_task_failing_once_is_retried_and_the_ticket_recorded(stack, desk, customer):
    ticket = new_ticket(desk, "feedback", customer)
    desk.arm_fault_drill("feedback", ticket["ticket_id"], failures=1)

    send(stack, ticket)

    # On AWS the retry comes a minute after the failed attempt.
    item = wait_for(
        lambda: desk.ticket("feedback", ticket["ticket_id"]),
        timeout=task_failure_timeout(stack),
        interval=0.5,
        description="the feedback ticket recorded by the retry",
    )
    drill = desk.drill("feedback", ticket["ticket_id"])
    assert drill is not None
    assert (drill["failures_left"]["N"], drill["tripped"]["N"]) == ("0", "1")
    assert item["sentiment"]["S"] == "negative"


@pytest.mark.timeout(900)
def test_a_task_failing_past_its_retries_lands_in_the_tasks_failure_queue(stack, desk, customer):
    """AWS: a failing async invocation is retried twice (MaximumRetryAttempts 2), then the
    task's on-failure destination gets the record: RetriesExhausted, 3 attempts, the routed
    ticket as requestPayload and the task's error."""
    ticket = new_ticket(desk, "refund", customer)
    desk.arm_fault_drill("refund", ticket["ticket_id"], failures=5)

    send(stack, ticket)

    record: dict[str, Any] = wait_for(
        lambda: desk.failure_record(desk.queue("refund"), ticket["ticket_id"]),
        timeout=task_failure_timeout(stack),
        interval=1.0,
        description="the refund ticket's record in the refunds failure queue",
    )
    context = record["requestContext"]
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 3
    assert context["functionArn"].split(":")[6] == stack.output("RefundsTaskFunctionName")
    assert record["responsePayload"]["errorType"] == "FaultDrill"
    payload = record["requestPayload"]
    assert {k: v for k, v in payload.items() if k != "routing"} == ticket
    assert payload["routing"]["route"] == "refund"
    assert payload["routing"]["customer_tier"] == "business"
    drill = desk.drill("refund", ticket["ticket_id"])
    assert drill is not None
    assert drill["tripped"]["N"] == "3"
    assert_in_no_table(desk, ticket["ticket_id"])
    # The router succeeded: nothing of this ticket in its failure queue.
    assert not desk.holds_record_of(stack.output("FailedRoutingsQueueUrl"), ticket["ticket_id"])

    # Once the cause is gone, the record's payload replays into the task as it is.
    desk.dynamodb.delete_item(
        TableName=desk.table("refund"), Key={"ticket_id": {"S": f"drill#{ticket['ticket_id']}"}}
    )
    replay = stack.client("lambda").invoke(
        FunctionName=stack.output("RefundsTaskFunctionName"),
        InvocationType="Event",
        Payload=json.dumps(payload).encode(),
    )
    assert replay["StatusCode"] == 202
    item = recorded(stack, desk, "refund", ticket["ticket_id"])
    assert item["router_request_id"]["S"] == payload["routing"]["router_request_id"]


def _redrive_tool() -> Path:
    for tool in REDRIVE_TOOLS:
        if tool.is_file():
            return tool
    raise AssertionError(f"the replay command is missing: looked for {REDRIVE_TOOLS}")


def run_redrive(stack: Stack) -> subprocess.CompletedProcess[str]:
    """`make redrive APP=router STACK=<stack>`, pointed at the stack's target."""
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


def test_a_ticket_of_an_unknown_customer_is_kept_and_routed_by_the_replay(stack, desk, unique_id):
    """The failure queue is a waiting room, not a bin: once the customer is registered,
    `make redrive APP=router` sends the original ticket through the router again."""
    customer_id = f"late-{unique_id}"
    ticket = new_ticket(desk, "incident", customer_id)
    queue_url = stack.output("FailedRoutingsQueueUrl")

    send(stack, ticket)

    wait_for(
        lambda: desk.holds_record_of(queue_url, ticket["ticket_id"]),
        timeout=effect_timeout(stack),
        interval=0.5,
        description="the unknown customer's ticket in the router's failure queue",
    )
    assert_in_no_table(desk, ticket["ticket_id"])
    desk.register_customer(customer_id, tier="enterprise")

    result = run_redrive(stack)

    assert result.returncode == 0, result.stdout + result.stderr
    replayed = re.search(r"replayed (\d+) message", result.stdout)
    assert replayed is not None, result.stdout
    assert int(replayed.group(1)) >= 1
    item = recorded(stack, desk, "incident", ticket["ticket_id"])
    assert item["customer_tier"]["S"] == "enterprise"
    assert item["priority"]["S"] == "urgent"  # severity 2 (high), one step up
    assert not desk.holds_record_of(queue_url, ticket["ticket_id"])
