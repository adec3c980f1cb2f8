"""Kinesis PutRecord/PutRecords over several shards: routing by hash key, order per shard."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

MAX_HASH_KEY = 2**128 - 1


@pytest.fixture
def make_stream(aws: Callable[..., Any]) -> Iterator[Callable[[int], list[dict[str, Any]]]]:
    """``make_stream(shards) -> (name, shards)``: a provisioned stream, deleted afterwards."""
    kinesis = aws("kinesis")
    names: list[str] = []

    def make(shard_count: int) -> list[dict[str, Any]]:
        name = f"routing-{uuid.uuid4().hex[:10]}"
        kinesis.create_stream(StreamName=name, ShardCount=shard_count)
        names.append(name)
        return [
            {"StreamName": name, **shard}
            for shard in kinesis.list_shards(StreamName=name)["Shards"]
        ]

    yield make
    for name in names:
        kinesis.delete_stream(StreamName=name)


def _owner(shards: list[dict[str, Any]], hash_key: int) -> str:
    for shard in shards:
        low = int(shard["HashKeyRange"]["StartingHashKey"])
        high = int(shard["HashKeyRange"]["EndingHashKey"])
        if low <= hash_key <= high:
            return str(shard["ShardId"])
    raise AssertionError(f"no shard owns {hash_key}")


def _read_shard(kinesis: Any, stream: str, shard_id: str) -> list[dict[str, Any]]:
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return list(kinesis.get_records(ShardIterator=iterator, Limit=10000)["Records"])


@pytest.mark.parametrize("shard_count", [2, 3, 4])
def test_partition_key_routes_by_md5_into_the_owning_shard_in_order(
    aws: Callable[..., Any], make_stream: Callable[[int], list[dict[str, Any]]], shard_count: int
) -> None:
    """AWS rule (Kinesis Data Streams, PutRecord/PutRecords): the partition key is hashed with
    MD5 to a 128-bit integer and the record goes to the shard whose HashKeyRange contains it;
    records with the same partition key land in the same shard, with sequence numbers that
    increase in the order they were put."""
    kinesis = aws("kinesis")
    shards = make_stream(shard_count)
    stream = shards[0]["StreamName"]
    keys = [f"customer-{n}" for n in range(12)]
    sent: dict[str, list[str]] = {key: [] for key in keys}
    for round_number in range(5):
        entries = []
        for key in keys:
            data = f"{key}#{round_number}"
            sent[key].append(data)
            entries.append({"Data": data.encode(), "PartitionKey": key})
        answer = kinesis.put_records(StreamName=stream, Records=entries)
        assert answer["FailedRecordCount"] == 0
        for key, result in zip(keys, answer["Records"], strict=True):
            expected = _owner(shards, int(hashlib.md5(key.encode()).hexdigest(), 16))
            assert result["ShardId"] == expected
    single = kinesis.put_record(
        StreamName=stream, Data=b"customer-0#last", PartitionKey="customer-0"
    )
    sent["customer-0"].append("customer-0#last")
    assert single["ShardId"] == _owner(shards, int(hashlib.md5(b"customer-0").hexdigest(), 16))

    used_shards = set()
    for shard in shards:
        records = _read_shard(kinesis, stream, shard["ShardId"])
        numbers = [int(record["SequenceNumber"]) for record in records]
        assert numbers == sorted(numbers)
        assert len(set(numbers)) == len(numbers)
        for key in keys:
            mine = [r["Data"].decode() for r in records if r["PartitionKey"] == key]
            if mine:
                used_shards.add(shard["ShardId"])
                assert mine == sent[key], f"{key} out of order or split across shards"
    # 12 keys over at most 4 shards: the keys really spread over more than one shard.
    assert len(used_shards) > 1


def test_explicit_hash_key_overrides_the_partition_key_and_range_ends_are_inclusive(
    aws: Callable[..., Any], make_stream: Callable[[int], list[dict[str, Any]]]
) -> None:
    """AWS rule (PutRecord ExplicitHashKey; Shard HashKeyRange): an ExplicitHashKey decides the
    shard instead of the partition key's hash, and a shard owns both its StartingHashKey and
    its EndingHashKey, so 2**128-1 belongs to the last shard and a shard's EndingHashKey to it."""
    kinesis = aws("kinesis")
    shards = make_stream(2)
    stream = shards[0]["StreamName"]
    first, last = shards[0], shards[1]
    for hash_key, owner in (
        (first["HashKeyRange"]["EndingHashKey"], first["ShardId"]),
        (last["HashKeyRange"]["StartingHashKey"], last["ShardId"]),
        (str(MAX_HASH_KEY), last["ShardId"]),
        ("0", first["ShardId"]),
    ):
        answer = kinesis.put_record(
            StreamName=stream, Data=b"x", PartitionKey="same-key", ExplicitHashKey=hash_key
        )
        assert answer["ShardId"] == owner, hash_key


def test_sequence_numbers_are_large_unique_per_stream_and_increase_per_shard(
    aws: Callable[..., Any], make_stream: Callable[[int], list[dict[str, Any]]]
) -> None:
    """AWS rule (Kinesis PutRecord SequenceNumber): a sequence number is a large numeric
    string (56 digits), unique within the stream, and sequence numbers increase over time
    within a shard, even when producers put concurrently."""
    kinesis = aws("kinesis")
    shards = make_stream(3)
    stream = shards[0]["StreamName"]

    def put(n: int) -> tuple[str, str]:
        answer = kinesis.put_record(StreamName=stream, Data=f"{n}".encode(), PartitionKey=f"k{n}")
        return str(answer["ShardId"]), str(answer["SequenceNumber"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(put, range(120)))
    numbers = [sequence for _, sequence in results]
    assert all(re.fullmatch(r"\d{56}", sequence) for sequence in numbers)
    assert len(set(numbers)) == len(numbers)
    for shard in shards:
        stored = [r["SequenceNumber"] for r in _read_shard(kinesis, stream, shard["ShardId"])]
        assert stored == sorted(stored, key=int)
        assert sorted(stored) == sorted(
            s for shard_id, s in results if shard_id == shard["ShardId"]
        )
