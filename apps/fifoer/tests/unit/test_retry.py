"""The backoff (ledger_consumer.retry): delays, and postponing real messages in moto's SQS."""

from __future__ import annotations

import pytest
from ledger_consumer.retry import MAX_VISIBILITY_SECONDS, Backoff, ReturnedMessage, postpone


def test_delay_doubles_with_every_receive_up_to_the_cap():
    backoff = Backoff(base_seconds=2, cap_seconds=60)

    assert [backoff.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(0) == 2
    assert backoff.delay(10_000) == 60


def test_zero_base_retries_at_once():
    assert Backoff(base_seconds=0, cap_seconds=60).delay(5) == 0


@pytest.mark.parametrize(("base", "cap"), [(-1, 60), (61, 60), (1, MAX_VISIBILITY_SECONDS + 1)])
def test_nonsense_settings_are_refused(base, cap):
    with pytest.raises(ValueError, match="base"):
        Backoff(base_seconds=base, cap_seconds=cap)


def _returned(messages):
    return [ReturnedMessage(m["MessageId"], m["ReceiptHandle"]) for m in messages]


def test_postpone_zero_makes_messages_visible_again_at_once(queues):
    sent = [queues.send({"account_id": "a", "seq": n}) for n in (1, 2)]
    received = queues.receive()
    assert queues.receive() == []  # in flight for the queue's 60 s visibility timeout

    failed = postpone(queues.client, queues.url, _returned(received), 0)

    assert failed == []
    assert [m["MessageId"] for m in queues.receive()] == sent


def test_postpone_keeps_messages_hidden_for_the_delay(queues):
    queues.send({"account_id": "a", "seq": 1})
    received = queues.receive()
    postpone(queues.client, queues.url, _returned(received), 0)
    received = queues.receive()

    postpone(queues.client, queues.url, _returned(received), 30)

    assert queues.receive() == []


def test_postpone_reports_messages_it_could_not_change(queues):
    queues.send({"account_id": "a", "seq": 1})
    (message,) = queues.receive()
    bogus = ReturnedMessage("gone", "not-a-receipt-handle")

    failed = postpone(queues.client, queues.url, [*_returned([message]), bogus], 0)

    assert failed == ["gone"]
