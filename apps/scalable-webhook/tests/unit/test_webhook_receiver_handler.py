"""The receiver handler end to end, in process: REST v1 events in, HTTP answers out, the
queue and the signing secret played by moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
WEBHOOK = {"id": "d-1", "type": "order.created", "data": {"order_id": "o-1"}}


def sign(secret: str, body: str) -> str:
    from webhook_receiver.intake import sign as intake_sign

    return intake_sign(secret, body.encode())


def queued(sqs, queue_url):
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return messages


def post(api, module, rest_event, body, headers=None, source="shop"):
    return api(module, rest_event("POST", f"/webhooks/{source}", body=body, headers=headers))


def test_signed_webhook_is_queued_and_answered_202_with_its_id(
    receiver_module, api, rest_event, signing_secret, sqs, webhook_queue_url
):
    module = receiver_module()
    body = json.dumps(WEBHOOK)

    response = post(
        api, module, rest_event, body, {"X-Webhook-Signature": sign(signing_secret, body)}
    )

    assert response.status == 202
    assert response.headers["content-type"].startswith("application/json")
    event_id = response.json()["id"]
    [message] = queued(sqs, webhook_queue_url)
    assert message["MessageAttributes"]["event_id"]["StringValue"] == event_id
    assert message["MessageAttributes"]["source"]["StringValue"] == "shop"
    queued_body = json.loads(message["Body"])
    assert queued_body["event_id"] == event_id
    assert queued_body["webhook"] == WEBHOOK


def test_header_name_is_case_insensitive(receiver_module, api, rest_event, signing_secret):
    module = receiver_module()
    body = json.dumps(WEBHOOK)

    response = post(
        api, module, rest_event, body, {"x-webhook-signature": sign(signing_secret, body)}
    )

    assert response.status == 202


@pytest.mark.parametrize("signature", [None, "sha256=" + "ab" * 32])
def test_unsigned_or_forged_webhook_is_401_and_not_queued(
    receiver_module, api, rest_event, sqs, webhook_queue_url, signature
):
    module = receiver_module()
    headers = {"X-Webhook-Signature": signature} if signature else None

    response = post(api, module, rest_event, json.dumps(WEBHOOK), headers)

    assert response.status == 401
    assert "X-Webhook-Signature" in response.message
    assert queued(sqs, webhook_queue_url) == []


def test_signature_is_checked_before_the_body_is_parsed(receiver_module, api, rest_event):
    module = receiver_module()

    response = post(api, module, rest_event, "not json at all")

    assert response.status == 401


def test_with_verification_disabled_unsigned_webhooks_are_accepted(
    receiver_module, api, rest_event, sqs, webhook_queue_url
):
    module = receiver_module(signed=False)

    response = post(api, module, rest_event, json.dumps(WEBHOOK))

    assert response.status == 202
    assert len(queued(sqs, webhook_queue_url)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {}}, "type"),
        ({"type": "order.created", "data": "o-1"}, "data"),
        ({**WEBHOOK, "occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at"),
    ],
)
def test_invalid_webhook_is_400_naming_the_field(
    receiver_module, api, rest_event, signing_secret, sqs, webhook_queue_url, body, field
):
    module = receiver_module()
    raw = json.dumps(body)

    response = post(
        api, module, rest_event, raw, {"X-Webhook-Signature": sign(signing_secret, raw)}
    )

    assert response.status == 400
    assert f"'{field}'" in response.message
    assert queued(sqs, webhook_queue_url) == []


def test_invalid_source_is_400_naming_it(receiver_module, api, rest_event, signing_secret):
    module = receiver_module()
    raw = json.dumps(WEBHOOK)

    response = post(
        api,
        module,
        rest_event,
        raw,
        {"X-Webhook-Signature": sign(signing_secret, raw)},
        source="Not_A_Source",
    )

    assert response.status == 400
    assert "'source'" in response.message


@pytest.mark.parametrize("raw", ['{"type": "a", "data": ', "[1, 2]", "", "NaN"])
def test_body_that_is_not_a_json_object_is_400(receiver_module, api, rest_event, raw):
    module = receiver_module(signed=False)

    response = post(api, module, rest_event, raw)

    assert response.status == 400
    assert response.message


def test_oversized_body_is_413_before_the_signature(receiver_module, api, rest_event):
    module = receiver_module()
    raw = json.dumps({"type": "a", "data": {"blob": "x" * (64 * 1024)}})

    response = post(api, module, rest_event, raw)

    assert response.status == 413


def test_other_methods_are_refused_with_allow(receiver_module, api, rest_event):
    module = receiver_module(signed=False)

    response = api(module, rest_event("GET", "/webhooks/shop"))

    assert response.status == 405
    assert response.headers["allow"] == "POST"


def test_a_webhook_that_cannot_be_queued_fails_the_invocation(
    receiver_module, api, rest_event, sqs, webhook_queue_url
):
    module = receiver_module(signed=False)
    sqs.delete_queue(QueueUrl=webhook_queue_url)

    # Not a 2xx: API Gateway answers 502 and the sender retries later.
    with pytest.raises(ClientError):
        post(api, module, rest_event, json.dumps(WEBHOOK))


def test_sample_event_is_accepted(receiver_module, api, sqs, webhook_queue_url):
    module = receiver_module(signed=False)
    event = json.loads((EVENTS_DIR / "receive_webhook.json").read_text())

    response = api(module, event)

    assert response.status == 202
    assert len(queued(sqs, webhook_queue_url)) == 1
