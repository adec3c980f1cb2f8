"""The alerts subscriber's DLQ on SQS: the common layer's envelope plus the attributes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from common_layer.failures import dlq_envelope
from notifier_contract.contract import ContractViolation

from notifier_alerts.alerts import QueueMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class SqsDeadLetterQueue:
    """Parks a rejected message: body ``dlq_envelope`` (reason, payload as received), and
    the message's attributes kept, so ``make redrive`` can replay it as it came."""

    def __init__(self, sqs: SQSClient, queue_url: str, source: str | None = None) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._source = source

    def park(self, message: QueueMessage, reason: ContractViolation) -> None:
        envelope = dlq_envelope(message.body, reason, message.receive_count, self._source)
        envelope["messageId"] = message.message_id
        arguments: dict[str, Any] = {
            "QueueUrl": self._queue_url,
            "MessageBody": json.dumps(envelope),
        }
        if message.attributes:
            arguments["MessageAttributes"] = message.attributes
        self._sqs.send_message(**arguments)
