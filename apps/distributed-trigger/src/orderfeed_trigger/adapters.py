"""The trigger's ports on AWS: the service's SNS topic, and the rejected-lines queue."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from common_layer.failures import dlq_envelope
from orderfeed_contract.events import OrderEvent

from orderfeed_trigger.feed import MAX_MESSAGE_BYTES, LogBatch, PublishFailed, RejectedLine

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef
    from mypy_boto3_sqs.client import SQSClient

# PublishBatch takes at most 10 entries of at most 256 KiB together.
MAX_BATCH_ENTRIES = 10
# Entries SNS failed on its side (throttling, an internal error) are sent again this often
# before the invocation fails (and Lambda retries the whole batch).
RETRIES = 2


def _entry(index: int, event: OrderEvent) -> PublishBatchRequestEntryTypeDef:
    return {
        "Id": f"e{index}",
        "Message": event.to_json(),
        "MessageAttributes": event.message_attributes(),
    }


def _size(entry: PublishBatchRequestEntryTypeDef) -> int:
    return len(entry["Message"].encode()) + len(json.dumps(entry.get("MessageAttributes", {})))


def _chunks(
    entries: Sequence[PublishBatchRequestEntryTypeDef],
) -> Iterator[list[PublishBatchRequestEntryTypeDef]]:
    chunk: list[PublishBatchRequestEntryTypeDef] = []
    size = 0
    for entry in entries:
        entry_size = _size(entry)
        if chunk and (len(chunk) == MAX_BATCH_ENTRIES or size + entry_size > MAX_MESSAGE_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        yield chunk


class SnsPublisher:
    """``Publisher`` on the service's topic with PublishBatch (10 events per request)."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, events: Sequence[OrderEvent]) -> list[tuple[OrderEvent, str]]:
        by_id = {f"e{index}": event for index, event in enumerate(events)}
        pending = [_entry(index, event) for index, event in enumerate(events)]
        refused: list[tuple[OrderEvent, str]] = []
        for attempt in range(RETRIES + 1):
            retry: list[PublishBatchRequestEntryTypeDef] = []
            for chunk in _chunks(pending):
                response = self._client.publish_batch(
                    TopicArn=self._topic_arn, PublishBatchRequestEntries=chunk
                )
                entries = {entry["Id"]: entry for entry in chunk}
                for failed in response.get("Failed", []):
                    if failed.get("SenderFault"):
                        why = f"{failed.get('Code')}: {failed.get('Message', '')}"
                        refused.append((by_id[failed["Id"]], why))
                    else:
                        retry.append(entries[failed["Id"]])
            if not retry:
                return refused
            if attempt == RETRIES:
                codes = sorted({entry["Id"] for entry in retry})
                raise PublishFailed(
                    f"SNS did not take {len(retry)} event(s) after {RETRIES + 1} tries: {codes}"
                )
            pending = retry
        return refused  # pragma: no cover - the loop returns or raises


class SqsRejectedLines:
    """``Rejections`` on an SQS queue: the line in the common layer's DLQ envelope (the
    reason, the log group and stream as its source), the log event id as an attribute."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def park(self, batch: LogBatch, rejected: RejectedLine) -> None:
        envelope = dlq_envelope(
            rejected.line.message, rejected.reason, 1, f"{batch.log_group}:{batch.log_stream}"
        )
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(envelope),
            MessageAttributes={
                "log_event_id": {"DataType": "String", "StringValue": rejected.line.id},
                "log_group": {"DataType": "String", "StringValue": batch.log_group},
            },
        )
