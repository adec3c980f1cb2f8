"""The one place where the Firehose engine reaches into moto's Firehose backend (moto 5.2.5).

moto writes one S3 object per PutRecord/PutRecordBatch call, ignores BufferingHints and
never reads a Kinesis source. Replaced, in ``moto/firehose/models.py``:

- ``FirehoseBackend.create_delivery_stream(...)``: also checks what Firehose checks and moto
  does not (BufferingHints ranges, the prefix expression rules, the Lambda processor's
  parameters, a Kinesis source for a KinesisStreamAsSource stream), refuses processor types
  other than Lambda by name (not emulated), then hands the new stream to the delivery engine;
- ``FirehoseBackend.delete_delivery_stream(name)``: the engine forgets the stream;
- ``FirehoseBackend.put_record_batch(name, records)`` (PutRecord goes through it too):
  refused on a KinesisStreamAsSource stream as Firehose refuses it, otherwise the records go
  to the engine's buffer instead of one S3 object per call;
- ``FirehoseBackend.update_destination(...)``: the same checks on the updated S3 config.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from moto.firehose.exceptions import InvalidArgumentException, ResourceNotFoundException
from moto.firehose.models import FirehoseBackend
from moto.moto_api._internal import mock_random

from localcloud.cloudformation._patching import replace
from localcloud.firehose import prefixes, processing
from localcloud.firehose.engine import DeliveryEngine, destination_of

MAX_RECORD_BYTES = 1000 * 1024  # Firehose: a record is at most 1,000 KiB before base64
_engine: DeliveryEngine | None = None
_originals: dict[str, Callable[..., Any]] = {}


def set_engine(engine: DeliveryEngine | None) -> None:
    global _engine
    _engine = engine


def check_s3_config(config: dict[str, Any] | None) -> None:
    """Firehose's own checks of an (Extended)S3 destination, as InvalidArgumentException."""
    if not config:
        return
    hints = config.get("BufferingHints") or {}
    size = hints.get("SizeInMBs")
    interval = hints.get("IntervalInSeconds")
    if size is not None and not 1 <= int(size) <= 128:
        raise InvalidArgumentException(
            f"BufferingHints.SizeInMBs must be between 1 and 128, got {size}"
        )
    if interval is not None and not 0 <= int(interval) <= 900:
        raise InvalidArgumentException(
            f"BufferingHints.IntervalInSeconds must be between 0 and 900, got {interval}"
        )
    compression = str(config.get("CompressionFormat", "UNCOMPRESSED")).upper()
    if compression not in ("UNCOMPRESSED", "GZIP"):
        raise InvalidArgumentException(
            f"CompressionFormat {compression} is not supported by the local cloud "
            "(UNCOMPRESSED and GZIP are)"
        )
    try:
        processing.processor_of(config)
    except processing.ProcessingConfigError as exc:
        raise InvalidArgumentException(str(exc)) from exc
    try:
        prefixes.validate(str(config.get("Prefix", "")), str(config.get("ErrorOutputPrefix", "")))
    except prefixes.PrefixError as exc:
        raise InvalidArgumentException(str(exc)) from exc


def _create_delivery_stream(
    self: FirehoseBackend,
    region: str,
    delivery_stream_name: str,
    delivery_stream_type: str,
    kinesis_stream_source_configuration: dict[str, Any],
    delivery_stream_encryption_configuration_input: dict[str, Any],
    s3_destination_configuration: dict[str, Any],
    extended_s3_destination_configuration: dict[str, Any],
    redshift_destination_configuration: dict[str, Any],
    elasticsearch_destination_configuration: dict[str, Any],
    splunk_destination_configuration: dict[str, Any],
    http_endpoint_destination_configuration: dict[str, Any],
    snowflake_destination_configuration: dict[str, Any],
    iceberg_destination_configuration: dict[str, Any],
    tags: list[dict[str, str]],
) -> str:
    check_s3_config(extended_s3_destination_configuration)
    check_s3_config(s3_destination_configuration)
    source = kinesis_stream_source_configuration or {}
    if delivery_stream_type == "KinesisStreamAsSource" and not source.get("KinesisStreamARN"):
        raise InvalidArgumentException(
            "KinesisSourceStreamConfig is required for KinesisStreamAsSource stream type"
        )
    arn = str(
        _originals["create_delivery_stream"](
            self,
            region,
            delivery_stream_name,
            delivery_stream_type,
            kinesis_stream_source_configuration,
            delivery_stream_encryption_configuration_input,
            s3_destination_configuration,
            extended_s3_destination_configuration,
            redshift_destination_configuration,
            elasticsearch_destination_configuration,
            splunk_destination_configuration,
            http_endpoint_destination_configuration,
            snowflake_destination_configuration,
            iceberg_destination_configuration,
            tags,
        )
    )
    if _engine is not None:
        stream = self.delivery_streams[delivery_stream_name]
        if destination_of(stream):
            _engine.register(self.account_id, region, self.partition, stream)
    return arn


