"""Submitting (split + fan-out) and the status view, with a fake queue on moto's table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from common_layer.http import InvalidRequest, parse_json_object
from fanout_jobs import jobs
from fanout_jobs.adapters import SqsTaskQueue
from fanout_store.jobs import FAILED, TaskRecord


@dataclass
class FakeQueue:
    bodies: list[str] = field(default_factory=list)
    refuse: set[int] = field(default_factory=set)

    def send_all(self, bodies: Sequence[str]) -> list[int]:
        self.bodies.extend(b for i, b in enumerate(bodies) if i not in self.refuse)
        return sorted(self.refuse)


def test_a_job_is_recorded_before_one_message_per_input_is_queued(store: Any) -> None:
    queue = FakeQueue()
    submitted = jobs.submit_job(store, queue, {"inputs": ["uploads/a.csv", "uploads/b.csv"]})
    job = store.get_job(submitted.job_id)
    assert (job.status, job.expected, job.inputs) == (
        "RUNNING",
        2,
        ("uploads/a.csv", "uploads/b.csv"),
    )
    assert [json.loads(b) for b in queue.bodies] == [
        {"job_id": submitted.job_id, "task": 0, "input": "uploads/a.csv"},
        {"job_id": submitted.job_id, "task": 1, "input": "uploads/b.csv"},
    ]


def test_a_fan_out_that_breaks_fails_the_job_at_once(store: Any) -> None:
    with pytest.raises(jobs.FanOutFailed) as error:
        jobs.submit_job(store, FakeQueue(refuse={1}), {"inputs": ["uploads/a", "uploads/b"]})
    job_id = str(error.value).split()[1].rstrip(":")
    job = store.get_job(job_id)
    assert job.status == FAILED
    assert "1 of 2 tasks not queued" in (job.reason or "")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "inputs"),
        ({"inputs": []}, "inputs"),
        ({"inputs": ["../etc/passwd"]}, "inputs"),
        ({"inputs": ["uploads/x", "uploads/x"]}, "inputs"),
        ({"inputs": ["uploads/x"], "extra": 1}, "extra"),
    ],
)
def test_the_request_contract(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_json_object(json.dumps(body), jobs.JOB_REQUEST)


def test_the_view_shows_progress_failed_tasks_and_the_result(store: Any) -> None:
    store.create_job("j", ["uploads/a", "uploads/b"])
    store.put_task_result(
        "j", 1, TaskRecord(task=1, state="FAILED", input="uploads/b", reason="bad line")
    )
    store.count_task("j", 0, "DONE")
    store.count_task("j", 1, "FAILED")
    store.finish_job("j", FAILED, "results/j.json")
    view = jobs.job_view(store, store.get_job("j"), "bucket")
    assert view["status"] == FAILED
    assert view["progress"] == {"expected": 2, "completed": 1, "failed": 1}
    assert view["failed_tasks"] == [{"task": 1, "input": "uploads/b", "reason": "bad line"}]
    assert view["result"]["uri"] == "s3://bucket/results/j.json"


def test_the_sqs_queue_sends_in_batches_of_ten(aws: Any) -> None:
    queue = SqsTaskQueue(aws.sqs, aws.task_queue_url)
    assert queue.send_all([f"body-{i}" for i in range(23)]) == []
    assert sorted(m["Body"] for m in aws.drain(aws.task_queue_url)) == sorted(
        f"body-{i}" for i in range(23)
    )
