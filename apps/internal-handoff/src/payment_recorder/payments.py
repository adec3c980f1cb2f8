"""Recording payments in a ledger: the job's contract, the rules, and the DynamoDB ledger.

A job is one payment to record::

    {"payment_id": "pay-0001", "account_id": "acct-42", "amount": "25.00",
     "currency": "EUR", "reference": "invoice 2026-118", "requested_at": "2026-11-23T10:00:00.000Z"}

``amount`` is a decimal string (money never travels as a binary float), ``reference`` and
``requested_at`` (set by the intake) are optional. Recording the payment keeps an entry for
it and adds the amount to the account's balance in that currency, both in one atomic step,
and at most once per ``payment_id``: the ledger itself refuses a second entry for a payment,
so even a duplicate that gets past the idempotency layer (its records expire) cannot count
the money twice.

Some failures are permanent for the job as it is (:class:`PermanentJobError`): the input is
invalid, the account is on hold, or the payment id was already used for another payment.
Retrying cannot help until something outside the job changes, so they end up, with the job,
in the failure queue, from where the job is replayed once the cause is fixed.

Nothing here knows about Lambda; the ledger is reached through the :class:`Ledger` port, so
the rules run against an in-memory fake in unit tests and against DynamoDB in Lambda.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError
from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

__all__ = [
    "JOB_SCHEMA",
    "REQUEST_SCHEMA",
    "AccountOnHold",
    "DynamoDBLedger",
    "InvalidPayment",
    "Ledger",
    "Payment",
    "PaymentConflict",
    "PermanentJobError",
    "Receipt",
    "Recording",
    "handoff_lag_seconds",
    "note_duplicate",
    "parse_job",
    "parse_request",
    "record_payment",
    "timestamp",
]

CENT = Decimal("0.01")
HOLD_ENTRY = "HOLD"
PAYMENT_ENTRY_PREFIX = "PAYMENT#"
BALANCE_ENTRY_PREFIX = "BALANCE#"

_IDENTIFIER: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
    "errorMessage": {
        "pattern": "must be 1 to 128 letters, digits, '.', '_', ':' or '-', "
        "starting with a letter or digit"
    },
}

# What a client of the intake sends.
REQUEST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "A payment to record",
    "type": "object",
    "properties": {
        "payment_id": _IDENTIFIER,
        "account_id": _IDENTIFIER,
        "amount": {
            "type": "string",
            "pattern": r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$",
            "errorMessage": {
                "pattern": 'must be a decimal string with at most 2 decimal places, like "25.00"'
            },
        },
        "currency": {
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "errorMessage": {"pattern": 'must be a three-letter ISO 4217 code, like "EUR"'},
        },
        "reference": {"type": "string", "maxLength": 140},
    },
    "required": ["payment_id", "account_id", "amount", "currency"],
    "additionalProperties": False,
}

# What the recorder accepts: the request plus when the intake accepted it.
JOB_SCHEMA: dict[str, Any] = {
    **REQUEST_SCHEMA,
    "title": "A payment handed off for recording",
    "properties": {
        **REQUEST_SCHEMA["properties"],
        "requested_at": {"type": "string", "format": "date-time", "maxLength": 40},
    },
}


class PermanentJobError(Exception):
    """Retrying this job as it is cannot succeed: its input or the account must change first.

    Lambda cannot tell and retries it anyway; after the last attempt the invocation record
    lands in the failure queue, from where the job is replayed once the cause is fixed.
    """


class InvalidPayment(PermanentJobError, ValueError):
    """The payment breaks the contract; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def of_field(cls, field: str, problem: str) -> InvalidPayment:
        return cls(field, f"field '{field}' {problem}")


class AccountOnHold(PermanentJobError):
    """The account may not receive payments until its hold is lifted."""

    def __init__(self, account_id: str, reason: str | None = None) -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"account '{account_id}' is on hold{detail}")
        self.account_id = account_id
        self.reason = reason


class PaymentConflict(PermanentJobError):
    """The payment id was already used for a different payment (account, amount or currency)."""

    def __init__(self, payment_id: str, detail: str) -> None:
        super().__init__(f"payment '{payment_id}' {detail}")
        self.payment_id = payment_id

    @classmethod
    def between(cls, recorded: Payment, attempted: Payment) -> PaymentConflict:
        return cls(
            attempted.payment_id,
            f"was recorded as {recorded.describe()}; this job says {attempted.describe()}",
        )