def _delete_delivery_stream(self: FirehoseBackend, delivery_stream_name: str) -> None:
    stream = self.delivery_streams.get(delivery_stream_name)
    _originals["delete_delivery_stream"](self, delivery_stream_name)
    if _engine is not None and stream is not None:
        _engine.unregister(stream.delivery_stream_arn)


def _record_bytes(record: dict[str, Any]) -> bytes:
    data = record.get("Data", b"")
    if isinstance(data, str):
        return base64.b64decode(data)
    return bytes(data)


def _put_record_batch(
    self: FirehoseBackend, delivery_stream_name: str, records: list[dict[str, bytes]]
) -> dict[str, Any]:
    stream = self.delivery_streams.get(delivery_stream_name)
    if not stream:
        raise ResourceNotFoundException(
            f"Firehose {delivery_stream_name} under account {self.account_id} not found."
        )
    if stream.delivery_stream_type == "KinesisStreamAsSource":
        raise InvalidArgumentException(
            "This operation is not permitted on KinesisStreamAsSource delivery stream type."
        )
    data = [_record_bytes(record) for record in records]
    for item in data:
        if len(item) > MAX_RECORD_BYTES:
            raise InvalidArgumentException(
                f"Record size {len(item)} exceeds the limit of {MAX_RECORD_BYTES} bytes"
            )
    if _engine is None or not _engine.accept(stream.delivery_stream_arn, data):
        result: dict[str, Any] = _originals["put_record_batch"](self, delivery_stream_name, records)
        return result
    return {
        "FailedPutCount": 0,
        "Encrypted": False,
        "RequestResponses": [{"RecordId": mock_random.uuid4().hex * 2} for _ in records],
    }


def _update_destination(
    self: FirehoseBackend,
    delivery_stream_name: str,
    current_delivery_stream_version_id: str,
    destination_id: str,
    s3_destination_update: dict[str, Any],
    extended_s3_destination_update: dict[str, Any],
    s3_backup_mode: str,
    redshift_destination_update: dict[str, Any],
    elasticsearch_destination_update: dict[str, Any],
    splunk_destination_update: dict[str, Any],
    http_endpoint_destination_update: dict[str, Any],
    snowflake_destination_configuration: dict[str, Any],
    iceberg_destination_update: dict[str, Any],
) -> None:
    stream = self.delivery_streams.get(delivery_stream_name)
    current = destination_of(stream) if stream is not None else {}
    for update in (s3_destination_update, extended_s3_destination_update):
        if update:
            check_s3_config(current | update)
    _originals["update_destination"](
        self,
        delivery_stream_name,
        current_delivery_stream_version_id,
        destination_id,
        s3_destination_update,
        extended_s3_destination_update,
        s3_backup_mode,
        redshift_destination_update,
        elasticsearch_destination_update,
        splunk_destination_update,
        http_endpoint_destination_update,
        snowflake_destination_configuration,
        iceberg_destination_update,
    )


def apply() -> None:
    """Install the replacements (idempotent)."""
    for name, function in (
        ("create_delivery_stream", _create_delivery_stream),
        ("delete_delivery_stream", _delete_delivery_stream),
        ("put_record_batch", _put_record_batch),
        ("update_destination", _update_destination),
    ):
        _originals[name] = replace(
            FirehoseBackend, name, function, "buffered delivery to S3 as Firehose does it"
        )
