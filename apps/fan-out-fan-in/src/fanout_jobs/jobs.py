"""Submitting a job (split + fan-out) and reading its status, with no AWS in sight.

A job is a list of CSV files already uploaded under ``uploads/`` in the stack's bucket;
each file is one task. ``submit_job`` records the job with its expected task count *before*
any task is queued (a worker must find the job it counts into), then queues one message per
task. If queueing breaks half-way the job is marked FAILED at once, so it can never wait
for tasks that were never sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fanout_store.jobs import FAILED, Job, TaskRecord

INPUT_PREFIX = "uploads/"
RESULT_PREFIX = "results/"
MAX_TASKS = 100

JOB_REQUEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["inputs"],
    "properties": {
        "inputs": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_TASKS,
            "uniqueItems": True,
            "items": {
                "type": "string",
                # An S3 key under uploads/, without '..' games or control characters.
                "pattern": "^uploads/[A-Za-z0-9!_.*'()/=+-]{1,240}$",
                "errorMessage": {
                    "pattern": (
                        "must be an S3 key under uploads/ (letters, digits and"
                        " / ! _ . * ' ( ) = + -, at most 248 characters)"
                    ),
                    "type": "must be a string (an S3 key under uploads/)",
                },
            },
        }
    },
}


class FanOutFailed(RuntimeError):
    """Some task messages could not be queued; the job was marked FAILED."""


class JobStore(Protocol):
    def create_job(self, job_id: str, inputs: list[str]) -> Job: ...
    def get_job(self, job_id: str) -> Job | None: ...
    def fail_job(self, job_id: str, reason: str) -> bool: ...
    def tasks(self, job_id: str, *, state: str | None = None) -> list[TaskRecord]: ...


class TaskQueue(Protocol):
    def send_all(self, bodies: Sequence[str]) -> list[int]:
        """Queue every body; return the indexes of those that could not be queued."""
        ...


@dataclass(frozen=True)
class Submitted:
    job_id: str
    tasks: int


def task_message(job_id: str, task: int, input_key: str) -> str:
    """The body of a task message: what a worker needs, nothing it could look up."""
    return json.dumps({"job_id": job_id, "task": task, "input": input_key}, separators=(",", ":"))


def submit_job(store: JobStore, queue: TaskQueue, request: dict[str, Any]) -> Submitted:
    """Split a validated request into tasks, record the job, fan the tasks out."""
    inputs = [str(key) for key in request["inputs"]]
    job_id = uuid.uuid4().hex
    store.create_job(job_id, inputs)
    failed = queue.send_all([task_message(job_id, i, key) for i, key in enumerate(inputs)])
    if failed:
        store.fail_job(job_id, f"fan-out failed: {len(failed)} of {len(inputs)} tasks not queued")
        raise FanOutFailed(f"job {job_id}: {len(failed)} task(s) could not be queued")
    return Submitted(job_id=job_id, tasks=len(inputs))


def job_view(store: JobStore, job: Job, bucket: str) -> dict[str, Any]:
    """GET /jobs/{id}: status, progress, where the result is, which tasks failed and why."""
    view: dict[str, Any] = {
        "job_id": job.job_id,
        "status": job.status,
        "progress": {
            "expected": job.expected,
            "completed": job.completed,
            "failed": job.failed,
        },
        "duplicates_ignored": job.duplicates_ignored,
        "aggregations": job.aggregations,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }
    if job.reason:
        view["reason"] = job.reason
    if job.result_key:
        view["result"] = {
            "bucket": bucket,
            "key": job.result_key,
            "uri": f"s3://{bucket}/{job.result_key}",
        }
    if job.failed or job.status == FAILED:
        view["failed_tasks"] = [
            {"task": r.task, "input": r.input, "reason": r.reason}
            for r in store.tasks(job.job_id, state="FAILED")
        ]
    return view
