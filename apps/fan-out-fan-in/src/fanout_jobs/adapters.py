"""The task queue on SQS (SendMessageBatch, ten at a time, one retry of what failed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SQS_BATCH = 10


class SqsTaskQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send_all(self, bodies: Sequence[str]) -> list[int]:
        failed: list[int] = []
        for start in range(0, len(bodies), SQS_BATCH):
            indexes = list(range(start, min(start + SQS_BATCH, len(bodies))))
            for _attempt in range(2):
                indexes = self._send(indexes, bodies)
                if not indexes:
                    break
            failed.extend(indexes)
        return failed

    def _send(self, indexes: list[int], bodies: Sequence[str]) -> list[int]:
        response = self._client.send_message_batch(
            QueueUrl=self._url,
            Entries=[{"Id": str(i), "MessageBody": bodies[i]} for i in indexes],
        )
        return sorted(int(entry["Id"]) for entry in response.get("Failed", []))
