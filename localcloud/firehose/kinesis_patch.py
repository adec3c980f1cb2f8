"""Kinesis routing fixes (moto 5.2.5), one concern: which shard a record lands in.

Kinesis maps a record to the *open* shard whose hash key range holds the record's hash key:
the 128-bit integer of the MD5 of its partition key, or its ``ExplicitHashKey``. Both ends of
a shard's range are inclusive (``HashKeyRange.EndingHashKey`` belongs to the shard).

Replaced, in ``moto/kinesis/models.py``:

- ``Stream.get_shard_for_key(partition_key, explicit_hash_key)``: moto compares
  ``starting_hash <= key < ending_hash``, so a key equal to a shard's EndingHashKey (for the
  last shard, ``2**128 - 1``) finds no shard and PutRecord fails with an internal error; moto
  also considers shards already closed by a split or a merge. The replacement uses the
  inclusive range over open shards only, with moto's argument checks.

- ``Shard.put_record(partition_key, data, explicit_hash_key)``: moto numbers records 1, 2,
  3... in each shard, so two shards of a stream hand out the same sequence numbers, and two
  concurrent puts to one shard can take the same number (moto notes it is not safe for
  concurrency). Kinesis sequence numbers are large numeric strings (56 digits), unique in a
  stream and increasing within a shard. The replacement draws them from one process-wide
  counter above a 56-digit base, under a lock: unique across every shard and stream, and
  still integers, which is how moto's iterators and the local event source pollers compare
  them.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from moto.kinesis.exceptions import InvalidArgumentError
from moto.kinesis.models import Record, Shard, Stream
from moto.utilities.utils import md5_hash

from localcloud.cloudformation._patching import replace

MAX_HASH_KEY = 2**128 - 1
# Kinesis sequence numbers are 56-digit decimal strings; every local one is above this base.
SEQUENCE_BASE = 49 * 10**54
_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


def hash_key_of(partition_key: str, explicit_hash_key: str | None = None) -> int:
    """The hash key Kinesis routes on: ExplicitHashKey, else the MD5 of the partition key."""
    if explicit_hash_key:
        return int(explicit_hash_key)
    return int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)


def _get_shard_for_key(self: Stream, partition_key: str, explicit_hash_key: str) -> Shard | None:
    if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= 256:
        raise InvalidArgumentError("partition_key")
    if explicit_hash_key:
        if not isinstance(explicit_hash_key, str) or not explicit_hash_key.isdigit():
            raise InvalidArgumentError("explicit_hash_key")
        if int(explicit_hash_key) > MAX_HASH_KEY:
            raise InvalidArgumentError("explicit_hash_key")
    key = hash_key_of(partition_key, explicit_hash_key)
    shard: Any
    for shard in self.shards.values():
        if shard.is_open and shard.starting_hash <= key <= shard.ending_hash:
            return shard  # type: ignore[no-any-return,unused-ignore]
    return None


def _put_record(self: Shard, partition_key: str, data: str, explicit_hash_key: str) -> str:
    with _sequence_lock:
        sequence_number = SEQUENCE_BASE + next(_sequence)
        self.records[sequence_number] = Record(
            partition_key, data, sequence_number, explicit_hash_key
        )
    return str(sequence_number)


def apply() -> None:
    """Install the routing fix (idempotent)."""
    replace(
        Stream,
        "get_shard_for_key",
        _get_shard_for_key,
        "inclusive EndingHashKey and open shards only, as Kinesis routes records",
    )
    replace(
        Shard,
        "put_record",
        _put_record,
        "56-digit sequence numbers, unique per stream and increasing per shard",
    )
