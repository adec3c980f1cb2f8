"""Failure capture on asynchronous paths: partial batches, async failure records, DLQs.

- ``process_sqs_batch``: an SQS consumer reports only the messages that failed, so the
  rest of the batch is not retried (needs ``FunctionResponseTypes: [ReportBatchItemFailures]``
  on the event source).
- ``parse_async_failure``: read the record Lambda sends to an on-failure destination after
  an asynchronous invocation has used up its retries or its maximum event age.
- ``send_to_dlq`` / ``dlq_envelope``: park a failed item in a queue with what went wrong.
- ``redrive``: move what a DLQ holds back to its source queue once the cause is fixed.

AWS clients are passed in, so every function here runs against a fake, moto or AWS alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

__all__ = [
    "ENVELOPE_KIND",
    "AsyncFailureRecord",
    "RedriveError",
    "dlq_envelope",
    "parse_async_failure",
    "process_sqs_batch",
    "redrive",
    "send_to_dlq",
    "unwrap_envelope",
]

# Marks a message body as our envelope, so redrive can hand the original payload back.
ENVELOPE_KIND = "common_layer.dlq-envelope/1"


def process_sqs_batch(
    event: Mapping[str, Any],
    context: Any,
    record_handler: Callable[[SQSRecord], Any],
    *,
    fifo: bool = False,
    skip_group_on_error: bool = False,
) -> dict[str, Any]:
    """Run ``record_handler`` on each message of an SQS event; return the partial batch response.

    The result is ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}`` naming
    the messages whose handler raised; Lambda deletes the others. While a message is
    handled, its id is the logs' correlation id. With ``fifo=True`` processing stops at the
    first failure and every later message is reported too, so a message group is never
    processed out of order; ``skip_group_on_error=True`` keeps processing the other groups.
    If every message fails, this raises (Powertools' rule), so the whole batch is retried.
    """
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        SqsFifoPartialProcessor,
        process_partial_response,
    )

    from common_layer.observability import logger

    def handle(record: SQSRecord) -> Any:
        previous = logger.get_correlation_id()
        logger.set_correlation_id(record.message_id)
        try:
            return record_handler(record)
        finally:
            logger.set_correlation_id(previous)

    processor = (
        SqsFifoPartialProcessor(skip_group_on_error=skip_group_on_error)
        if fifo
        else BatchProcessor(event_type=EventType.SQS)
    )
    response = process_partial_response(
        event=dict(event), record_handler=handle, processor=processor, context=context
    )
    return dict(response)


class InvalidFailureRecord(ValueError):
    """The input is not a Lambda asynchronous-invocation record."""


@dataclass(frozen=True)
class AsyncFailureRecord:
    """What Lambda sends an on-failure destination after an asynchronous invocation failed.

    ``condition`` is ``RetriesExhausted`` (the function kept failing) or
    ``EventAgeExceeded`` (the event waited longer than MaximumEventAgeInSeconds; then the
    function may never have run and the response fields are None). ``request_payload``
    is the original event: invoke the function with it again to replay.
    """

    version: str
    timestamp: str
    request_id: str
    function_arn: str
    condition: str
    approximate_invoke_count: int
    request_payload: Any
    status_code: int | None = None
    executed_version: str | None = None
    function_error: str | None = None
    response_payload: Any = None

    @property
    def function_name(self) -> str:
        """``arn:aws:lambda:region:account:function:name[:qualifier]`` -> ``name``."""
        parts = self.function_arn.split(":")
        return parts[6] if len(parts) > 6 else self.function_arn

    @property
    def failed_at(self) -> datetime:
        return datetime.fromisoformat(self.timestamp.replace("Z", "+00:00"))

    @property
    def error_type(self) -> str | None:
        payload = self.response_payload
        return payload.get("errorType") if isinstance(payload, Mapping) else None

    @property
    def error_message(self) -> str | None:
        payload = self.response_payload
        if isinstance(payload, Mapping):
            message = payload.get("errorMessage")
            return None if message is None else str(message)
        return None


def parse_async_failure(record: Mapping[str, Any] | str | bytes) -> AsyncFailureRecord:
    """Read an async-invocation record: the dict, or the JSON text of an SQS/SNS body.

    Raises ``InvalidFailureRecord`` (a ValueError) naming the first field that is missing.
    """
    if isinstance(record, str | bytes):
        try:
            record = json.loads(record)
        except ValueError as error:
            raise InvalidFailureRecord(f"record is not valid JSON: {error}") from None
    if not isinstance(record, Mapping):
        raise InvalidFailureRecord("record must be a JSON object")
    request = _mapping(record, "requestContext")
    response = record.get("responseContext")
    if response is not None and not isinstance(response, Mapping):
        raise InvalidFailureRecord("'responseContext' must be an object")
    response = response or {}
    try:
        return AsyncFailureRecord(
            version=str(_required(record, "version", "")),
            timestamp=str(_required(record, "timestamp", "")),
            request_id=str(_required(request, "requestId", "requestContext.")),
            function_arn=str(_required(request, "functionArn", "requestContext.")),
            condition=str(_required(request, "condition", "requestContext.")),
            approximate_invoke_count=int(request.get("approximateInvokeCount", 0)),
            request_payload=record.get("requestPayload"),
            status_code=_optional_int(response.get("statusCode")),
            executed_version=response.get("executedVersion"),
            function_error=response.get("functionError"),
            response_payload=record.get("responsePayload"),
        )
    except (TypeError, ValueError) as error:
        if isinstance(error, InvalidFailureRecord):
            raise
        raise InvalidFailureRecord(f"record has a field of the wrong type: {error}") from None


def _mapping(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = record.get(key)
    if not isinstance(value, Mapping):
        raise InvalidFailureRecord(f"record has no '{key}' object")
    return value


def _required(record: Mapping[str, Any], key: str, prefix: str) -> Any:
    if record.get(key) is None:
        raise InvalidFailureRecord(f"record has no '{prefix}{key}'")
    return record[key]


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def dlq_envelope(
    payload: Any, error: BaseException | str, attempt: int, source: str | None = None
) -> dict[str, Any]:
    """The body of a DLQ message: the original payload and what went wrong with it.

    ``error`` is the exception (its type and message are kept) or a description.
    ``source`` names where the payload came from (a queue URL, function ARN...), for
    whoever triages the DLQ. The payload must be JSON-serialisable.
    """
    error_info: dict[str, str | None]
    if isinstance(error, BaseException):
        error_info = {"type": type(error).__name__, "message": str(error)}
    else:
        error_info = {"type": None, "message": error}
    return {
        "kind": ENVELOPE_KIND,
        "error": error_info,
        "attempt": attempt,
        "failed_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "source": source,
        "payload": payload,
    }


def unwrap_envelope(body: str) -> str:
    """The original message body: the envelope's payload if ``body`` is one, else ``body``.

    A string payload is returned as it was; any other payload as its JSON text.
    """
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not (isinstance(document, dict) and document.get("kind") == ENVELOPE_KIND):
        return body
    if "payload" not in document:
        return body
    payload = document["payload"]
    return payload if isinstance(payload, str) else json.dumps(payload)


def _is_fifo(queue_url: str) -> bool:
    return queue_url.endswith(".fifo")


def send_to_dlq(
    sqs_client: SQSClient,
    queue_url: str,
    payload: Any,
    error: BaseException | str,
    attempt: int,
    source: str | None = None,
    *,
    message_group_id: str | None = None,
) -> str:
    """Send ``payload`` wrapped in ``dlq_envelope`` to a queue; return the message id.

    A FIFO queue needs ``message_group_id``; the deduplication id is a hash of the body.
    """
    body = json.dumps(dlq_envelope(payload, error, attempt, source))
    if not _is_fifo(queue_url):
        return sqs_client.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
    if not message_group_id:
        raise ValueError(f"{queue_url} is a FIFO queue: pass message_group_id")
    return sqs_client.send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageGroupId=message_group_id,
        MessageDeduplicationId=hashlib.sha256(body.encode()).hexdigest(),
    )["MessageId"]


class RedriveError(RuntimeError):
    """Some messages of a redrive failed; ``moved`` were moved before it stopped."""

    def __init__(self, moved: int, failures: list[str]) -> None:
        super().__init__(f"moved {moved} message(s), then: " + "; ".join(failures))
        self.moved = moved
        self.failures = failures


def redrive(
    sqs_client: SQSClient,
    dlq_url: str,
    source_url: str,
    *,
    max_messages: int | None = None,
    wait_seconds: int = 1,
) -> int:
    """Move messages from a DLQ back to its source queue; return how many were moved.

    Each message is sent to ``source_url`` (our envelope unwrapped to the original body,
    message attributes kept) and deleted from the DLQ only after the send succeeded, so a
    crash midway duplicates at worst, never loses. FIFO: the message group is kept, order
    within a group is kept, and the deduplication id is derived from the DLQ message id (the
    original one would be swallowed by the source's 5-minute deduplication window).
    Stops when a receive waiting ``wait_seconds`` finds nothing, or after ``max_messages``
    (a guard for messages that fail again and cycle back into the DLQ while it runs).
    Raises ``RedriveError`` if a send or delete fails; what was moved until then stays moved
    and what was not sent stays in the DLQ.
    """
    moved = 0
    fifo = _is_fifo(source_url)
    while max_messages is None or moved < max_messages:
        batch_size = 10 if max_messages is None else min(10, max_messages - moved)
        messages = sqs_client.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not messages:
            break
        entries = [
            _redrive_entry(str(index), message, fifo) for index, message in enumerate(messages)
        ]
        sent = sqs_client.send_message_batch(QueueUrl=source_url, Entries=entries)
        succeeded = {entry["Id"] for entry in sent.get("Successful", [])}
        problems = [
            f"not sent ({failure.get('Code')}): {failure.get('Message', '')}"
            for failure in sent.get("Failed", [])
        ]
        to_delete: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if str(index) in succeeded
        ]
        if to_delete:
            deleted = sqs_client.delete_message_batch(QueueUrl=dlq_url, Entries=to_delete)
            moved += len(deleted.get("Successful", []))
            problems += [
                f"sent but not deleted, so it will be redriven again ({failure.get('Code')})"
                for failure in deleted.get("Failed", [])
            ]
        if problems:
            raise RedriveError(moved, problems)
    return moved


def _redrive_entry(
    entry_id: str, message: MessageTypeDef, fifo: bool
) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {
        "Id": entry_id,
        "MessageBody": unwrap_envelope(message["Body"]),
    }
    attributes = message.get("MessageAttributes")
    if attributes:
        entry["MessageAttributes"] = attributes
    if fifo:
        group = message.get("Attributes", {}).get("MessageGroupId")
        if not group:
            raise ValueError(
                f"message {message['MessageId']} has no MessageGroupId; "
                "a FIFO source queue needs its DLQ to be FIFO too"
            )
        entry["MessageGroupId"] = group
        entry["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
    return entry
