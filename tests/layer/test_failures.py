"""common_layer.failures: partial batches, async failure records, DLQ envelope and redrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from common_layer.failures import (
    ENVELOPE_KIND,
    AsyncFailureRecord,
    InvalidFailureRecord,
    RedriveError,
    dlq_envelope,
    parse_async_failure,
    process_sqs_batch,
    redrive,
    send_to_dlq,
    unwrap_envelope,
)
from common_layer.observability import logger
from layer_helpers import sqs_event, sqs_record
from moto import mock_aws

# --- partial batch responses ---------------------------------------------------------------


def test_a_failing_message_is_the_only_one_reported(lambda_context):
    records = [sqs_record(json.dumps({"n": n}), message_id=f"m{n}") for n in range(4)]
    handled: list[int] = []

    def handle(record: Any) -> None:
        n = json.loads(record.body)["n"]
        if n == 2:
            raise ValueError("poison")
        handled.append(n)

    response = process_sqs_batch(sqs_event(*records), lambda_context, handle)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert handled == [0, 1, 3]


def test_a_batch_without_failures_reports_none(lambda_context):
    event = sqs_event(sqs_record("{}"), sqs_record("{}"))
    assert process_sqs_batch(event, lambda_context, lambda record: None) == {
        "batchItemFailures": []
    }


def test_when_every_message_fails_the_whole_batch_fails(lambda_context):
    def handle(record: Any) -> None:
        raise RuntimeError("database down")

    with pytest.raises(BatchProcessingError):
        process_sqs_batch(sqs_event(sqs_record("{}"), sqs_record("{}")), lambda_context, handle)


def test_fifo_stops_at_the_first_failure_and_reports_it_and_every_later_message(lambda_context):
    records = [sqs_record(str(n), message_id=f"m{n}", group_id="g") for n in range(5)]
    handled: list[str] = []

    def handle(record: Any) -> None:
        handled.append(record.body)
        if record.body == "1":
            raise ValueError("out of stock")

    response = process_sqs_batch(sqs_event(*records), lambda_context, handle, fifo=True)

    assert handled == ["0", "1"]
    assert response == {"batchItemFailures": [{"itemIdentifier": f"m{n}"} for n in (1, 2, 3, 4)]}


def test_fifo_can_keep_processing_the_other_groups(lambda_context):
    records = [
        sqs_record("a1", message_id="a1", group_id="a"),
        sqs_record("b1", message_id="b1", group_id="b"),
        sqs_record("a2", message_id="a2", group_id="a"),
        sqs_record("b2", message_id="b2", group_id="b"),
    ]
    handled: list[str] = []

    def handle(record: Any) -> None:
        handled.append(record.body)
        if record.body == "a1":
            raise ValueError("bad")

    response = process_sqs_batch(
        sqs_event(*records), lambda_context, handle, fifo=True, skip_group_on_error=True
    )

    assert handled == ["a1", "b1", "b2"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "a1"}, {"itemIdentifier": "a2"}]}


def test_each_message_is_the_correlation_id_while_it_is_handled(lambda_context):
    seen: list[str | None] = []
    logger.set_correlation_id("outer")
    try:
        process_sqs_batch(
            sqs_event(sqs_record("{}", message_id="m1"), sqs_record("{}", message_id="m2")),
            lambda_context,
            lambda record: seen.append(logger.get_correlation_id()),
        )
        assert seen == ["m1", "m2"]
        assert logger.get_correlation_id() == "outer"
    finally:
        logger.set_correlation_id(None)


# --- async invocation failure records -------------------------------------------------------

# The shape Lambda sends to an on-failure destination (AWS Lambda developer guide).
FAILURE_RECORD = {
    "version": "1.0",
    "timestamp": "2026-11-14T18:16:05.568Z",
    "requestContext": {
        "requestId": "e4b46cbf-b738-4d22-8880-a18cdf61200e",
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:handoff-worker:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    },
    "requestPayload": {"order_id": "o-77", "amount": 12.5},
    "responseContext": {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    },
    "responsePayload": {
        "errorMessage": "payment service unavailable",
        "errorType": "ConnectionError",
        "requestId": "e4b46cbf-b738-4d22-8880-a18cdf61200e",
        "stackTrace": ['  File "/var/task/worker/handler.py", line 12, in lambda_handler\n'],
    },
}


def test_an_async_failure_record_is_parsed():
    record = parse_async_failure(FAILURE_RECORD)

    assert record == AsyncFailureRecord(
        version="1.0",
        timestamp="2026-11-14T18:16:05.568Z",
        request_id="e4b46cbf-b738-4d22-8880-a18cdf61200e",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:handoff-worker:$LATEST",
        condition="RetriesExhausted",
        approximate_invoke_count=3,
        request_payload={"order_id": "o-77", "amount": 12.5},
        status_code=200,
        executed_version="$LATEST",
        function_error="Unhandled",
        response_payload=FAILURE_RECORD["responsePayload"],
    )
    assert record.function_name == "handoff-worker"
    assert record.error_type == "ConnectionError"
    assert record.error_message == "payment service unavailable"
    assert record.failed_at == datetime(2026, 11, 14, 18, 16, 5, 568000, tzinfo=UTC)


def test_an_sqs_destination_body_is_parsed_from_its_json_text():
    body = json.dumps(FAILURE_RECORD)
    assert parse_async_failure(body) == parse_async_failure(FAILURE_RECORD)
    assert parse_async_failure(body.encode()).request_payload == {
        "order_id": "o-77",
        "amount": 12.5,
    }


def test_an_expired_event_has_no_response():
    expired = {
        key: value
        for key, value in FAILURE_RECORD.items()
        if key not in {"responseContext", "responsePayload"}
    }
    expired["requestContext"] = {
        **FAILURE_RECORD["requestContext"],
        "condition": "EventAgeExceeded",
        "approximateInvokeCount": 0,
    }

    record = parse_async_failure(expired)

    assert record.condition == "EventAgeExceeded"
    assert record.approximate_invoke_count == 0
    assert (record.status_code, record.function_error, record.response_payload) == (None,) * 3
    assert record.error_message is None


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({k: v for k, v in FAILURE_RECORD.items() if k != "requestContext"}, "no 'requestContext'"),
        (
            {**FAILURE_RECORD, "requestContext": {"requestId": "r", "condition": "X"}},
            "no 'requestContext.functionArn'",
        ),
        ({k: v for k, v in FAILURE_RECORD.items() if k != "timestamp"}, "no 'timestamp'"),
        ("{not json", "not valid JSON"),
        ("[1]", "must be a JSON object"),
    ],
)
def test_a_broken_record_is_rejected_naming_the_problem(broken, message):
    with pytest.raises(InvalidFailureRecord, match=message):
        parse_async_failure(broken)


# --- DLQ envelope ---------------------------------------------------------------------------


def test_the_envelope_holds_the_error_the_attempt_the_source_and_the_payload():
    before = datetime.now(UTC)
    envelope = dlq_envelope(
        {"order_id": "o-1"}, ValueError("quantity must be positive"), 3, "arn:aws:sqs:::orders"
    )

    assert envelope["kind"] == ENVELOPE_KIND
    assert envelope["error"] == {"type": "ValueError", "message": "quantity must be positive"}
    assert envelope["attempt"] == 3
    assert envelope["source"] == "arn:aws:sqs:::orders"
    assert envelope["payload"] == {"order_id": "o-1"}
    assert envelope["failed_at"].endswith("Z")
    failed_at = datetime.fromisoformat(envelope["failed_at"].replace("Z", "+00:00"))
    assert before.replace(microsecond=0) <= failed_at <= datetime.now(UTC)
    json.dumps(envelope)  # it is a message body


def test_the_error_may_be_a_description():
    envelope = dlq_envelope("raw text", "timed out after 3 attempts", 3)
    assert envelope["error"] == {"type": None, "message": "timed out after 3 attempts"}
    assert envelope["source"] is None


def test_unwrapping_gives_back_the_original_body():
    assert unwrap_envelope(json.dumps(dlq_envelope({"a": 1}, "e", 1))) == '{"a": 1}'
    assert unwrap_envelope(json.dumps(dlq_envelope("plain text", "e", 1))) == "plain text"
    assert unwrap_envelope('{"kind": "something else", "payload": 1}') == (
        '{"kind": "something else", "payload": 1}'
    )
    assert unwrap_envelope("not json at all") == "not json at all"


# --- send_to_dlq and redrive against moto ---------------------------------------------------


@pytest.fixture
def sqs(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def make_queues(sqs: Any, fifo: bool) -> tuple[str, str]:
    suffix = ".fifo" if fifo else ""
    attributes = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"orders-dlq{suffix}", Attributes=attributes)["QueueUrl"]
    source = sqs.create_queue(QueueName=f"orders{suffix}", Attributes=attributes)["QueueUrl"]
    return source, dlq


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message of a queue, received and deleted, in the order SQS returns them."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch


def test_send_to_dlq_sends_the_envelope(sqs):
    source, dlq = make_queues(sqs, fifo=False)
    message_id = send_to_dlq(sqs, dlq, {"order_id": "o-1"}, KeyError("sku"), 2, source)

    (message,) = drain(sqs, dlq)
    assert message["MessageId"] == message_id
    body = json.loads(message["Body"])
    assert body["error"] == {"type": "KeyError", "message": "'sku'"}
    assert (body["attempt"], body["source"], body["payload"]) == (2, source, {"order_id": "o-1"})


def test_a_fifo_dlq_needs_a_message_group(sqs):
    _, dlq = make_queues(sqs, fifo=True)
    with pytest.raises(ValueError, match="pass message_group_id"):
        send_to_dlq(sqs, dlq, {}, "e", 1)


def test_redrive_moves_every_message_back_unwrapping_envelopes(sqs):
    source, dlq = make_queues(sqs, fifo=False)
    for n in range(12):  # more than one receive batch
        send_to_dlq(sqs, dlq, {"order_id": f"o-{n}"}, ValueError("boom"), 3, source)
    send_to_dlq(sqs, dlq, "plain text payload", "failed", 1, source)
    # A message SQS itself moved to the DLQ (redrive policy) is not an envelope.
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody="raw body",
        MessageAttributes={"tenant": {"DataType": "String", "StringValue": "acme"}},
    )

    moved = redrive(sqs, dlq, source, wait_seconds=0)

    assert moved == 14
    assert drain(sqs, dlq) == []
    messages = drain(sqs, source)
    bodies = sorted(message["Body"] for message in messages)
    expected = [json.dumps({"order_id": f"o-{n}"}) for n in range(12)]
    assert bodies == sorted([*expected, "plain text payload", "raw body"])
    (raw,) = [message for message in messages if message["Body"] == "raw body"]
    assert raw["MessageAttributes"]["tenant"]["StringValue"] == "acme"


def test_redrive_keeps_fifo_groups_and_their_order(sqs):
    source, dlq = make_queues(sqs, fifo=True)
    sent = [("g1", 1), ("g2", 1), ("g1", 2), ("g1", 3), ("g2", 2)]
    for group, n in sent:
        send_to_dlq(sqs, dlq, {"group": group, "n": n}, "e", 1, message_group_id=group)

    assert redrive(sqs, dlq, source, wait_seconds=0) == 5

    assert drain(sqs, dlq) == []
    received = drain(sqs, source)
    by_group: dict[str, list[int]] = {}
    for message in received:
        body = json.loads(message["Body"])
        assert message["Attributes"]["MessageGroupId"] == body["group"]
        by_group.setdefault(body["group"], []).append(body["n"])
    assert by_group == {"g1": [1, 2, 3], "g2": [1, 2]}


def test_redriving_the_same_message_twice_is_not_swallowed_by_deduplication(sqs):
    """The second redrive of a message that failed again must reach the source again."""
    source, dlq = make_queues(sqs, fifo=True)
    send_to_dlq(sqs, dlq, {"n": 1}, "e", 1, message_group_id="g")
    assert redrive(sqs, dlq, source, wait_seconds=0) == 1
    (first,) = drain(sqs, source)
    send_to_dlq(sqs, dlq, {"n": 1}, "e", 2, message_group_id="g")  # it failed again

    assert redrive(sqs, dlq, source, wait_seconds=0) == 1
    (second,) = drain(sqs, source)
    assert first["Body"] == second["Body"] == '{"n": 1}'


def test_redrive_stops_after_max_messages(sqs):
    source, dlq = make_queues(sqs, fifo=False)
    for n in range(5):
        send_to_dlq(sqs, dlq, {"n": n}, "e", 1)

    assert redrive(sqs, dlq, source, max_messages=2, wait_seconds=0) == 2
    assert len(drain(sqs, source)) == 2
    assert len(drain(sqs, dlq)) == 3


class FlakySqs:
    """An SQS port whose batch send fails for one entry: what is not sent must stay put."""

    def __init__(self, bodies: list[str]) -> None:
        self.queue = [
            {"MessageId": f"id-{n}", "ReceiptHandle": f"rh-{n}", "Body": body}
            for n, body in enumerate(bodies)
        ]
        self.sent: list[str] = []
        self.deleted: list[str] = []

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        batch, self.queue = self.queue[: kwargs["MaxNumberOfMessages"]], []
        return {"Messages": batch}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ok = [e for e in Entries if e["MessageBody"] != "poison"]
        self.sent += [e["MessageBody"] for e in ok]
        failed = [
            {"Id": e["Id"], "Code": "InternalError", "Message": "try again", "SenderFault": False}
            for e in Entries
            if e["MessageBody"] == "poison"
        ]
        return {"Successful": [{"Id": e["Id"]} for e in ok], "Failed": failed}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.deleted += [e["ReceiptHandle"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def test_a_message_that_cannot_be_sent_is_not_deleted():
    port = FlakySqs(["a", "poison", "b"])

    with pytest.raises(RedriveError) as caught:
        redrive(port, "dlq", "source", wait_seconds=0)  # type: ignore[arg-type]

    assert caught.value.moved == 2
    assert "not sent (InternalError): try again" in str(caught.value)
    assert port.sent == ["a", "b"]
    assert port.deleted == ["rh-0", "rh-2"]
