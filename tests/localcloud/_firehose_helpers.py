"""Fixtures and helpers of the Firehose tests (``pytest_plugins = ["_firehose_helpers"]``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT_ID = "123456789012"  # moto's default account, the local cloud's
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/firehose-delivery"


@pytest.fixture
def bucket(aws: Callable[..., Any]) -> Iterator[str]:
    """A fresh S3 bucket, emptied and deleted afterwards."""
    s3 = aws("s3")
    name = f"firehose-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def make_delivery_stream(aws: Callable[..., Any]) -> Iterator[Callable[..., str]]:
    """``make_delivery_stream(bucket, **s3_config) -> name``: a DirectPut stream to S3.

    ``source_arn=`` makes it a KinesisStreamAsSource stream instead. Deleted afterwards.
    """
    firehose = aws("firehose")
    names: list[str] = []

    def make(bucket: str, source_arn: str | None = None, **s3_config: Any) -> str:
        name = f"hose-{uuid.uuid4().hex[:10]}"
        extra: dict[str, Any] = {"DeliveryStreamType": "DirectPut"}
        if source_arn:
            extra = {
                "DeliveryStreamType": "KinesisStreamAsSource",
                "KinesisStreamSourceConfiguration": {
                    "KinesisStreamARN": source_arn,
                    "RoleARN": ROLE_ARN,
                },
            }
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE_ARN,
                "BucketARN": f"arn:aws:s3:::{bucket}",
                **s3_config,
            },
            **extra,
        )
        names.append(name)
        return name

    yield make
    for name in names:
        with contextlib.suppress(ClientError):
            firehose.delete_delivery_stream(DeliveryStreamName=name)


def _written_at(bucket: str, key: str) -> Any:
    """When moto stored the object, to the microsecond (S3 listings round to the second,
    too coarse to order the objects of one delivery stream)."""
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT_ID]["aws"].buckets[bucket].keys[key].last_modified


def objects(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """Every object of ``bucket`` as ``{"Key", "Body", "LastModified"}``, in write order."""
    found = []
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        found.append(
            {
                "Key": item["Key"],
                "Body": body,
                "LastModified": item["LastModified"],
                "WrittenAt": _written_at(bucket, item["Key"]),
            }
        )
    return sorted(found, key=lambda o: (o["WrittenAt"], o["Key"]))
