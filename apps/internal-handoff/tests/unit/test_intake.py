"""The intake: validate, hand off with an Event invoke, acknowledge at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from payment_intake import intake
from payment_recorder.payments import InvalidPayment

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
NOW = datetime(2026, 11, 23, 10, 0, 0, 125_000, tzinfo=UTC)


class FakeHandoff:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def send(self, job):
        self.sent.append(dict(job))
        return f"req-{len(self.sent)}"


def _request(**overrides):
    base = {"payment_id": "pay-1", "account_id": "acct-42", "amount": "25", "currency": "EUR"}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def test_a_valid_request_is_handed_off_stamped_and_acknowledged():
    handoff = FakeHandoff()

    ack = intake.hand_off_payment(handoff, _request(), clock=lambda: NOW)

    assert handoff.sent == [
        {
            "payment_id": "pay-1",
            "account_id": "acct-42",
            "amount": "25.00",
            "currency": "EUR",
            "requested_at": "2026-11-23T10:00:00.125Z",
        }
    ]
    assert ack.to_json() == {
        "statusCode": 202,
        "jobId": "pay-1",
        "acceptedAt": "2026-11-23T10:00:00.125Z",
        "requestId": "req-1",
    }


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        (_request(amount=25), "amount"),
        (_request(currency="euro"), "currency"),
        (_request(payment_id=None), "payment_id"),
        (_request(requested_at="2026-11-23T10:00:00Z"), "requested_at"),
        ("pay-1", "body"),
    ],
)
def test_an_invalid_request_is_refused_and_nothing_is_handed_off(request_body, field):
    handoff = FakeHandoff()

    with pytest.raises(InvalidPayment) as raised:
        intake.hand_off_payment(handoff, request_body)

    assert raised.value.field == field
    assert handoff.sent == []
    assert intake.rejection(raised.value) == {
        "statusCode": 400,
        "message": str(raised.value),
        "field": field,
    }


def _invoke_response(status: int, request_id: str = "4f6c-req") -> dict:
    return {
        "StatusCode": status,
        "Payload": StreamingBody(_EmptyStream(), 0),
        "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status},
    }


class _EmptyStream:
    def read(self, *args) -> bytes:
        return b""


def test_lambda_handoff_invokes_the_recorder_with_invocation_type_event(intake_handler):
    client = intake_handler._handoff._client
    job = {"payment_id": "pay-1", "amount": "25.00"}
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke",
            _invoke_response(202),
            {
                "FunctionName": "internal-handoff-PaymentRecorderFunction",
                "InvocationType": "Event",
                "Payload": b'{"payment_id":"pay-1","amount":"25.00"}',
            },
        )
        request_id = intake_handler._handoff.send(job)
        stubber.assert_no_pending_responses()

    assert request_id == "4f6c-req"


def test_lambda_handoff_fails_loudly_when_lambda_does_not_queue_the_event(intake_handler):
    client = intake_handler._handoff._client
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke",
            _invoke_response(200),
            {"FunctionName": ANY, "InvocationType": "Event", "Payload": ANY},
        )
        with pytest.raises(intake.HandoffRefused, match="200 instead of 202"):
            intake_handler._handoff.send({"payment_id": "pay-1"})


def test_the_handler_answers_202_with_the_job_id(intake_handler, new_context):
    client = intake_handler._handoff._client
    request = json.loads((EVENTS_DIR / "hand_off_payment.json").read_text())
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke",
            _invoke_response(202, "async-req-1"),
            {"FunctionName": ANY, "InvocationType": "Event", "Payload": ANY},
        )
        answer = intake_handler.lambda_handler(request, new_context())
        stubber.assert_no_pending_responses()

    assert answer["statusCode"] == 202
    assert answer["jobId"] == request["payment_id"]
    assert answer["requestId"] == "async-req-1"


def test_the_handler_answers_400_naming_the_field_without_invoking(intake_handler, new_context):
    client = intake_handler._handoff._client
    request = json.loads((EVENTS_DIR / "invalid_payment_request.json").read_text())
    with Stubber(client):  # any invoke would fail: no response is queued
        answer = intake_handler.lambda_handler(request, new_context())

    assert answer["statusCode"] == 400
    assert answer["field"] == "amount"
    assert "'amount'" in answer["message"]
