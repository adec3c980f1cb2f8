"""The recorder's rules (``payments.py``) against an in-memory ledger: the job contract,
recording once, holds and conflicts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from payment_recorder import payments
from payment_recorder.payments import (
    AccountOnHold,
    InvalidPayment,
    Payment,
    PaymentConflict,
    PermanentJobError,
)

NOW = datetime(2026, 11, 23, 10, 0, 5, 250_000, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def test_a_valid_job_parses_with_the_amount_in_whole_cents(make_job):
    payment = payments.parse_job(make_job(amount="7.5"))

    assert payment.amount == Decimal("7.50")
    assert payment.to_job()["amount"] == "7.50"
    assert payment.currency == "EUR"
    assert payment.reference == "invoice 2026-118"


def test_a_job_round_trips_through_its_json_shape(make_job):
    payment = payments.parse_job(make_job(reference=None))

    assert "reference" not in payment.to_job()
    assert payments.parse_job(payment.to_job()) == payment


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 25}, "amount"),
        ({"amount": "25.001"}, "amount"),
        ({"amount": "-3.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"amount": "012.00"}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"payment_id": ""}, "payment_id"),
        ({"payment_id": "has space"}, "payment_id"),
        ({"payment_id": "x" * 129}, "payment_id"),
        ({"account_id": 42}, "account_id"),
        ({"account_id": None}, "account_id"),
        ({"reference": "r" * 141}, "reference"),
        ({"requested_at": "yesterday"}, "requested_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_jobs_are_permanent_errors_naming_the_field(make_job, overrides, field):
    with pytest.raises(InvalidPayment) as raised:
        payments.parse_job(make_job(**overrides))

    assert raised.value.field == field
    assert f"'{field}'" in str(raised.value)
    assert isinstance(raised.value, PermanentJobError)


@pytest.mark.parametrize("event", [None, [], "pay-1", 3])
def test_a_job_that_is_not_an_object_is_invalid(event):
    with pytest.raises(InvalidPayment, match="body must be a JSON object"):
        payments.parse_job(event)


def test_a_client_request_may_not_set_requested_at(make_job):
    with pytest.raises(InvalidPayment) as raised:
        payments.parse_request(make_job())

    assert raised.value.field == "requested_at"
    assert payments.parse_request(make_job(requested_at=None)).requested_at is None


def test_recording_adds_the_amount_once_and_returns_a_new_receipt(ledger, make_job):
    payment = payments.parse_job(make_job(amount="25.00"))

    recording = payments.record_payment(ledger, payment, request_id="req-1", clock=clock)

    assert recording.new
    assert recording.receipt.payment == payment
    assert recording.receipt.recorded_at == "2026-11-23T10:00:05.250Z"
    assert recording.receipt.request_id == "req-1"
    assert ledger.balances[("acct-42", "EUR")] == Decimal("25.00")


def test_the_same_payment_again_changes_nothing_and_gives_the_first_receipt(ledger, make_job):
    payment = payments.parse_job(make_job())
    first = payments.record_payment(ledger, payment, request_id="req-1", clock=clock)

    again = payments.record_payment(ledger, payment, request_id="req-2")

    assert not again.new
    assert again.receipt == first.receipt
    assert ledger.balances[("acct-42", "EUR")] == payment.amount
    assert len(ledger.entries) == 1


def test_a_repeat_that_differs_only_in_reference_or_time_is_the_same_payment(ledger, make_job):
    first = payments.parse_job(make_job())
    payments.record_payment(ledger, first, request_id="req-1")
    repeat = Payment(
        payment_id=first.payment_id,
        account_id=first.account_id,
        amount=first.amount,
        currency=first.currency,
        reference="typo fixed",
        requested_at="2026-11-23T11:00:00.000Z",
    )

    assert not payments.record_payment(ledger, repeat, request_id="req-2").new


# Reuse for another account is caught by the idempotency layer (keyed on payment_id alone):
# see the handler tests. The ledger keeps entries per account.
@pytest.mark.parametrize("change", [{"amount": "26.00"}, {"currency": "USD"}])
def test_a_payment_id_reused_for_other_money_is_a_conflict(ledger, make_job, change):
    original = make_job(payment_id="pay-dup")
    payments.record_payment(ledger, payments.parse_job(original), request_id="req-1")

    with pytest.raises(PaymentConflict) as raised:
        payments.record_payment(
            ledger, payments.parse_job({**original, **change}), request_id="req-2"
        )

    assert "pay-dup" in str(raised.value)
    assert "25.00 EUR" in str(raised.value)
    assert ledger.balances == {("acct-42", "EUR"): Decimal("25.00")}


def test_a_payment_to_an_account_on_hold_is_refused_and_changes_nothing(ledger, make_job):
    ledger.holds["acct-42"] = "fraud review"

    with pytest.raises(AccountOnHold, match="account 'acct-42' is on hold: fraud review"):
        payments.record_payment(ledger, payments.parse_job(make_job()), request_id="req-1")

    assert ledger.entries == {}
    assert ledger.balances == {}


def test_a_duplicate_is_counted_without_moving_money(ledger, make_job):
    payment = payments.parse_job(make_job())
    payments.record_payment(ledger, payment, request_id="req-1")

    payments.note_duplicate(ledger, payment)

    assert ledger.duplicates == {payment.payment_id: 1}
    assert ledger.balances[("acct-42", "EUR")] == payment.amount


def test_handoff_lag_is_the_time_from_intake_to_ledger(make_job):
    payment = payments.parse_job(make_job(requested_at="2026-11-23T10:00:00.000Z"))

    assert payments.handoff_lag_seconds(payment, "2026-11-23T10:03:00.500Z") == 180.5
    assert payments.handoff_lag_seconds(payment, "2026-11-23T09:59:59.000Z") == 0.0
    no_time = payments.parse_job(make_job(requested_at=None))
    assert payments.handoff_lag_seconds(no_time, "2026-11-23T10:03:00.500Z") is None
