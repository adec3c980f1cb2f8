"""The jobs table: one job item and one item per task, under the job's id.

Items (partition key ``job_id``, sort key ``sk``):

- ``sk = "JOB"``: ``status`` (RUNNING, COMPLETED, FAILED), ``expected`` (the task count),
  ``inputs`` (task i reads ``inputs[i]``), the counters ``completed`` and ``failed``, the
  string sets ``done_tasks`` / ``failed_tasks`` (task ids already counted),
  ``duplicates_ignored``, ``aggregations`` (aggregator invocations seen),
  ``aggregation_claimed_at``, ``result_key``, ``created_at``, ``finished_at``, ``reason``.
- ``sk = "TASK#00007"``: one task's outcome: ``state`` (DONE or FAILED), ``input``, and its
  partial result (``rows``, ``totals``) or the ``reason`` it failed.

The fan-in rests on one atomic write per task (``count_task``): a conditional UpdateItem
adds the task id to a set and 1 to a counter only if the id is in neither set yet, and
returns the new item, so a task delivered twice is counted once and exactly one writer sees
``completed + failed == expected``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

JOB_SK = "JOB"
TASK_PREFIX = "TASK#"

RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"

Outcome = Literal["DONE", "FAILED"]


def expires_at(days: int) -> int:
    """Epoch seconds ``days`` from now: the table's TTL attribute (items vanish after)."""
    return int(time.time()) + days * 86400


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task_sk(task: int) -> str:
    return f"{TASK_PREFIX}{task:05d}"


def task_id(task: int) -> str:
    """The id a task is known by in sets, messages and responses."""
    return f"t{task:05d}"


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, Decimal)) else 0


@dataclass(frozen=True)
class Job:
    job_id: str
    status: str
    expected: int
    inputs: tuple[str, ...]
    completed: int = 0
    failed: int = 0
    duplicates_ignored: int = 0
    aggregations: int = 0
    aggregation_claimed: bool = False
    result_key: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    reason: str | None = None

    @property
    def counted(self) -> int:
        return self.completed + self.failed

    @property
    def all_counted(self) -> bool:
        return self.counted >= self.expected

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Job:
        return cls(
            job_id=str(item["job_id"]),
            status=str(item["status"]),
            expected=_int(item.get("expected")),
            inputs=tuple(str(key) for key in item.get("inputs", ())),
            completed=_int(item.get("completed")),
            failed=_int(item.get("failed")),
            duplicates_ignored=_int(item.get("duplicates_ignored")),
            aggregations=_int(item.get("aggregations")),
            aggregation_claimed="aggregation_claimed_at" in item,
            result_key=item.get("result_key"),
            created_at=item.get("created_at"),
            finished_at=item.get("finished_at"),
            reason=item.get("reason"),
        )


@dataclass(frozen=True)
class TaskRecord:
    task: int
    state: str
    input: str
    rows: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    reason: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> TaskRecord:
        return cls(
            task=int(str(item["sk"])[len(TASK_PREFIX) :]),
            state=str(item["state"]),
            input=str(item.get("input", "")),
            rows=_int(item.get("rows")),
            totals={str(k): _int(v) for k, v in dict(item.get("totals", {})).items()},
            reason=item.get("reason"),
        )


