"""The payments auditor's DLQ on SQS: the common layer's envelope around the notification."""

from __future__ import annotations

from typing import TYPE_CHECKING

from common_layer.failures import send_to_dlq
from notifier_contract.contract import ContractViolation

from notifier_payments_audit.audit import Notification

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


class SqsDeadLetterQueue:
    """Parks a rejected notification: its message, attributes and ids, and the reason.

    The payload keeps what it takes to publish the event again once fixed.
    """

    def __init__(self, sqs: SQSClient, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def park(self, notification: Notification, reason: ContractViolation) -> None:
        payload = {
            "MessageId": notification.message_id,
            "TopicArn": notification.topic_arn,
            "Message": notification.message,
            "MessageAttributes": notification.raw.get("MessageAttributes") or {},
        }
        send_to_dlq(self._sqs, self._queue_url, payload, reason, 1, notification.topic_arn)
