"""The AWS adapters: the Data API store against a recording fake client (moto's RDS Data
API runs no SQL; the SQL itself runs on PostgreSQL in the integration tests), and the DLQ
on moto's SQS, including a redrive with the common layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from common_layer.failures import ENVELOPE_KIND, redrive
from usage_consumer import adapters
from usage_consumer.usage import InvalidUsageRecord, UsageRecord

RECORD = UsageRecord(
    producer="billing",
    record_id="rec-0001",
    customer_id="acme",
    meter="api-calls",
    quantity=3,
    occurred_at=datetime(2026, 11, 23, 10, 15, tzinfo=UTC),
)
TARGET = {
    "resourceArn": "arn:aws:rds:us-east-1:123456789012:cluster:usage",
    "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:usage",
    "database": "usage",
}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "ExecuteStatement")


class RecordingDataApi:
    """Answers ExecuteStatement from a script and keeps every call."""

    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def execute_statement(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        answer = self.answers.pop(0) if self.answers else {"numberOfRecordsUpdated": 1}
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def make_store(
    client: RecordingDataApi, time: FakeTime | None = None
) -> adapters.DataApiUsageStore:
    time = time or FakeTime()
    return adapters.DataApiUsageStore(
        client,
        cluster_arn=TARGET["resourceArn"],
        secret_arn=TARGET["secretArn"],
        database=TARGET["database"],
        resume_wait_seconds=20,
        sleep=time.sleep,
        monotonic=time.monotonic,
    )


def parameters(call: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: next(iter(p["value"].values())) for p in call["parameters"]}


def test_first_add_creates_the_schema_then_inserts_with_typed_parameters():
    client = RecordingDataApi({}, {"numberOfRecordsUpdated": 1})

    added = make_store(client).add(RECORD, "sqs-message-1")

    assert added is True
    schema, insert = client.calls
    assert schema == {**TARGET, "sql": adapters.SCHEMA_SQL, "parameters": []}
    assert insert["sql"] == adapters.ADD_RECORD_SQL
    assert {key: insert[key] for key in TARGET} == TARGET
    assert parameters(insert) == {
        "producer": "billing",
        "record_id": "rec-0001",
        "customer_id": "acme",
        "meter": "api-calls",
        "usage_date": "2026-11-23",
        "quantity": 3,
        "occurred_at": "2026-11-23T10:15:00+00:00",
        "message_id": "sqs-message-1",
    }
    # Numbers travel as longValue, everything else as stringValue.
    assert {"name": "quantity", "value": {"longValue": 3}} in insert["parameters"]


def test_the_schema_is_created_once_per_store():
    client = RecordingDataApi()
    store = make_store(client)

    store.add(RECORD, "m1")
    store.add(RECORD, "m2")

    assert [call["sql"] for call in client.calls].count(adapters.SCHEMA_SQL) == 1


def test_a_record_already_in_the_ledger_counts_a_duplicate_and_returns_false():
    client = RecordingDataApi({}, {"numberOfRecordsUpdated": 0}, {"numberOfRecordsUpdated": 1})

    added = make_store(client).add(RECORD, "sqs-message-2")

    assert added is False
    duplicate = client.calls[-1]
    assert duplicate["sql"] == adapters.COUNT_DUPLICATE_SQL
    assert parameters(duplicate) == {"producer": "billing", "record_id": "rec-0001"}


def test_a_resuming_database_is_waited_for_with_backoff():
    resuming = client_error(adapters.RESUMING_ERROR)
    client = RecordingDataApi(resuming, resuming, resuming, {}, {"numberOfRecordsUpdated": 1})
    time = FakeTime()

    assert make_store(client, time).add(RECORD, "m1") is True

    assert time.sleeps == [1.0, 2.0, 4.0]


def test_the_wait_for_a_resume_has_a_deadline():
    client = RecordingDataApi(*[client_error(adapters.RESUMING_ERROR)] * 50)
    time = FakeTime()

    with pytest.raises(ClientError, match=adapters.RESUMING_ERROR):
        make_store(client, time).add(RECORD, "m1")

    # resume_wait_seconds=20: 1 + 2 + 4 + 5 + 5 = 17, and another 5 would pass the deadline.
    assert time.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_other_errors_are_not_retried():
    client = RecordingDataApi(client_error("BadRequestException"))
    time = FakeTime()

    with pytest.raises(ClientError, match="BadRequestException"):
        make_store(client, time).add(RECORD, "m1")

    assert time.sleeps == []
    assert len(client.calls) == 1


def test_a_failed_schema_creation_is_tried_again_on_the_next_add():
    client = RecordingDataApi(client_error("StatementTimeoutException"))
    store = make_store(client)

    with pytest.raises(ClientError):
        store.add(RECORD, "m1")
    assert store.add(RECORD, "m1") is True

    assert [call["sql"] for call in client.calls] == [
        adapters.SCHEMA_SQL,
        adapters.SCHEMA_SQL,
        adapters.ADD_RECORD_SQL,
    ]


# --- the DLQ on moto's SQS ---------------------------------------------------------------


def test_park_sends_the_envelope_with_reason_and_keeps_the_attributes(
    sqs, dlq_url, dlq_messages, message_of, string_attribute, binary_attribute
):
    attributes = {"producer": string_attribute("billing"), "trace": binary_attribute(b"\x01\x02")}
    message = message_of('{"quantity": 1}', attributes=attributes, receive_count=2)
    reason = InvalidUsageRecord("missing required field 'record_id'", "record_id")

    adapters.SqsDeadLetterQueue(sqs, dlq_url).park(message, reason)

    (parked,) = dlq_messages()
    envelope = json.loads(parked["Body"])
    assert envelope["kind"] == ENVELOPE_KIND
    assert envelope["error"] == {
        "type": "InvalidUsageRecord",
        "message": "missing required field 'record_id'",
    }
    assert envelope["payload"] == '{"quantity": 1}'
    assert envelope["attempt"] == 2
    assert envelope["source"] == message.source
    assert parked["MessageAttributes"]["producer"] == {
        "StringValue": "billing",
        "DataType": "String",
    }
    assert parked["MessageAttributes"]["trace"]["BinaryValue"] == b"\x01\x02"


def test_a_redrive_replays_the_message_as_the_producer_sent_it(
    sqs, dlq_url, message_of, string_attribute
):
    source_url = sqs.create_queue(QueueName="frugal-consumer-unit-source")["QueueUrl"]
    message = message_of('{"not": "a record"}', attributes={"producer": string_attribute("ops")})
    adapters.SqsDeadLetterQueue(sqs, dlq_url).park(message, InvalidUsageRecord("broken"))

    assert redrive(sqs, dlq_url, source_url, wait_seconds=0) == 1

    (replayed,) = sqs.receive_message(QueueUrl=source_url, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert replayed["Body"] == '{"not": "a record"}'
    assert replayed["MessageAttributes"]["producer"]["StringValue"] == "ops"


def test_park_without_attributes_sends_the_envelope(sqs, dlq_url, dlq_messages, message_of):
    adapters.SqsDeadLetterQueue(sqs, dlq_url).park(
        message_of("{}", attributes={}), InvalidUsageRecord("no producer", "producer")
    )

    (parked,) = dlq_messages()
    assert json.loads(parked["Body"])["error"]["message"] == "no producer"
    assert "MessageAttributes" not in parked
