"""The receiver's contract, signature and queue message, with a fake queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from webhook_receiver import intake

SECRET = "shared-secret"
VALID = {"type": "order.created", "occurred_at": "2026-11-23T09:59:00Z", "data": {"n": 1}}
NOW = datetime(2026, 11, 23, 10, 0, 0, 123_000, tzinfo=UTC)


class FakeQueue:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, str]]] = []

    def enqueue(self, body: str, attributes: Mapping[str, str]) -> str:
        self.messages.append((body, dict(attributes)))
        return f"m-{len(self.messages)}"


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


def accept(queue: FakeQueue, body: dict[str, Any], source: str = "shop") -> intake.AcceptedWebhook:
    return intake.accept_webhook(queue, source, body, clock=lambda: NOW)


def test_accepted_webhook_is_queued_with_its_event_id_as_attribute(queue):
    accepted = accept(queue, VALID)

    assert uuid.UUID(accepted.event_id).version == 4
    assert accepted.received_at == "2026-11-23T10:00:00.123Z"
    assert accepted.message_id == "m-1"
    [(body, attributes)] = queue.messages
    assert attributes == {"event_id": accepted.event_id, "source": "shop"}
    assert json.loads(body) == {
        "event_id": accepted.event_id,
        "source": "shop",
        "received_at": "2026-11-23T10:00:00.123Z",
        "webhook": VALID,
    }


def test_a_senders_delivery_id_gives_the_same_event_id_every_time(queue):
    first = accept(queue, {**VALID, "id": "delivery-42"})
    retry = accept(queue, {**VALID, "id": "delivery-42"})
    other_source = accept(queue, {**VALID, "id": "delivery-42"}, source="billing")
    other_delivery = accept(queue, {**VALID, "id": "delivery-43"})

    assert first.event_id == retry.event_id
    assert len({first.event_id, other_source.event_id, other_delivery.event_id}) == 3
    # Both deliveries were still queued: deduplication is the database's job.
    assert len(queue.messages) == 4


def test_without_a_delivery_id_every_webhook_is_a_new_event(queue):
    assert accept(queue, VALID).event_id != accept(queue, VALID).event_id


def test_queue_message_is_ascii_even_for_characters_sqs_refuses(queue):
    accept(queue, {**VALID, "data": {"note": "caf\u00e9 \ufffe \U0001f600"}})

    body, _ = queue.messages[0]
    assert body.isascii()
    assert json.loads(body)["webhook"]["data"]["note"] == "caf\u00e9 \ufffe \U0001f600"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": {}}, "type"),
        ({"type": "a"}, "data"),
        ({"type": 5, "data": {}}, "type"),
        ({"type": "", "data": {}}, "type"),
        ({"type": "has space", "data": {}}, "type"),
        ({"type": "a", "data": []}, "data"),
        ({"type": "a", "data": {}, "occurred_at": "yesterday"}, "occurred_at"),
        ({"type": "a", "data": {}, "occurred_at": "2026-19-39T10:00:00Z"}, "occurred_at"),
        ({"type": "a", "data": {}, "id": ""}, "id"),
        ({"type": "a", "data": {}, "id": "has space"}, "id"),
        ({"type": "a", "data": {}, "colour": "red"}, "colour"),
    ],
)
def test_contract_violations_name_the_field_and_queue_nothing(queue, body, field):
    with pytest.raises(intake.InvalidWebhook) as raised:
        accept(queue, body)

    assert raised.value.field == field
    assert f"'{field}'" in str(raised.value)
    assert queue.messages == []


@pytest.mark.parametrize("source", ["Shop", "-shop", "", "a" * 64, "sh op", "shop_1", "shöp"])
def test_source_must_be_a_plain_name(queue, source):
    with pytest.raises(intake.InvalidWebhook) as raised:
        accept(queue, VALID, source=source)

    assert raised.value.field == "source"
    assert "'source'" in str(raised.value)
    assert queue.messages == []


@pytest.mark.parametrize("source", ["shop", "a", "github-app-2", "a" * 63])
def test_plain_source_names_are_accepted(queue, source):
    assert accept(queue, VALID, source=source).source == source


@pytest.mark.parametrize(
    "occurred_at",
    ["2026-11-23T10:00:00Z", "2026-11-23t10:00:00z", "2026-11-23T10:00:00.123456789+05:30"],
)
def test_rfc3339_timestamps_are_accepted(queue, occurred_at):
    accept(queue, {**VALID, "occurred_at": occurred_at})

    assert len(queue.messages) == 1


def test_signature_of_the_exact_body_is_accepted():
    body = b'{"type":"a","data":{}}'

    intake.verify_signature(SECRET, body, intake.sign(SECRET, body))
    # Upper-case scheme or digits are the same signature.
    intake.verify_signature(SECRET, body, intake.sign(SECRET, body).upper())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "sha256=" + "0" * 64,
        intake.sign("another secret", b'{"type":"a","data":{}}'),
        intake.sign(SECRET, b'{"type":"a","data":{} }'),
        "sha1=" + "0" * 40,
        "sha256=\u00e9",
    ],
)
def test_missing_or_wrong_signatures_are_refused(header):
    with pytest.raises(intake.SignatureMismatch) as raised:
        intake.verify_signature(SECRET, b'{"type":"a","data":{}}', header)

    assert intake.SIGNATURE_HEADER in str(raised.value)


def test_signature_is_hmac_sha256_hex_of_the_body():
    # RFC 4231 test case 2.
    signature = intake.sign("Jefe", b"what do ya want for nothing?")

    assert signature == ("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


class FakeSecretsManager:
    def __init__(self) -> None:
        self.value = "first"
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.reads += 1
        return {"SecretString": self.value}


def test_secret_is_read_once_then_again_after_its_ttl():
    client = FakeSecretsManager()
    now = [0.0]
    secret = intake.SecretsManagerSigningSecret(
        client,  # type: ignore[arg-type]
        "arn:secret",
        ttl_seconds=300,
        clock=lambda: now[0],
    )

    assert secret.value() == "first"
    client.value = "second"
    now[0] = 299.0
    assert secret.value() == "first"
    now[0] = 300.0
    assert secret.value() == "second"
    assert client.reads == 2