@dataclass(frozen=True, slots=True)
class Payment:
    """A validated payment; ``amount`` is positive, in whole cents."""

    payment_id: str
    account_id: str
    amount: Decimal
    currency: str
    reference: str | None = None
    requested_at: str | None = None

    def to_job(self) -> dict[str, str]:
        """The job's JSON shape, amount in canonical form ("25.00"), optional fields omitted."""
        job = {
            "payment_id": self.payment_id,
            "account_id": self.account_id,
            "amount": str(self.amount),
            "currency": self.currency,
        }
        if self.reference is not None:
            job["reference"] = self.reference
        if self.requested_at is not None:
            job["requested_at"] = self.requested_at
        return job

    def same_money_as(self, other: Payment) -> bool:
        """True when both move the same amount to the same account (the payment's identity)."""
        return (self.account_id, self.amount, self.currency) == (
            other.account_id,
            other.amount,
            other.currency,
        )

    def describe(self) -> str:
        return f"{self.amount} {self.currency} to account '{self.account_id}'"


@dataclass(frozen=True, slots=True)
class Receipt:
    """A payment as the ledger recorded it: when, and by which invocation."""

    payment: Payment
    recorded_at: str
    request_id: str

    def to_json(self) -> dict[str, str]:
        return {
            **self.payment.to_job(),
            "recorded_at": self.recorded_at,
            "request_id": self.request_id,
        }


def parse_request(data: object) -> Payment:
    """A client's payment request (no ``requested_at``: the intake sets it)."""
    return _parse(data, REQUEST_SCHEMA)


def parse_job(data: object) -> Payment:
    """A job handed to the recorder; raises :class:`InvalidPayment` naming the bad field."""
    return _parse(data, JOB_SCHEMA)


def _parse(data: object, schema: Mapping[str, Any]) -> Payment:
    if not isinstance(data, Mapping):
        raise InvalidPayment("body", "body must be a JSON object")
    try:
        validate(data, schema)
    except SchemaViolation as violation:
        raise InvalidPayment(violation.field or "body", violation.message) from None
    amount = Decimal(data["amount"])
    if amount <= 0:
        raise InvalidPayment.of_field("amount", "must be greater than 0")
    return Payment(
        payment_id=data["payment_id"],
        account_id=data["account_id"],
        amount=amount.quantize(CENT),
        currency=data["currency"],
        reference=data.get("reference"),
        requested_at=data.get("requested_at"),
    )


class Ledger(Protocol):
    """Where payments and balances live."""

    def record(self, receipt: Receipt) -> Receipt:
        """In one atomic step: keep the receipt and add its amount to the account's balance.

        If the ledger already holds an entry for the payment id, change nothing and return
        that entry. Otherwise raise :class:`AccountOnHold` if the account has a hold, else
        return ``receipt``.
        """
        ...

    def count_duplicate(self, payment: Payment) -> None:
        """Note that the payment was delivered again (and not recorded again)."""
        ...


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, as every time in the ledger."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Recording:
    """The outcome of recording a payment: its receipt, and whether this call recorded it."""

    receipt: Receipt
    new: bool


def record_payment(
    ledger: Ledger, payment: Payment, *, request_id: str, clock: Clock = _utc_now
) -> Recording:
    """Record ``payment`` once; a payment recorded before gives its original receipt back.

    Raises :class:`AccountOnHold` when the account is on hold and :class:`PaymentConflict`
    when the payment id was recorded with another account, amount or currency.
    """
    receipt = Receipt(payment=payment, recorded_at=timestamp(clock()), request_id=request_id)
    stored = ledger.record(receipt)
    if stored == receipt:
        return Recording(receipt, new=True)
    if not stored.payment.same_money_as(payment):
        raise PaymentConflict.between(stored.payment, payment)
    return Recording(stored, new=False)


def note_duplicate(ledger: Ledger, payment: Payment) -> None:
    """A delivery of a payment already recorded: count it, change no money."""
    ledger.count_duplicate(payment)


def handoff_lag_seconds(payment: Payment, recorded_at: str) -> float | None:
    """Seconds from the intake accepting the payment to the ledger recording it, if known.

    For an asynchronous handoff this is the time the event spent in Lambda's queue plus any
    retries: the number to watch when the worker falls behind.
    """
    if payment.requested_at is None:
        return None
    elapsed = _parse_timestamp(recorded_at) - _parse_timestamp(payment.requested_at)
    return max(elapsed.total_seconds(), 0.0)


