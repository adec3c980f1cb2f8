"""The jobs table's atomic fan-in rules, on moto's DynamoDB."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fanout_store.jobs import COMPLETED, RUNNING, TaskRecord


def test_each_task_is_counted_once_and_only_the_last_count_sees_the_job_complete(
    store: Any,
) -> None:
    store.create_job("job1", ["uploads/a", "uploads/b", "uploads/c"])
    first = store.count_task("job1", 0, "DONE")
    assert first is not None
    assert (first.completed, first.all_counted) == (1, False)
    assert store.count_task("job1", 0, "DONE") is None
    assert store.count_task("job1", 0, "FAILED") is None
    assert store.count_task("job1", 1, "FAILED").all_counted is False
    last = store.count_task("job1", 2, "DONE")
    assert last is not None
    assert last.all_counted
    assert (last.completed, last.failed, last.counted) == (2, 1, 3)


def test_concurrent_counts_of_every_task_and_its_duplicate_complete_the_job_once(
    store: Any,
) -> None:
    store.create_job("job2", [f"uploads/{i}" for i in range(20)])
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(lambda t: store.count_task("job2", t % 20, "DONE"), range(40)))
    counted = [job for job in seen if job is not None]
    assert len(counted) == 20
    assert sum(1 for job in counted if job.all_counted) == 1
    assert store.get_job("job2").completed == 20


def test_a_finished_job_counts_nothing_more(store: Any) -> None:
    store.create_job("job3", ["uploads/a"])
    store.count_task("job3", 0, "DONE")
    assert store.finish_job("job3", COMPLETED, "results/job3.json")
    assert not store.finish_job("job3", COMPLETED, "results/job3.json")
    assert store.count_task("job3", 0, "DONE") is None
    assert store.get_job("job3").result_key == "results/job3.json"


def test_the_aggregation_is_claimed_once_and_can_be_given_back(store: Any) -> None:
    store.create_job("job4", ["uploads/a"])
    assert store.claim_aggregation("job4")
    assert not store.claim_aggregation("job4")
    store.release_aggregation("job4")
    assert store.claim_aggregation("job4")


def test_a_failure_never_replaces_a_stored_result(store: Any) -> None:
    store.create_job("job5", ["uploads/a"])
    store.put_task_result(
        "job5", 0, TaskRecord(task=0, state="DONE", input="uploads/a", rows=2, totals={"eu": 5})
    )
    store.put_task_result(
        "job5", 0, TaskRecord(task=0, state="FAILED", input="uploads/a", reason="late failure")
    )
    [record] = store.tasks("job5")
    assert (record.state, record.rows, record.totals) == ("DONE", 2, {"eu": 5})
    assert store.tasks("job5", state="FAILED") == []


def test_jobs_start_running_and_can_fail_once(store: Any) -> None:
    job = store.create_job("job6", ["uploads/a"])
    assert (job.status, job.expected, job.inputs) == (RUNNING, 1, ("uploads/a",))
    assert store.fail_job("job6", "fan-out failed")
    assert not store.fail_job("job6", "again")
    assert store.get_job("job6").reason == "fan-out failed"
    assert store.get_job("missing") is None
    assert store.record_aggregation("missing") is None
