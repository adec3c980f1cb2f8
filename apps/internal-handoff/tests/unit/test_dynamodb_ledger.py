"""The DynamoDB ledger on moto: one transaction per recording, holds, duplicates, conflicts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from payment_recorder import payments
from payment_recorder.payments import AccountOnHold, DynamoDBLedger, PaymentConflict, Receipt


@pytest.fixture
def dynamodb_ledger(tables) -> DynamoDBLedger:
    return DynamoDBLedger(tables.client, tables.ledger)


def _receipt(make_job, request_id: str = "req-1", **overrides) -> Receipt:
    return Receipt(
        payment=payments.parse_job(make_job(**overrides)),
        recorded_at="2026-11-23T10:00:01.000Z",
        request_id=request_id,
    )


def test_recording_puts_the_entry_and_adds_to_the_balance(dynamodb_ledger, tables, make_job):
    receipt = _receipt(make_job, amount="25.00")

    assert dynamodb_ledger.record(receipt) == receipt

    entry = tables.ledger_item("acct-42", f"PAYMENT#{receipt.payment.payment_id}")
    assert entry is not None
    assert Decimal(entry["amount"]["N"]) == Decimal("25.00")
    assert entry["currency"] == {"S": "EUR"}
    assert entry["request_id"] == {"S": "req-1"}
    assert entry["reference"] == {"S": "invoice 2026-118"}
    balance = tables.ledger_item("acct-42", "BALANCE#EUR")
    assert balance is not None
    assert Decimal(balance["balance"]["N"]) == Decimal("25.00")
    assert balance["payments"] == {"N": "1"}


def test_balances_are_kept_per_currency(dynamodb_ledger, tables, make_job):
    dynamodb_ledger.record(_receipt(make_job, amount="10.00"))
    dynamodb_ledger.record(_receipt(make_job, amount="2.50"))
    dynamodb_ledger.record(_receipt(make_job, amount="4.00", currency="USD"))

    eur = tables.ledger_item("acct-42", "BALANCE#EUR")
    usd = tables.ledger_item("acct-42", "BALANCE#USD")
    assert (Decimal(eur["balance"]["N"]), eur["payments"]["N"]) == (Decimal("12.50"), "2")
    assert (Decimal(usd["balance"]["N"]), usd["payments"]["N"]) == (Decimal("4.00"), "1")


def test_the_same_payment_twice_is_one_entry_and_one_addition(dynamodb_ledger, tables, make_job):
    first = _receipt(make_job, payment_id="pay-once")

    dynamodb_ledger.record(first)
    stored = dynamodb_ledger.record(_receipt(make_job, request_id="req-2", payment_id="pay-once"))

    assert stored == first
    balance = tables.ledger_item("acct-42", "BALANCE#EUR")
    assert (Decimal(balance["balance"]["N"]), balance["payments"]["N"]) == (Decimal("25"), "1")


def test_a_hold_refuses_the_payment_with_its_reason_and_writes_nothing(
    dynamodb_ledger, tables, make_job
):
    tables.put_hold("acct-42", "fraud review")

    with pytest.raises(AccountOnHold) as raised:
        dynamodb_ledger.record(_receipt(make_job))

    assert raised.value.reason == "fraud review"
    assert [item["entry"]["S"] for item in tables.ledger_items("acct-42")] == ["HOLD"]


def test_once_the_hold_is_lifted_the_same_payment_records(dynamodb_ledger, tables, make_job):
    tables.put_hold("acct-42", "fraud review")
    receipt = _receipt(make_job)
    with pytest.raises(AccountOnHold):
        dynamodb_ledger.record(receipt)

    tables.lift_hold("acct-42")

    assert dynamodb_ledger.record(receipt) == receipt
    assert tables.ledger_item("acct-42", "BALANCE#EUR")["payments"] == {"N": "1"}


def test_a_payment_recorded_before_a_hold_stays_recorded(dynamodb_ledger, tables, make_job):
    first = _receipt(make_job, payment_id="pay-early")
    dynamodb_ledger.record(first)
    tables.put_hold("acct-42", "fraud review")

    assert dynamodb_ledger.record(_receipt(make_job, "req-2", payment_id="pay-early")) == first


def test_a_conflicting_reuse_is_refused_by_the_rules(dynamodb_ledger, tables, make_job):
    dynamodb_ledger.record(_receipt(make_job, payment_id="pay-c", amount="25.00"))
    conflicting = payments.parse_job(make_job(payment_id="pay-c", amount="99.00"))

    with pytest.raises(PaymentConflict):
        payments.record_payment(dynamodb_ledger, conflicting, request_id="req-2")

    balance = tables.ledger_item("acct-42", "BALANCE#EUR")
    assert Decimal(balance["balance"]["N"]) == Decimal("25.00")


def test_count_duplicate_counts_on_the_entry_only_when_it_exists(dynamodb_ledger, tables, make_job):
    receipt = _receipt(make_job)
    dynamodb_ledger.record(receipt)

    dynamodb_ledger.count_duplicate(receipt.payment)
    dynamodb_ledger.count_duplicate(receipt.payment)
    dynamodb_ledger.count_duplicate(payments.parse_job(make_job(payment_id="pay-never")))

    entry = tables.ledger_item("acct-42", f"PAYMENT#{receipt.payment.payment_id}")
    assert entry["duplicate_deliveries"] == {"N": "2"}
    assert tables.ledger_item("acct-42", "PAYMENT#pay-never") is None