class DynamoJobStore:
    """The jobs table through a boto3 DynamoDB ``Table`` resource."""

    def __init__(self, table: Any, retention_days: int = 30) -> None:
        self._table = table
        self._retention_days = retention_days
        self._errors = table.meta.client.exceptions

    # --- the API ---------------------------------------------------------------------------

    def create_job(self, job_id: str, inputs: list[str]) -> Job:
        item = {
            "job_id": job_id,
            "sk": JOB_SK,
            "status": RUNNING,
            "expected": len(inputs),
            "inputs": inputs,
            "completed": 0,
            "failed": 0,
            "created_at": now_iso(),
            "expires_at": expires_at(self._retention_days),
        }
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(job_id)")
        return Job.from_item(item)

    def get_job(self, job_id: str) -> Job | None:
        item = self._table.get_item(Key={"job_id": job_id, "sk": JOB_SK}, ConsistentRead=True).get(
            "Item"
        )
        return Job.from_item(item) if item else None

    def fail_job(self, job_id: str, reason: str) -> bool:
        """RUNNING -> FAILED with a reason (e.g. the fan-out broke); False if already final."""
        try:
            self._table.update_item(
                Key={"job_id": job_id, "sk": JOB_SK},
                UpdateExpression="SET #s = :failed, reason = :reason, finished_at = :now",
                ConditionExpression="#s = :running",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":failed": FAILED,
                    ":running": RUNNING,
                    ":reason": reason,
                    ":now": now_iso(),
                },
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    # --- the workers -----------------------------------------------------------------------

    def put_task_result(self, job_id: str, task: int, record: TaskRecord) -> Outcome:
        """Store a task's outcome unless one is stored already; return the stored one.

        The first outcome stored is final, and it is the one to count: a late success never
        turns a task counted as failed into a done one (or the reverse), so the task items
        always agree with the job's counters.
        """
        item: dict[str, Any] = {
            "job_id": job_id,
            "sk": task_sk(task),
            "state": record.state,
            "input": record.input,
            "written_at": now_iso(),
            "expires_at": expires_at(self._retention_days),
        }
        if record.state == "DONE":
            item["rows"] = record.rows
            item["totals"] = record.totals
        else:
            item["reason"] = record.reason or "unknown"
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")
        except self._errors.ConditionalCheckFailedException:
            stored = self._table.get_item(
                Key={"job_id": job_id, "sk": task_sk(task)}, ConsistentRead=True
            )["Item"]
            return "DONE" if stored["state"] == "DONE" else "FAILED"
        return "DONE" if record.state == "DONE" else "FAILED"

    def count_task(self, job_id: str, task: int, outcome: Outcome) -> Job | None:
        """Count a task's outcome once, atomically; the job as this write left it, or None
        when the task was counted already (or the job is no longer RUNNING)."""
        counter, done_set = ("completed", "done_tasks")
        if outcome == "FAILED":
            counter, done_set = ("failed", "failed_tasks")
        try:
            response = self._table.update_item(
                Key={"job_id": job_id, "sk": JOB_SK},
                UpdateExpression=f"ADD {done_set} :ids, {counter} :one SET updated_at = :now",
                ConditionExpression=(
                    "#s = :running AND NOT contains(done_tasks, :id)"
                    " AND NOT contains(failed_tasks, :id)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":ids": {task_id(task)},
                    ":id": task_id(task),
                    ":one": 1,
                    ":running": RUNNING,
                    ":now": now_iso(),
                },
                ReturnValues="ALL_NEW",
            )
        except self._errors.ConditionalCheckFailedException:
            return None
        return Job.from_item(response["Attributes"])

    def note_duplicate(self, job_id: str) -> None:
        self._table.update_item(
            Key={"job_id": job_id, "sk": JOB_SK},
            UpdateExpression="ADD duplicates_ignored :one",
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeValues={":one": 1},
        )

    def claim_aggregation(self, job_id: str) -> bool:
        """The right to trigger the aggregator, granted once per job."""
        try:
            self._table.update_item(
                Key={"job_id": job_id, "sk": JOB_SK},
                UpdateExpression="SET aggregation_claimed_at = :now",
                ConditionExpression=(
                    "#s = :running AND attribute_not_exists(aggregation_claimed_at)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":running": RUNNING, ":now": now_iso()},
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def release_aggregation(self, job_id: str) -> None:
        """Give the claim back (the trigger failed), so a redelivered task can try again."""
        self._table.update_item(
            Key={"job_id": job_id, "sk": JOB_SK},
            UpdateExpression="REMOVE aggregation_claimed_at",
        )

    # --- the aggregator --------------------------------------------------------------------

    def record_aggregation(self, job_id: str) -> Job | None:
        """Count an aggregator invocation (so duplicates are visible); the job, or None."""
        try:
            response = self._table.update_item(
                Key={"job_id": job_id, "sk": JOB_SK},
                UpdateExpression="ADD aggregations :one",
                ConditionExpression="attribute_exists(job_id)",
                ExpressionAttributeValues={":one": 1},
                ReturnValues="ALL_NEW",
            )
        except self._errors.ConditionalCheckFailedException:
            return None
        return Job.from_item(response["Attributes"])

    def tasks(self, job_id: str, *, state: str | None = None) -> list[TaskRecord]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "job_id = :job AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":job": job_id, ":prefix": TASK_PREFIX},
            "ConsistentRead": True,
        }
        if state is not None:
            kwargs["FilterExpression"] = "#state = :state"
            kwargs["ExpressionAttributeNames"] = {"#state": "state"}
            kwargs["ExpressionAttributeValues"][":state"] = state
        records: list[TaskRecord] = []
        while True:
            page = self._table.query(**kwargs)
            records.extend(TaskRecord.from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(records, key=lambda r: r.task)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def finish_job(self, job_id: str, status: str, result_key: str) -> bool:
        """RUNNING -> COMPLETED/FAILED with the result's location; False if already final."""
        try:
            self._table.update_item(
                Key={"job_id": job_id, "sk": JOB_SK},
                UpdateExpression="SET #s = :status, result_key = :key, finished_at = :now",
                ConditionExpression="#s = :running",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":status": status,
                    ":running": RUNNING,
                    ":key": result_key,
                    ":now": now_iso(),
                },
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True