def _parse_timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- DynamoDB ------------------------------------------------------------------------------


def payment_entry(payment_id: str) -> str:
    return PAYMENT_ENTRY_PREFIX + payment_id


def balance_entry(currency: str) -> str:
    return BALANCE_ENTRY_PREFIX + currency


class DynamoDBLedger:
    """:class:`Ledger` on one DynamoDB table keyed by ``account_id`` (hash) and ``entry`` (range).

    An account's items: ``HOLD`` (present while the account may not receive payments, with
    a ``reason``), ``PAYMENT#<payment_id>`` (one per recorded payment) and
    ``BALANCE#<currency>`` (``balance`` and ``payments``, the count). Recording is one
    transaction: the hold is checked, the payment entry is put on condition that it does not
    exist yet, and the balance is incremented, so the balance always equals the sum of the
    entries and no read-then-write race exists.
    """

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, account_id: str, entry: str) -> dict[str, AttributeValueTypeDef]:
        return {"account_id": {"S": account_id}, "entry": {"S": entry}}

    def record(self, receipt: Receipt) -> Receipt:
        payment = receipt.payment
        names = {"#entry": "entry"}
        items: list[TransactWriteItemTypeDef] = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": self._key(payment.account_id, HOLD_ENTRY),
                    "ConditionExpression": "attribute_not_exists(#entry)",
                    "ExpressionAttributeNames": names,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _receipt_item(receipt),
                    "ConditionExpression": "attribute_not_exists(#entry)",
                    "ExpressionAttributeNames": names,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self._key(payment.account_id, balance_entry(payment.currency)),
                    "UpdateExpression": (
                        "SET currency = :currency, updated_at = :now "
                        "ADD balance :amount, payments :one"
                    ),
                    "ExpressionAttributeValues": {
                        ":currency": {"S": payment.currency},
                        ":now": {"S": receipt.recorded_at},
                        ":amount": {"N": str(payment.amount)},
                        ":one": {"N": "1"},
                    },
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons: list[Any] = list(error.response.get("CancellationReasons") or [])
            hold, entry = [*reasons, {}, {}][:2]
            # Already recorded wins over a hold: the money moved before the hold was placed.
            if entry.get("Code") == "ConditionalCheckFailed":
                existing = entry.get("Item") or self._entry(payment)
                if existing is None:  # deleted in between: let the retry find out
                    raise
                return _receipt_from_item(existing)
            if hold.get("Code") == "ConditionalCheckFailed":
                reason = (hold.get("Item") or {}).get("reason", {}).get("S")
                raise AccountOnHold(payment.account_id, reason) from None
            # TransactionConflict (a concurrent write to the same items) and the like: a
            # retry is the right answer, so let Lambda make it.
            raise
        return receipt

    def _entry(self, payment: Payment) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=self._key(payment.account_id, payment_entry(payment.payment_id)),
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def count_duplicate(self, payment: Payment) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(payment.account_id, payment_entry(payment.payment_id)),
                UpdateExpression="ADD duplicate_deliveries :one",
                # Only an existing entry: never create a half item for a payment.
                ConditionExpression="attribute_exists(#entry)",
                ExpressionAttributeNames={"#entry": "entry"},
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def _receipt_item(receipt: Receipt) -> dict[str, AttributeValueTypeDef]:
    payment = receipt.payment
    item: dict[str, AttributeValueTypeDef] = {
        "account_id": {"S": payment.account_id},
        "entry": {"S": payment_entry(payment.payment_id)},
        "payment_id": {"S": payment.payment_id},
        "amount": {"N": str(payment.amount)},
        "currency": {"S": payment.currency},
        "recorded_at": {"S": receipt.recorded_at},
        "request_id": {"S": receipt.request_id},
    }
    if payment.reference is not None:
        item["reference"] = {"S": payment.reference}
    if payment.requested_at is not None:
        item["requested_at"] = {"S": payment.requested_at}
    return item


def _receipt_from_item(item: Mapping[str, Any]) -> Receipt:
    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value["S"])

    payment = Payment(
        payment_id=str(item["payment_id"]["S"]),
        account_id=str(item["account_id"]["S"]),
        amount=Decimal(item["amount"]["N"]).quantize(CENT),
        currency=str(item["currency"]["S"]),
        reference=text("reference"),
        requested_at=text("requested_at"),
    )
    return Receipt(
        payment=payment,
        recorded_at=str(item["recorded_at"]["S"]),
        request_id=str(item["request_id"]["S"]),
    )
