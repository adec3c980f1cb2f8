"""The Lambda handler end to end, in process: SQS events in, partial batch responses out,
the DLQ played by moto and the database by the in-memory store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def batch_logs(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The ``usage batch done`` log records of the handler, with their extra keys."""
    return [vars(record) for record in caplog.records if record.getMessage() == "usage batch done"]


def test_a_batch_of_valid_records_is_stored_and_reports_no_failure(
    invoke, sqs_record, valid_body, store, dlq_messages
):
    records = [sqs_record({**valid_body, "record_id": f"r{n}", "quantity": n}) for n in (1, 2, 3)]

    response = invoke({"Records": records})

    assert response == {"batchItemFailures": []}
    assert store.totals == {("acme", "api-calls", "2026-11-22"): (6, 3)}
    assert dlq_messages() == []


def test_only_the_records_that_failed_are_reported(
    invoke, sqs_record, valid_body, store, dlq_messages
):
    store.fail_on.add("r2")
    records = [sqs_record({**valid_body, "record_id": f"r{n}"}) for n in (1, 2, 3)]

    response = invoke({"Records": records})

    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    assert set(store.ledger) == {("billing", "r1"), ("billing", "r3")}
    assert dlq_messages() == []


def test_an_invalid_record_goes_to_the_dlq_and_is_not_retried(
    invoke, sqs_record, valid_body, store, dlq_messages
):
    bad = sqs_record({**valid_body, "record_id": "r2", "quantity": "lots"}, receive_count=1)
    records = [sqs_record({**valid_body, "record_id": "r1"}), bad]

    response = invoke({"Records": records})

    # Retrying cannot fix it: it is deleted from the queue, the DLQ keeps it with the reason.
    assert response == {"batchItemFailures": []}
    assert set(store.ledger) == {("billing", "r1")}
    (parked,) = dlq_messages()
    envelope = json.loads(parked["Body"])
    assert envelope["error"]["message"] == "field 'quantity' must be an integer"
    assert envelope["payload"] == bad["body"]
    assert envelope["source"] == bad["eventSourceARN"]
    assert parked["MessageAttributes"]["producer"]["StringValue"] == "billing"


def test_a_duplicate_delivery_changes_no_total(invoke, sqs_record, valid_body, store):
    invoke({"Records": [sqs_record(valid_body)]})

    response = invoke({"Records": [sqs_record(valid_body)]})

    assert response == {"batchItemFailures": []}
    assert store.totals == {("acme", "api-calls", "2026-11-22"): (3, 1)}
    assert store.duplicates == {("billing", "rec-0001"): 1}


def test_when_every_record_fails_the_whole_batch_fails(
    invoke, sqs_record, valid_body, store, caplog
):
    store.fail_on.update({"r1", "r2"})
    records = [sqs_record({**valid_body, "record_id": f"r{n}"}) for n in (1, 2)]

    with pytest.raises(Exception, match="All records failed"):
        invoke({"Records": records})

    (summary,) = batch_logs(caplog)
    assert (summary["received"], summary["failed"], summary["stored"]) == (2, 2, 0)


def test_every_invocation_logs_its_interval_and_outcomes(
    invoke, sqs_record, valid_body, store, caplog
):
    store.fail_on.add("r3")
    records = [
        sqs_record({**valid_body, "record_id": "r1"}),
        sqs_record({**valid_body, "record_id": "r1"}),
        sqs_record({**valid_body, "record_id": "r2", "meter": "Bad Meter"}),
        sqs_record({**valid_body, "record_id": "r3"}),
    ]

    invoke({"Records": records})

    (summary,) = batch_logs(caplog)
    assert summary["batch_started_at"] <= summary["batch_finished_at"]
    assert {key: summary[key] for key in ("received", "stored", "duplicate", "rejected")} == {
        "received": 4,
        "stored": 1,
        "duplicate": 1,
        "rejected": 1,
    }
    assert summary["failed"] == 1


def test_the_sample_events_are_consumed(invoke, store, dlq_messages):
    """The files in events/ are what `sam remote invoke` sends: keep them valid."""
    valid = json.loads((EVENTS_DIR / "usage_records.json").read_text())
    invalid = json.loads((EVENTS_DIR / "invalid_usage_record.json").read_text())

    assert invoke(valid) == {"batchItemFailures": []}
    assert invoke(invalid) == {"batchItemFailures": []}

    assert len(store.ledger) == len(valid["Records"])
    assert len(dlq_messages()) == len(invalid["Records"])
