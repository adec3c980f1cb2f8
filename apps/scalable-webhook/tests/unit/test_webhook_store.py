"""The Data API adapter: the statements it sends, and how it waits for a resuming database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from webhook_consumer import store as store_module
from webhook_consumer.ingest import BatchTally, Webhook

CLUSTER = "arn:aws:rds:us-east-1:123456789012:cluster:webhooks"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"
WEBHOOK = Webhook(
    event_id="0b8e7c52-6f0e-5b7e-9d55-2f6b7c0f6a11",
    source="shop",
    received_at="2026-11-23T10:00:00.120Z",
    event_type="order.created",
    occurred_at=None,
    delivery_id="d-1",
    payload={"id": "d-1", "type": "order.created", "data": {"note": "caf\u00e9"}},
)


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "ExecuteStatement")


class FakeDataApi:
    """Records execute_statement calls; answers from a script of results or errors."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.script = list(script or [])

    def execute_statement(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        outcome = self.script.pop(0) if self.script else {"numberOfRecordsUpdated": 1}
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def make_store(client: FakeDataApi, sleeps: list[float] | None = None):
    return store_module.DataApiWebhookStore(
        client,
        CLUSTER,
        SECRET,
        "webhooks",
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
    )


def params(call: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p["value"] for p in call["parameters"]}


def test_every_statement_targets_the_cluster_with_the_secret():
    client = FakeDataApi()

    make_store(client).insert(WEBHOOK, "b-1")

    [call] = client.calls
    assert (call["resourceArn"], call["secretArn"], call["database"]) == (
        CLUSTER,
        SECRET,
        "webhooks",
    )


def test_insert_is_idempotent_sql_with_every_field_as_a_parameter():
    client = FakeDataApi()

    assert make_store(client).insert(WEBHOOK, "b-1") is True

    [call] = client.calls
    assert "ON CONFLICT (event_id) DO NOTHING" in call["sql"]
    assert params(call) == {
        "event_id": {"stringValue": WEBHOOK.event_id},
        "source": {"stringValue": "shop"},
        "delivery_id": {"stringValue": "d-1"},
        "event_type": {"stringValue": "order.created"},
        "occurred_at": {"isNull": True},
        "received_at": {"stringValue": "2026-11-23T10:00:00.120Z"},
        "payload": {"stringValue": WEBHOOK.payload_json()},
        "batch_id": {"stringValue": "b-1"},
    }
    # Every :name in the statement has a parameter, and nothing else looks like one.
    assert set(re.findall(r":(\w+)", call["sql"])) == set(params(call))


def test_insert_of_a_stored_event_id_reports_a_duplicate():
    client = FakeDataApi([{"numberOfRecordsUpdated": 0}])

    assert make_store(client).insert(WEBHOOK, "b-1") is False


def test_schema_is_migrated_once_per_store():
    client = FakeDataApi()
    store = make_store(client)

    store.ensure_schema()
    store.ensure_schema()

    assert [call["sql"] for call in client.calls] == [store_module.MIGRATION]


def test_migration_is_one_locked_statement_without_parameter_markers():
    sql = store_module.MIGRATION

    assert "pg_advisory_xact_lock" in sql
    assert sql.count("CREATE TABLE IF NOT EXISTS") == 2
    # The Data API reads ":name" as a parameter; the migration takes none.
    assert ":" not in sql


def test_a_failed_migration_is_tried_again_on_the_next_batch():
    client = FakeDataApi([error("BadRequestException")])
    store = make_store(client)

    with pytest.raises(ClientError):
        store.ensure_schema()
    store.ensure_schema()

    assert len(client.calls) == 2


def test_batch_ledger_records_start_and_outcome():
    client = FakeDataApi()
    store = make_store(client)

    store.begin_batch("b-1", "req-1", 10)
    store.finish_batch(
        "b-1", BatchTally(records=10, stored=7, duplicates=1, dead_lettered=1, failed=1)
    )

    begin, finish = client.calls
    assert "clock_timestamp()" in begin["sql"]
    assert params(begin) == {
        "batch_id": {"stringValue": "b-1"},
        "request_id": {"stringValue": "req-1"},
        "records": {"longValue": 10},
    }
    assert "clock_timestamp()" in finish["sql"]
    assert params(finish) == {
        "batch_id": {"stringValue": "b-1"},
        "stored": {"longValue": 7},
        "duplicates": {"longValue": 1},
        "dead_lettered": {"longValue": 1},
        "failed": {"longValue": 1},
    }


def test_a_resuming_database_is_waited_for_with_backoff():
    client = FakeDataApi(
        [error("DatabaseResumingException"), error("DatabaseResumingException"), {}]
    )
    sleeps: list[float] = []

    make_store(client, sleeps).execute("SELECT 1")

    assert len(client.calls) == 3
    assert sleeps == [1.0, 2.0]


def test_a_database_still_resuming_after_the_backoff_fails_the_call():
    client = FakeDataApi([error("DatabaseResumingException")] * 5)
    sleeps: list[float] = []

    with pytest.raises(ClientError) as raised:
        make_store(client, sleeps).execute("SELECT 1")

    assert raised.value.response["Error"]["Code"] == "DatabaseResumingException"
    assert sleeps == list(store_module.RESUME_BACKOFF)
    assert len(client.calls) == 5


def test_other_errors_are_not_retried():
    client = FakeDataApi([error("BadRequestException")])
    sleeps: list[float] = []

    with pytest.raises(ClientError):
        make_store(client, sleeps).execute("SELECT 1")

    assert sleeps == []
    assert len(client.calls) == 1
