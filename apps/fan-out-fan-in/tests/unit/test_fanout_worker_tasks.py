"""One task's rules: totals, counting once, the last count fans in, failures are counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fanout_store.jobs import COMPLETED
from fanout_worker import tasks
from fanout_worker.tasks import RetryLater, TaskRejected


def test_total_sales_sums_per_region() -> None:
    rows, totals = tasks.total_sales(b"region,amount_cents\neu,100\nus,5\neu,-20\n\n")
    assert (rows, totals) == (3, {"eu": 80, "us": 5})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "header"),
        (b"region,amount\neu,1\n", "header"),
        (b"region,amount_cents\neu,1\nus,ten\n", "line 3: amount_cents 'ten'"),
        (b"region,amount_cents\n,1\n", "line 2: region is empty"),
        (b"region,amount_cents\neu,1,2\n", "line 2: expected 2 fields"),
        (b"region,amount_cents\n\xff\n", "not UTF-8"),
    ],
)
def test_total_sales_rejects_malformed_input_naming_the_line(data: bytes, reason: str) -> None:
    with pytest.raises(TaskRejected, match=reason):
        tasks.total_sales(data)


@pytest.mark.parametrize(
    "body", ["not json", "[]", '{"task": 1, "input": "x"}', '{"job_id": "j", "task": -1}']
)
def test_a_message_that_is_not_a_task_is_rejected(body: str) -> None:
    with pytest.raises(TaskRejected):
        tasks.parse_message(body)


@dataclass
class Files:
    content: dict[str, bytes]
    errors: dict[str, Exception] = field(default_factory=dict)

    def read(self, key: str, max_bytes: int) -> bytes:
        if key in self.errors:
            raise self.errors[key]
        if key not in self.content:
            raise TaskRejected(f"input {key!r} does not exist")
        return self.content[key]


@dataclass
class Triggers:
    jobs: list[str] = field(default_factory=list)
    fail: bool = False

    def trigger(self, job_id: str) -> None:
        if self.fail:
            raise ConnectionError("lambda unreachable")
        self.jobs.append(job_id)


@dataclass
class Parked:
    letters: list[tuple[str, str, int]] = field(default_factory=list)

    def park(self, body: str, reason: str, attempt: int) -> None:
        self.letters.append((body, reason, attempt))


GOOD = b"region,amount_cents\neu,10\n"


def run(
    store: Any, files: Files, triggers: Triggers, parked: Parked, body: str, attempt: int = 1
) -> str:
    return tasks.process_task(store, files, triggers, parked, body, attempt=attempt, max_attempts=3)


def test_the_last_task_triggers_the_aggregator_once_and_duplicates_are_ignored(
    store: Any,
) -> None:
    store.create_job("j", ["uploads/a", "uploads/b"])
    files, triggers, parked = Files({"uploads/a": GOOD, "uploads/b": GOOD}), Triggers(), Parked()
    body_a = '{"job_id": "j", "task": 0, "input": "uploads/a"}'
    body_b = '{"job_id": "j", "task": 1, "input": "uploads/b"}'
    assert run(store, files, triggers, parked, body_a) == "done"
    assert triggers.jobs == []
    assert run(store, files, triggers, parked, body_a) == "duplicate"
    assert run(store, files, triggers, parked, body_b) == "done"
    assert run(store, files, triggers, parked, body_b) == "duplicate"
    assert triggers.jobs == ["j"]
    job = store.get_job("j")
    assert (job.completed, job.duplicates_ignored) == (2, 2)
    assert parked.letters == []


def test_bad_input_is_counted_failed_at_once_and_parked(store: Any) -> None:
    store.create_job("j", ["uploads/bad"])
    files, triggers, parked = Files({"uploads/bad": b"nope"}), Triggers(), Parked()
    body = '{"job_id": "j", "task": 0, "input": "uploads/bad"}'
    assert run(store, files, triggers, parked, body) == "failed"
    assert store.get_job("j").failed == 1
    assert triggers.jobs == ["j"]
    [(parked_body, reason, attempt)] = parked.letters
    assert (parked_body, attempt) == (body, 1)
    assert "header" in reason
    [record] = store.tasks("j", state="FAILED")
    assert record.reason == reason


def test_a_transient_error_is_retried_with_backoff_then_counted_failed(store: Any) -> None:
    store.create_job("j", ["uploads/a"])
    files = Files({}, errors={"uploads/a": ConnectionError("S3 timed out")})
    triggers, parked = Triggers(), Parked()
    body = '{"job_id": "j", "task": 0, "input": "uploads/a"}'
    with pytest.raises(RetryLater) as retry:
        run(store, files, triggers, parked, body, attempt=2)
    assert retry.value.delay_seconds == 4
    assert store.get_job("j").counted == 0
    assert parked.letters == []
    assert run(store, files, triggers, parked, body, attempt=3) == "failed"
    assert "gave up after 3 attempts: ConnectionError: S3 timed out" in parked.letters[0][1]
    assert store.get_job("j").failed == 1
    assert triggers.jobs == ["j"]


def test_a_message_for_no_known_job_or_task_is_parked_without_counting(store: Any) -> None:
    store.create_job("j", ["uploads/a"])
    files, triggers, parked = Files({"uploads/a": GOOD}), Triggers(), Parked()
    run(store, files, triggers, parked, '{"job_id": "nope", "task": 0, "input": "uploads/a"}')
    run(store, files, triggers, parked, '{"job_id": "j", "task": 0, "input": "uploads/other"}')
    run(store, files, triggers, parked, '{"job_id": "j", "task": 5, "input": "uploads/a"}')
    run(store, files, triggers, parked, "garbage")
    assert len(parked.letters) == 4
    assert store.get_job("j").counted == 0


def test_a_failed_trigger_gives_the_claim_back_and_a_redelivery_triggers_again(
    store: Any,
) -> None:
    store.create_job("j", ["uploads/a"])
    files, parked = Files({"uploads/a": GOOD}), Parked()
    body = '{"job_id": "j", "task": 0, "input": "uploads/a"}'
    with pytest.raises(RetryLater):
        run(store, files, Triggers(fail=True), parked, body)
    triggers = Triggers()
    assert run(store, files, triggers, parked, body) == "duplicate"
    assert triggers.jobs == ["j"]
    # Once claimed, further duplicates never trigger it again.
    assert run(store, files, triggers, parked, body) == "duplicate"
    assert triggers.jobs == ["j"]


def test_a_task_of_a_finished_job_is_skipped(store: Any) -> None:
    store.create_job("j", ["uploads/a"])
    store.finish_job("j", COMPLETED, "results/j.json")
    files, triggers, parked = Files({}), Triggers(), Parked()
    body = '{"job_id": "j", "task": 0, "input": "uploads/a"}'
    assert run(store, files, triggers, parked, body) == "duplicate"
    assert store.get_job("j").duplicates_ignored == 1


def test_attempts_and_backoff() -> None:
    assert tasks.attempt_of({"ApproximateReceiveCount": "4"}) == 4
    assert tasks.attempt_of({}) == 1
    assert tasks.attempt_of({"ApproximateReceiveCount": "x"}) == 1
    assert [tasks.backoff_seconds(n) for n in (1, 2, 3, 20)] == [2, 4, 8, 300]


def test_a_late_success_never_turns_a_failed_task_done(store: Any) -> None:
    store.create_job("j", ["uploads/a", "uploads/b"])
    files = Files({}, errors={"uploads/a": ConnectionError("S3 timed out")})
    triggers, parked = Triggers(), Parked()
    body = '{"job_id": "j", "task": 0, "input": "uploads/a"}'
    assert run(store, files, triggers, parked, body, attempt=3) == "failed"
    files.errors.clear()
    files.content["uploads/a"] = GOOD
    assert run(store, files, triggers, parked, body) == "duplicate"
    [record] = store.tasks("j")
    assert record.state == "FAILED"
    job = store.get_job("j")
    assert (job.completed, job.failed) == (0, 1)


def test_bookkeeping_errors_are_retried_too(store: Any) -> None:
    store.create_job("j", ["uploads/a"])
    files, triggers, parked = Files({"uploads/a": GOOD}), Triggers(), Parked()
    body = '{"job_id": "j", "task": 0, "input": "uploads/a"}'
    original = store.count_task

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("ProvisionedThroughputExceeded")

    store.count_task = throttled
    with pytest.raises(RetryLater):
        run(store, files, triggers, parked, body, attempt=1)
    store.count_task = original
    assert run(store, files, triggers, parked, body, attempt=2) == "done"
    assert triggers.jobs == ["j"]
    assert parked.letters == []
