"""The consumer's rules and batch handling, with an in-memory database and DLQ."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from webhook_consumer import ingest

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def consume(event, context, store, dead_letters, batch_id="b-1"):
    return ingest.consume_batch(
        event,
        context,
        store=store,
        dead_letters=dead_letters,
        clock=lambda: NOW,
        new_batch_id=lambda: batch_id,
    )


def webhook_of(make_message, **webhook):
    return make_message(webhook={"type": "order.created", "data": {}, **webhook})


# --- parse_message ---------------------------------------------------------------------------


def test_parse_message_reads_what_the_receiver_queued(make_message):
    event_id, body = make_message(
        source="billing",
        webhook={
            "id": "d-1",
            "type": "invoice.paid",
            "occurred_at": "2026-11-23T09:00:00Z",
            "data": {"amount": 3},
        },
    )

    webhook = ingest.parse_message(body, event_id)

    assert webhook.event_id == event_id
    assert webhook.source == "billing"
    assert webhook.event_type == "invoice.paid"
    assert webhook.delivery_id == "d-1"
    assert webhook.occurred_at == "2026-11-23T09:00:00Z"
    assert json.loads(webhook.payload_json())["data"] == {"amount": 3}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        (json.dumps({"source": "shop"}), "event_id"),
        (
            json.dumps(
                {
                    "event_id": "x",
                    "source": "s",
                    "received_at": "2026-11-23T10:00:00Z",
                    "webhook": {"type": "a", "data": {}},
                }
            ),
            "event_id",
        ),
        (
            json.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "source": "s",
                    "received_at": "2026-11-23T10:00:00Z",
                    "webhook": {"type": "a"},
                }
            ),
            "webhook.data",
        ),
    ],
)
def test_messages_the_receiver_did_not_write_are_unprocessable(body, words):
    with pytest.raises(ingest.Unprocessable) as raised:
        ingest.parse_message(body)

    assert words in str(raised.value)


def test_event_id_attribute_must_match_the_body(make_message):
    _, body = make_message()

    with pytest.raises(ingest.Unprocessable, match="does not match"):
        ingest.parse_message(body, str(uuid.uuid4()))


# --- check_rules -----------------------------------------------------------------------------


def test_an_event_from_the_past_or_within_the_clock_skew_passes(make_message):
    for occurred in (NOW - timedelta(days=400), NOW + timedelta(minutes=4, seconds=59)):
        _, body = webhook_of(make_message, occurred_at=occurred.isoformat())
        ingest.check_rules(ingest.parse_message(body), NOW)


def test_an_event_from_the_future_breaks_a_rule(make_message):
    _, body = webhook_of(make_message, occurred_at="2026-11-23T10:05:01Z")

    with pytest.raises(ingest.Unprocessable) as raised:
        ingest.check_rules(ingest.parse_message(body), NOW)

    assert "'occurred_at'" in str(raised.value)
    assert "future" in str(raised.value)


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ({"note": "a\u0000b"}, "data.note", "U+0000"),
        ({"items": ["ok", "\ud83d"]}, "data.items[1]", "unpaired surrogate"),
        ({"deep": {"list": [{"x": "\udc00 tail"}]}}, "data.deep.list[0].x", "unpaired surrogate"),
        ({"bad\u0000key": 1}, "data.bad\\x00key", "a name with the character U+0000"),
    ],
)
def test_text_postgresql_cannot_store_breaks_a_rule_naming_the_field(
    make_message, data, field, problem
):
    _, body = webhook_of(make_message, data=data)

    with pytest.raises(ingest.Unprocessable) as raised:
        ingest.check_rules(ingest.parse_message(body), NOW)

    assert f"field '{field}'" in str(raised.value)
    assert problem in str(raised.value)
    # The reason is plain text: it travels in a DLQ envelope and in logs.
    assert "\x00" not in str(raised.value)


def test_paired_surrogates_are_just_an_emoji(make_message):
    _, body = webhook_of(make_message, data={"note": "\U0001f600"})
    assert "\\ud83d\\ude00" in body

    ingest.check_rules(ingest.parse_message(body), NOW)


# --- consume_batch ---------------------------------------------------------------------------


def test_batch_stores_every_message_and_reports_no_failure(
    make_message, make_record, lambda_context, store, dead_letters
):
    messages = [make_message() for _ in range(3)]
    event = {"Records": [make_record(body, event_id=eid) for eid, body in messages]}

    result = consume(event, lambda_context, store, dead_letters)

    assert result.response == {"batchItemFailures": []}
    assert set(store.rows) == {eid for eid, _ in messages}
    assert {batch for _, batch in store.rows.values()} == {"b-1"}
    assert result.tally == ingest.BatchTally(records=3, stored=3)
    assert dead_letters.parked == []


def test_redelivered_messages_are_stored_once(
    make_message, make_record, lambda_context, store, dead_letters
):
    event_id, body = make_message()
    event = {"Records": [make_record(body, event_id=event_id) for _ in range(2)]}

    first = consume(event, lambda_context, store, dead_letters, batch_id="b-1")
    again = consume(event, lambda_context, store, dead_letters, batch_id="b-2")

    assert list(store.rows) == [event_id]
    assert store.rows[event_id][1] == "b-1"
    assert (first.tally.stored, first.tally.duplicates) == (1, 1)
    assert (again.tally.stored, again.tally.duplicates) == (0, 2)
    assert again.response == {"batchItemFailures": []}


def test_poison_goes_to_the_dlq_with_the_reason_and_is_not_retried(
    make_message, make_record, lambda_context, store, dead_letters
):
    good_id, good = make_message()
    poison_id, poison = webhook_of(make_message, occurred_at="2999-01-01T00:00:00Z")
    records = [
        make_record(good, event_id=good_id),
        make_record(poison, event_id=poison_id, receive_count=2),
        make_record("garbage"),
    ]

    result = consume({"Records": records}, lambda_context, store, dead_letters)

    assert result.response == {"batchItemFailures": []}
    assert list(store.rows) == [good_id]
    assert [parked.body for parked in dead_letters.parked] == [poison, "garbage"]
    assert "'occurred_at'" in dead_letters.parked[0].reason
    assert dead_letters.parked[0].attempt == 2
    assert dead_letters.parked[0].source == records[1]["eventSourceARN"]
    assert "not JSON" in dead_letters.parked[1].reason
    assert result.tally == ingest.BatchTally(records=3, stored=1, dead_lettered=2)


def test_a_failing_insert_reports_only_that_message(
    make_message, make_record, lambda_context, store, dead_letters
):
    messages = [make_message() for _ in range(3)]
    records = [make_record(body, event_id=eid) for eid, body in messages]
    store.fail_insert_for = {messages[1][0]}

    result = consume({"Records": records}, lambda_context, store, dead_letters)

    assert result.response == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    assert set(store.rows) == {messages[0][0], messages[2][0]}
    assert dead_letters.parked == []
    assert store.batches["b-1"]["tally"] == ingest.BatchTally(records=3, stored=2, failed=1)


def test_a_batch_where_everything_fails_raises_so_all_is_retried(
    make_message, make_record, lambda_context, store, dead_letters
):
    messages = [make_message() for _ in range(2)]
    store.fail_insert_for = {eid for eid, _ in messages}

    with pytest.raises(Exception, match="All records failed"):
        consume(
            {"Records": [make_record(body, event_id=eid) for eid, body in messages]},
            lambda_context,
            store,
            dead_letters,
        )

    # The ledger still records how the batch ended.
    assert store.batches["b-1"]["tally"].failed == 2


def test_batch_is_recorded_in_the_ledger_and_schema_ensured_first(
    make_message, make_record, lambda_context, store, dead_letters
):
    event_id, body = make_message()

    consume(
        {"Records": [make_record(body, event_id=event_id)]}, lambda_context, store, dead_letters
    )

    assert store.migrations == 1
    assert store.batches == {
        "b-1": {
            "request_id": lambda_context.aws_request_id,
            "records": 1,
            "tally": ingest.BatchTally(records=1, stored=1),
        }
    }


def test_a_ledger_that_cannot_be_finished_does_not_replay_the_batch(
    make_message, make_record, lambda_context, store, dead_letters
):
    event_id, body = make_message()
    store.fail_finish = True

    result = consume(
        {"Records": [make_record(body, event_id=event_id)]}, lambda_context, store, dead_letters
    )

    assert result.response == {"batchItemFailures": []}
    assert list(store.rows) == [event_id]


def test_an_empty_event_touches_nothing(lambda_context, store, dead_letters):
    result = consume({"Records": []}, lambda_context, store, dead_letters)

    assert result.response == {"batchItemFailures": []}
    assert store.migrations == 0
    assert store.batches == {}
