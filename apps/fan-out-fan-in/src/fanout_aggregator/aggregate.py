"""Fan-in: gather every task's partial result into the job's final result.

Safe to run more than once for a job: the result object is a pure function of the task
items (rewriting it changes nothing), and the job leaves RUNNING by a conditional write, so
only the first run finishes it. Every run is counted on the job (``aggregations``), which is
how "the aggregator ran once" is observable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from fanout_store.jobs import COMPLETED, FAILED, RUNNING, Job, TaskRecord, task_id

RESULT_PREFIX = "results/"


class JobStore(Protocol):
    def record_aggregation(self, job_id: str) -> Job | None: ...
    def tasks(self, job_id: str, *, state: str | None = None) -> list[TaskRecord]: ...
    def finish_job(self, job_id: str, status: str, result_key: str) -> bool: ...


class ResultWriter(Protocol):
    def write(self, key: str, document: dict[str, Any]) -> None: ...


class NotReady(RuntimeError):
    """Fewer task outcomes are stored than the job counted: retry (Lambda will)."""


@dataclass(frozen=True)
class Aggregated:
    job_id: str
    status: str
    result_key: str | None
    finished_now: bool


def combine(job: Job, records: list[TaskRecord]) -> dict[str, Any]:
    done = [r for r in records if r.state == "DONE"]
    failed = [r for r in records if r.state == "FAILED"]
    totals: dict[str, int] = {}
    for record in done:
        for region, cents in record.totals.items():
            totals[region] = totals.get(region, 0) + cents
    return {
        "job_id": job.job_id,
        "status": FAILED if failed else COMPLETED,
        "tasks": {"expected": job.expected, "completed": len(done), "failed": len(failed)},
        "rows": sum(r.rows for r in done),
        "totals_cents": dict(sorted(totals.items())),
        "grand_total_cents": sum(totals.values()),
        "failed_tasks": [
            {"task": r.task, "id": task_id(r.task), "input": r.input, "reason": r.reason}
            for r in failed
        ],
    }


def aggregate_job(store: JobStore, writer: ResultWriter, job_id: str) -> Aggregated:
    job = store.record_aggregation(job_id)
    if job is None:
        raise ValueError(f"job {job_id!r} does not exist")
    if job.status != RUNNING:
        return Aggregated(job_id, job.status, job.result_key, finished_now=False)
    records = store.tasks(job_id)
    outcomes = [r for r in records if r.state in ("DONE", "FAILED")]
    if len(outcomes) < job.counted:
        raise NotReady(f"job {job_id}: {len(outcomes)} task outcomes stored, {job.counted} counted")
    document = combine(job, outcomes)
    key = f"{RESULT_PREFIX}{job_id}.json"
    writer.write(key, document)
    finished = store.finish_job(job_id, document["status"], key)
    return Aggregated(job_id, document["status"], key, finished_now=finished)


def parse_request(event: Any) -> str:
    job_id = event.get("job_id") if isinstance(event, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise ValueError("event has no job_id")
    return job_id


class S3ResultWriter:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def write(self, key: str, document: dict[str, Any]) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
        )
