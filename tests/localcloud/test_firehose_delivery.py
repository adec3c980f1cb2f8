"""Firehose DirectPut delivery to S3: buffering hints, object names, prefixes, compression."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

from localcloud.firehose import DeliveryEngine, FirehoseSettings, current_engine

sys.path.insert(0, str(Path(__file__).parent))
pytest.register_assert_rewrite("_firehose_helpers")
from _firehose_helpers import objects  # noqa: E402 (after the path and rewrite setup)

pytest_plugins = ["_firehose_helpers"]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
KIB_100 = 100 * 1024


def _arn(aws: Callable[..., Any], name: str) -> str:
    description = aws("firehose").describe_delivery_stream(DeliveryStreamName=name)
    return str(description["DeliveryStreamDescription"]["DeliveryStreamARN"])


def _buffered(aws: Callable[..., Any], name: str) -> int:
    engine = current_engine()
    assert engine is not None
    return engine.buffered_bytes(_arn(aws, name))


def test_size_hint_flushes_one_object_when_the_buffer_reaches_size_in_mbs(
    aws: Callable[..., Any], bucket: str, make_delivery_stream: Callable[..., str]
) -> None:
    """AWS rule (Firehose buffering hints): Firehose buffers incoming data and delivers it when
    the buffer reaches SizeInMBs or IntervalInSeconds passes, whichever comes first; the
    object holds the records concatenated as sent, with no delimiter added."""
    firehose, s3 = aws("firehose"), aws("s3")
    name = make_delivery_stream(bucket, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    records = [bytes([65 + n]) * KIB_100 for n in range(11)]
    answer = firehose.put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": data} for data in records[:10]]
    )
    assert answer["FailedPutCount"] == 0
    assert len(answer["RequestResponses"]) == 10
    # 1,024,000 bytes: under 1 MiB, so held in the buffer (the interval is 15 minutes).
    assert _buffered(aws, name) == 10 * KIB_100
    assert objects(s3, bucket) == []

    firehose.put_record(DeliveryStreamName=name, Record={"Data": records[10]})
    delivered = wait_for(lambda: objects(s3, bucket), timeout=10, description="size flush")
    assert len(delivered) == 1
    assert delivered[0]["Body"] == b"".join(records)
    assert _buffered(aws, name) == 0


def test_interval_hint_flushes_after_interval_seconds_with_the_default_object_name(
    aws: Callable[..., Any], bucket: str, make_delivery_stream: Callable[..., str]
) -> None:
    """AWS rule (Firehose buffering hints, S3 object name format): a buffer under SizeInMBs is
    delivered once IntervalInSeconds has passed; the key is <Prefix> + the UTC time prefix
    YYYY/MM/dd/HH/ + <stream>-<version>-<YYYY-MM-dd-HH-mm-ss>-<uuid>, the Prefix used as given."""
    firehose, s3 = aws("firehose"), aws("s3")
    name = make_delivery_stream(
        bucket, Prefix="raw/", BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 1}
    )
    started = time.monotonic()
    firehose.put_record_batch(
        DeliveryStreamName=name,
        Records=[{"Data": b'{"n": 1}\n'}, {"Data": b'{"n": 2}\n'}, {"Data": b'{"n": 3}'}],
    )
    assert _buffered(aws, name) == 26
    delivered = wait_for(lambda: objects(s3, bucket), timeout=10, description="interval flush")
    assert time.monotonic() - started >= 1.0
    assert len(delivered) == 1
    assert delivered[0]["Body"] == b'{"n": 1}\n{"n": 2}\n{"n": 3}'
    now = dt.datetime.now(dt.UTC)
    key_format = re.compile(
        rf"raw/(\d{{4}})/(\d{{2}})/(\d{{2}})/(\d{{2}})/{name}-1-"
        rf"(\d{{4}})-(\d{{2}})-(\d{{2}})-(\d{{2}})-\d{{2}}-\d{{2}}-{UUID}"
    )
    match = key_format.fullmatch(delivered[0]["Key"])
    assert match, delivered[0]["Key"]
    assert match.group(1, 2, 3) == match.group(5, 6, 7)
    assert abs(int(match.group(1)) - now.year) <= 1


def test_custom_prefix_expressions_are_evaluated_in_utc(
    aws: Callable[..., Any], bucket: str, make_delivery_stream: Callable[..., str]
) -> None:
    """AWS rule (custom prefixes for S3 objects): !{timestamp:<Java pattern>} is the UTC
    arrival time of the object's oldest record (every use is the same instant),
    !{firehose:random-string} is 11 characters, and a custom prefix replaces the default
    YYYY/MM/dd/HH time prefix."""
    firehose, s3 = aws("firehose"), aws("s3")
    name = make_delivery_stream(
        bucket,
        Prefix="events/dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/!{firehose:random-string}/",
        ErrorOutputPrefix="failed/!{firehose:error-output-type}/!{timestamp:yyyy}/",
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
    )
    before = dt.datetime.now(dt.UTC)
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"hello"})
    delivered = wait_for(lambda: objects(s3, bucket), timeout=10, description="delivery")
    after = dt.datetime.now(dt.UTC)
    match = re.fullmatch(
        rf"events/dt=(\d{{4}}-\d{{2}}-\d{{2}})/h=(\d{{2}})/[A-Za-z0-9]{{11}}/{name}-1-"
        rf"\d{{4}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-{UUID}",
        delivered[0]["Key"],
    )
    assert match, delivered[0]["Key"]
    assert (match.group(1), match.group(2)) in {
        (moment.strftime("%Y-%m-%d"), moment.strftime("%H")) for moment in (before, after)
    }
    assert delivered[0]["Body"] == b"hello"


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"Prefix": "dt=!{timestamp:yyyy}/"}, "ErrorOutputPrefix cannot be null or empty"),
        (
            {"Prefix": "!{firehose:error-output-type}/", "ErrorOutputPrefix": "e/"},
            "only allowed in ErrorOutputPrefix",
        ),
        ({"BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 60}}, "between 1 and 128"),
        ({"BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 901}}, "between 0 and 900"),
        (
            {
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [{"Type": "AppendDelimiterToRecord", "Parameters": []}],
                }
            },
            "not supported by the local cloud",
        ),
    ],
)
def test_invalid_destination_configurations_are_refused(
    aws: Callable[..., Any],
    bucket: str,
    make_delivery_stream: Callable[..., str],
    config: dict[str, Any],
    reason: str,
) -> None:
    """AWS rules (CreateDeliveryStream, custom prefixes): ErrorOutputPrefix is required when
    Prefix uses expressions, !{firehose:error-output-type} only goes in ErrorOutputPrefix,
    SizeInMBs is 1-128 and IntervalInSeconds 0-900. A processor the local cloud does not run
    (here AppendDelimiterToRecord) is refused by name instead of being silently skipped."""
    with pytest.raises(ClientError) as caught:
        make_delivery_stream(bucket, **config)
    assert caught.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert reason in caught.value.response["Error"]["Message"]


def test_gzip_compression_writes_a_gz_object(
    aws: Callable[..., Any], bucket: str, make_delivery_stream: Callable[..., str]
) -> None:
    """AWS rule (S3 object name format, CompressionFormat): with GZIP the delivered object is
    the gzip of the concatenated records and its name ends with the .gz file extension."""
    firehose, s3 = aws("firehose"), aws("s3")
    name = make_delivery_stream(
        bucket,
        CompressionFormat="GZIP",
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0},
    )
    firehose.put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": b"one,"}, {"Data": b"two"}]
    )
    delivered = wait_for(lambda: objects(s3, bucket), timeout=10, description="delivery")
    assert delivered[0]["Key"].endswith(".gz")
    assert gzip.decompress(delivered[0]["Body"]) == b"one,two"


def test_stopping_the_engine_delivers_the_buffer_and_ends_its_thread(
    aws: Callable[..., Any], bucket: str, make_delivery_stream: Callable[..., str]
) -> None:
    """AWS rule (Firehose data delivery): data Firehose has accepted is delivered, not dropped,
    so a local cloud that stops flushes what is still buffered; and it leaves no thread."""
    from moto.firehose.models import firehose_backends

    s3 = aws("s3")
    name = make_delivery_stream(bucket, BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900})
    stream = firehose_backends["123456789012"]["us-east-1"].delivery_streams[name]
    engine = DeliveryEngine(FirehoseSettings(tick_seconds=0.01))
    engine.start()
    thread = engine._thread
    assert thread is not None
    assert thread.is_alive()
    engine.register("123456789012", "us-east-1", "aws", stream)
    assert engine.accept(stream.delivery_stream_arn, [b"kept ", b"on stop"])
    assert objects(s3, bucket) == []

    engine.stop()
    assert not engine.alive
    assert thread not in threading.enumerate()
    delivered = objects(s3, bucket)
    assert [o["Body"] for o in delivered] == [b"kept on stop"]
