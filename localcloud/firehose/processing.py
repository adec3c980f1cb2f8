"""Firehose data transformation with a Lambda function, and what becomes of failed records.

AWS rules (Amazon Data Firehose developer guide, "Transform source data", "Required parameters
for data transformation", "Handle failure in data transformation"):

- with ``ProcessingConfiguration.Enabled`` and a ``Lambda`` processor, Firehose buffers incoming
  records (processor parameters ``BufferSizeInMBs``, default 1, and ``BufferIntervalInSeconds``,
  default 60) and invokes the function synchronously with ``{"invocationId",
  "deliveryStreamArn", "region", "records": [{"recordId", "approximateArrivalTimestamp" (ms),
  "data" (base64)}]}``; a Kinesis-sourced stream adds ``sourceKinesisStreamArn`` and each
  record's ``kinesisRecordMetadata``;
- the function answers ``{"records": [{"recordId", "result", "data"}]}`` for every record it
  was given: ``Ok`` (deliver ``data``, base64), ``Dropped`` (nothing to deliver) or
  ``ProcessingFailed``. A record id missing or repeated makes the whole answer a failure;
- a failed invocation (function error, timeout, an answer that breaks these rules) is retried
  ``NumberOfRetries`` times (default 3); then the batch is skipped and its records count as
  unsuccessfully processed;
- unsuccessfully processed records are written to the S3 bucket under the error output
  prefix with ``!{firehose:error-output-type}`` = ``processing-failed`` (the
  ``processing-failed`` folder when no ErrorOutputPrefix is set), one JSON document per record:
  ``attemptsMade``, ``arrivalTimestamp``, ``errorCode``, ``errorMessage``,
  ``attemptEndingTimestamp``, ``rawData`` (base64), ``lambdaArn``.

The transformed records are then buffered for S3 by the destination's own BufferingHints.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("localcloud.firehose")

MIB = 1024 * 1024
ERROR_OUTPUT_TYPE = "processing-failed"
DEFAULT_RETRIES = 3
DEFAULT_SIZE_MB = 1.0
DEFAULT_INTERVAL_SECONDS = 60.0
_RESULTS = ("Ok", "Dropped", "ProcessingFailed")

# invoke(lambda_arn, payload) -> (function_error or None, response payload)
Invoke = Callable[[str, bytes], tuple[str | None, bytes]]


class ProcessingConfigError(ValueError):
    """A ProcessingConfiguration CreateDeliveryStream refuses (or the local cloud cannot run)."""


@dataclass(frozen=True)
class Processor:
    lambda_arn: str
    retries: int = DEFAULT_RETRIES
    size: int = int(DEFAULT_SIZE_MB * MIB)
    interval: float = DEFAULT_INTERVAL_SECONDS


@dataclass
class Record:
    """A record on its way through Firehose: its bytes and when Firehose received it."""

    data: bytes
    arrival: float  # epoch seconds
    kinesis: dict[str, Any] | None = None  # kinesisRecordMetadata of a Kinesis source
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def processor_of(config: Mapping[str, Any] | None) -> Processor | None:
    """The Lambda processor of an (Extended)S3 destination config; ProcessingConfigError when
    the configuration is one Firehose refuses or the local cloud does not emulate."""
    processing = (config or {}).get("ProcessingConfiguration") or {}
    if str(processing.get("Enabled", "false")).lower() != "true":
        return None
    processors = list(processing.get("Processors") or [])
    others = [str(p.get("Type")) for p in processors if p.get("Type") != "Lambda"]
    if others:
        raise ProcessingConfigError(
            f"Processor type {others[0]} is not supported by the local cloud (Lambda is)"
        )
    if len(processors) != 1:
        raise ProcessingConfigError("ProcessingConfiguration needs exactly one Lambda processor")
    parameters = {
        str(p.get("ParameterName")): str(p.get("ParameterValue"))
        for p in processors[0].get("Parameters") or []
    }
    arn = parameters.get("LambdaArn", "")
    if not arn.startswith("arn:") or ":function:" not in arn:
        raise ProcessingConfigError("The Lambda processor needs a LambdaArn parameter")
    try:
        retries = int(parameters.get("NumberOfRetries", DEFAULT_RETRIES))
        size_mb = float(parameters.get("BufferSizeInMBs", DEFAULT_SIZE_MB))
        interval = float(parameters.get("BufferIntervalInSeconds", DEFAULT_INTERVAL_SECONDS))
    except ValueError as exc:
        raise ProcessingConfigError(f"Invalid processor parameter: {exc}") from exc
    if not 0 <= retries <= 300:
        raise ProcessingConfigError("NumberOfRetries must be between 0 and 300")
    if not 0.2 <= size_mb <= 3:
        raise ProcessingConfigError("The Lambda processor's BufferSizeInMBs must be 0.2-3")
    if not 0 <= interval <= 900:
        raise ProcessingConfigError("The Lambda processor's BufferIntervalInSeconds must be 0-900")
    return Processor(arn, retries, int(size_mb * MIB), interval)


def chunks(records: Sequence[Record], limit: int) -> list[list[Record]]:
    """Consecutive batches of at most ``limit`` bytes (a bigger record goes alone)."""
    batches: list[list[Record]] = []
    current: list[Record] = []
    size = 0
    for record in records:
        if current and size + len(record.data) > limit:
            batches.append(current)
            current, size = [], 0
        current.append(record)
        size += len(record.data)
    if current:
        batches.append(current)
    return batches


class _Failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _request(
    batch: Sequence[Record], stream_arn: str, region: str, source_arn: str | None
) -> bytes:
    records = []
    for record in batch:
        item: dict[str, Any] = {
            "recordId": record.record_id,
            "approximateArrivalTimestamp": int(record.arrival * 1000),
            "data": base64.b64encode(record.data).decode("ascii"),
        }
        if record.kinesis is not None:
            item["kinesisRecordMetadata"] = record.kinesis
        records.append(item)
    event: dict[str, Any] = {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": stream_arn,
        "region": region,
        "records": records,
    }
    if source_arn:
        event["sourceKinesisStreamArn"] = source_arn
    return json.dumps(event).encode("utf-8")


def _answers(payload: bytes, batch: Sequence[Record]) -> dict[str, tuple[str, bytes]]:
    """recordId -> (result, data) from the function's answer, or _Failed."""
    try:
        document = json.loads(payload)
        entries = document["records"]
        if not isinstance(entries, list):
            raise TypeError("records is not a list")
    except (ValueError, TypeError, KeyError) as exc:
        raise _Failed("Lambda.JsonProcessingException", f"Invalid Lambda response: {exc}") from exc
    expected = {record.record_id for record in batch}
    answers: dict[str, tuple[str, bytes]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise _Failed("Lambda.JsonProcessingException", "A returned record is not an object")
        record_id = str(entry.get("recordId"))
        if record_id in answers:
            raise _Failed("Lambda.DuplicatedRecordId", f"Duplicated recordId {record_id}")
        if record_id not in expected:
            raise _Failed("Lambda.MissingRecordId", f"Unknown recordId {record_id}")
        result = entry.get("result")
        if result not in _RESULTS:
            raise _Failed("Lambda.InvalidRecordResult", f"Invalid result {result!r}")
        try:
            data = base64.b64decode(str(entry.get("data") or ""), validate=True)
        except ValueError as exc:
            raise _Failed("Lambda.InvalidRecordData", f"Record data is not base64: {exc}") from exc
        answers[record_id] = (str(result), data)
    missing = expected - set(answers)
    if missing:
        raise _Failed("Lambda.MissingRecordId", f"{len(missing)} record ids were not returned")
    return answers


def _error_document(record: Record, attempts: int, code: str, message: str, arn: str) -> bytes:
    document = {
        "attemptsMade": attempts,
        "arrivalTimestamp": int(record.arrival * 1000),
        "errorCode": code,
        "errorMessage": message,
        "attemptEndingTimestamp": int(time.time() * 1000),
        "rawData": base64.b64encode(record.data).decode("ascii"),
        "lambdaArn": arn,
    }
    return (json.dumps(document) + "\n").encode("utf-8")


def transform(
    batch: Sequence[Record],
    processor: Processor,
    invoke: Invoke,
    *,
    stream_arn: str,
    region: str,
    source_arn: str | None = None,
) -> tuple[list[Record], list[Record]]:
    """Run the processor over ``batch``: (records to deliver, error documents to deliver)."""
    delivered: list[Record] = []
    failed: list[Record] = []
    for chunk in chunks(batch, processor.size):
        payload = _request(chunk, stream_arn, region, source_arn)
        attempts = 0
        failure = _Failed("Lambda.FunctionError", "not invoked")
        answers: dict[str, tuple[str, bytes]] | None = None
        while answers is None and attempts <= processor.retries:
            attempts += 1
            try:
                function_error, response = invoke(processor.lambda_arn, payload)
                if function_error:
                    raise _Failed("Lambda.FunctionError", _error_message(response))
                answers = _answers(response, chunk)
            except _Failed as exc:
                failure = exc
            except Exception as exc:  # the function is gone, the runtime stopped...
                failure = _Failed("Lambda.InvokeFailed", f"{type(exc).__name__}: {exc}")
        if answers is None:
            log.info("transformation by %s failed: %s", processor.lambda_arn, failure.message)
            arn = processor.lambda_arn
            failed += [
                Record(_error_document(r, attempts, failure.code, failure.message, arn), r.arrival)
                for r in chunk
            ]
            continue
        for record in chunk:
            result, data = answers[record.record_id]
            if result == "Ok":
                delivered.append(Record(data, record.arrival, record.kinesis))
            elif result == "ProcessingFailed":
                message = "The Lambda function returned the record with result ProcessingFailed"
                document = _error_document(
                    record, attempts, "Lambda.ProcessingFailedStatus", message, processor.lambda_arn
                )
                failed.append(Record(document, record.arrival))
    return delivered, failed


def _error_message(payload: bytes) -> str:
    try:
        document = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")[:1000]
    if isinstance(document, dict):
        return str(document.get("errorMessage") or document.get("errorType") or document)
    return str(document)


def lambda_invoker(account_id: str, region: str) -> Invoke:
    """Invoke a function of the local cloud synchronously (waiting for a free slot)."""

    def invoke(arn: str, payload: bytes) -> tuple[str | None, bytes]:
        from moto.awslambda.models import lambda_backends

        from localcloud.awslambda import invoke_function
        from localcloud.awslambda.model import InvokeRequest

        function_region = arn.split(":")[3] or region
        fn = lambda_backends[account_id][function_region].get_function(arn)
        result = invoke_function(fn, InvokeRequest(payload=payload))
        return result.function_error, result.payload

    return invoke
