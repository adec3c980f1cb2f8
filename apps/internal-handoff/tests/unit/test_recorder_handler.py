"""The recorder's handler in process, DynamoDB played by moto: every delivery of a job has
one effect, and every failure is raised so Lambda retries it and then keeps its record."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from payment_recorder.payments import AccountOnHold, InvalidPayment, PaymentConflict

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def _balance(tables, account_id: str = "acct-42", currency: str = "EUR") -> tuple[Decimal, int]:
    item = tables.ledger_item(account_id, f"BALANCE#{currency}")
    if item is None:
        return Decimal(0), 0
    return Decimal(item["balance"]["N"]), int(item["payments"]["N"])


def _duplicates(tables, job: dict) -> int:
    entry = tables.ledger_item(job["account_id"], f"PAYMENT#{job['payment_id']}")
    assert entry is not None, "no entry for the payment"
    return int(entry.get("duplicate_deliveries", {"N": "0"})["N"])


def test_a_job_is_recorded_and_its_receipt_returned(recorder, tables, make_job, new_context):
    job = make_job(amount="25.00")
    context = new_context()

    receipt = recorder.lambda_handler(job, context)

    assert receipt["payment_id"] == job["payment_id"]
    assert receipt["amount"] == "25.00"
    assert receipt["request_id"] == context.aws_request_id
    assert _balance(tables) == (Decimal("25.00"), 1)
    assert _duplicates(tables, job) == 0


def test_a_second_delivery_of_the_same_job_has_no_second_effect(
    recorder, tables, make_job, new_context
):
    """Lambda may deliver an async event twice: the idempotency record answers the repeat."""
    job = make_job()
    first = recorder.lambda_handler(job, new_context())

    again = recorder.lambda_handler(job, new_context())

    assert again == first
    assert _balance(tables) == (Decimal("25.00"), 1)
    assert _duplicates(tables, job) == 1
    (record,) = tables.idempotency_records()
    assert record["status"] == {"S": "COMPLETED"}


def test_a_repeat_handed_off_later_with_a_new_requested_at_is_still_a_duplicate(
    recorder, tables, make_job, new_context
):
    job = make_job(requested_at="2026-11-23T10:00:00.000Z")
    recorder.lambda_handler(job, new_context())

    recorder.lambda_handler({**job, "requested_at": "2026-11-23T10:05:00.000Z"}, new_context())

    assert _balance(tables) == (Decimal("25.00"), 1)
    assert _duplicates(tables, job) == 1


def test_a_repeat_after_the_idempotency_record_is_gone_is_stopped_by_the_ledger(
    recorder, tables, make_job, new_context
):
    """Idempotency records expire (TTL); the ledger's condition still keeps one effect."""
    job = make_job()
    first = recorder.lambda_handler(job, new_context())
    for record in tables.idempotency_records():
        tables.client.delete_item(TableName=tables.idempotency, Key={"id": record["id"]})

    again = recorder.lambda_handler(job, new_context())

    assert again == first
    assert _balance(tables) == (Decimal("25.00"), 1)
    assert _duplicates(tables, job) == 1


@pytest.mark.parametrize("change", [{"amount": "30.00"}, {"account_id": "acct-43"}])
def test_the_same_payment_id_with_other_money_is_a_conflict(
    recorder, tables, make_job, new_context, change
):
    job = make_job()
    recorder.lambda_handler(job, new_context())

    with pytest.raises(PaymentConflict, match=job["payment_id"]):
        recorder.lambda_handler({**job, **change}, new_context())

    assert _balance(tables) == (Decimal("25.00"), 1)
    assert _balance(tables, "acct-43") == (Decimal(0), 0)


def test_an_invalid_job_raises_naming_the_field_and_records_nothing(
    recorder, tables, make_job, new_context
):
    with pytest.raises(InvalidPayment, match="'amount'"):
        recorder.lambda_handler(make_job(amount="lots"), new_context())

    assert tables.ledger_items("acct-42") == []
    assert tables.idempotency_records() == []


def test_a_job_for_an_account_on_hold_raises_and_leaves_no_idempotency_record(
    recorder, tables, make_job, new_context
):
    """The error must reach Lambda (so it retries, then sends the record to the failure
    queue), and must not leave a record that would answer the replay with a stale result."""
    tables.put_hold("acct-42", "fraud review")
    job = make_job()

    with pytest.raises(AccountOnHold, match="fraud review"):
        recorder.lambda_handler(job, new_context())

    assert tables.idempotency_records() == []
    assert _balance(tables) == (Decimal(0), 0)


def test_a_replay_after_the_hold_is_lifted_records_the_payment_once(
    recorder, tables, make_job, new_context
):
    tables.put_hold("acct-42", "fraud review")
    job = make_job()
    for _attempt in range(3):  # the first attempt and Lambda's two retries
        with pytest.raises(AccountOnHold):
            recorder.lambda_handler(job, new_context())

    tables.lift_hold("acct-42")
    recorder.lambda_handler(job, new_context())
    recorder.lambda_handler(job, new_context())  # the replay tool ran twice

    assert _balance(tables) == (Decimal("25.00"), 1)
    assert _duplicates(tables, job) == 1


def test_a_delivery_while_the_first_is_still_running_is_refused_for_a_retry(
    recorder, tables, make_job, new_context, monkeypatch
):
    """Two deliveries at once: the second must fail (so Lambda retries it later, when the
    first has finished), not run a second time beside the first."""
    job = make_job()
    original = recorder.payments.record_payment
    seen: list[type[BaseException]] = []

    def record_while_a_duplicate_arrives(*args, **kwargs):
        try:
            recorder.lambda_handler(job, new_context())
        except Exception as error:
            seen.append(type(error))
        return original(*args, **kwargs)

    monkeypatch.setattr(recorder.payments, "record_payment", record_while_a_duplicate_arrives)
    recorder.lambda_handler(job, new_context())

    assert seen == [IdempotencyAlreadyInProgressError]
    assert _balance(tables) == (Decimal("25.00"), 1)


def test_the_sample_event_is_a_valid_job(recorder, tables, new_context):
    job = json.loads((EVENTS_DIR / "record_payment.json").read_text())

    receipt = recorder.lambda_handler(job, new_context())

    assert receipt["payment_id"] == job["payment_id"]
