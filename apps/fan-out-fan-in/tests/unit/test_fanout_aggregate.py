"""Fan-in: combining partial results, once, and only when every outcome is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fanout_aggregator import aggregate
from fanout_store.jobs import COMPLETED, FAILED, TaskRecord


def _done(store: Any, job: str, task: int, totals: dict[str, int], rows: int) -> None:
    record = TaskRecord(task=task, state="DONE", input=f"uploads/{task}", rows=rows, totals=totals)
    store.put_task_result(job, task, record)
    store.count_task(job, task, "DONE")


def test_partial_results_are_combined_into_one_result_object(aws: Any, store: Any) -> None:
    store.create_job("j", ["uploads/0", "uploads/1", "uploads/2"])
    _done(store, "j", 0, {"eu": 10, "us": 1}, 2)
    _done(store, "j", 1, {"eu": 5}, 1)
    store.put_task_result(
        "j", 2, TaskRecord(task=2, state="FAILED", input="uploads/2", reason="bad")
    )
    store.count_task("j", 2, "FAILED")
    writer = aggregate.S3ResultWriter(aws.s3, aws.bucket)

    outcome = aggregate.aggregate_job(store, writer, "j")

    assert (outcome.status, outcome.finished_now) == (FAILED, True)
    document = json.loads(aws.s3.get_object(Bucket=aws.bucket, Key="results/j.json")["Body"].read())
    assert document["rows"] == 3
    assert document["totals_cents"] == {"eu": 15, "us": 1}
    assert document["grand_total_cents"] == 16
    assert document["tasks"] == {"expected": 3, "completed": 2, "failed": 1}
    assert document["failed_tasks"] == [
        {"task": 2, "id": "t00002", "input": "uploads/2", "reason": "bad"}
    ]
    # A second run is harmless and visible.
    again = aggregate.aggregate_job(store, writer, "j")
    assert (again.status, again.finished_now) == (FAILED, False)
    assert store.get_job("j").aggregations == 2


def test_a_job_whose_outcomes_are_not_all_stored_is_not_finished(aws: Any, store: Any) -> None:
    store.create_job("j", ["uploads/0"])
    store.count_task("j", 0, "DONE")  # counted, but its result item is missing
    with pytest.raises(aggregate.NotReady):
        aggregate.aggregate_job(store, aggregate.S3ResultWriter(aws.s3, aws.bucket), "j")
    assert store.get_job("j").status == "RUNNING"


def test_an_unknown_job_or_request_is_an_error(aws: Any, store: Any) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        aggregate.aggregate_job(store, aggregate.S3ResultWriter(aws.s3, aws.bucket), "nope")
    with pytest.raises(ValueError, match="job_id"):
        aggregate.parse_request({"job": "x"})


def test_a_completed_job_has_no_failed_tasks(aws: Any, store: Any) -> None:
    store.create_job("j", ["uploads/0"])
    _done(store, "j", 0, {"eu": 1}, 1)
    outcome = aggregate.aggregate_job(store, aggregate.S3ResultWriter(aws.s3, aws.bucket), "j")
    assert outcome.status == COMPLETED
    assert store.get_job("j").result_key == "results/j.json"
