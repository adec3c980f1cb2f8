"""One task: read one input file, total its amounts per region, count it into the job once.

Input files are CSV with the header ``region,amount_cents`` and one sale per row. The
partial result of a task is the number of rows and the per-region totals.

What can go wrong, and what happens:

- ``TaskRejected``: the task can never succeed (the message is not a task of a known job,
  the file is missing, too big, not UTF-8, or a row is malformed). It is counted as FAILED
  at once with the reason, and parked in the DLQ: no retry can fix data.
- anything else (throttling, a network error): raised, so the message comes back after a
  backoff; on its last allowed attempt the task is counted as FAILED and parked instead.

Either way every task is counted exactly once, as DONE or FAILED, so the job always reaches
``completed + failed == expected`` and is finished by the aggregator: it never stays RUNNING.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from fanout_store.jobs import RUNNING, Job, Outcome, TaskRecord

MAX_INPUT_BYTES = 10 * 1024 * 1024
HEADER = ["region", "amount_cents"]


class TaskRejected(ValueError):
    """The task cannot succeed, whatever the number of attempts."""


class NotATask(TaskRejected):
    """The message names no task of a known job: there is nothing to count it into."""


class RetryLater(RuntimeError):
    """A transient failure: let the message come back after ``delay_seconds``."""

    def __init__(self, delay_seconds: int, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}; retrying in {delay_seconds}s")
        self.delay_seconds = delay_seconds


@dataclass(frozen=True)
class TaskMessage:
    job_id: str
    task: int
    input: str


class InputReader(Protocol):
    def read(self, key: str, max_bytes: int) -> bytes:
        """The object's bytes; TaskRejected if it does not exist or is too big."""
        ...


class JobStore(Protocol):
    def get_job(self, job_id: str) -> Job | None: ...
    def put_task_result(self, job_id: str, task: int, record: TaskRecord) -> Outcome: ...
    def count_task(self, job_id: str, task: int, outcome: Outcome) -> Job | None: ...
    def note_duplicate(self, job_id: str) -> None: ...
    def claim_aggregation(self, job_id: str) -> bool: ...
    def release_aggregation(self, job_id: str) -> None: ...


class Aggregator(Protocol):
    def trigger(self, job_id: str) -> None: ...


class DeadLetters(Protocol):
    def park(self, body: str, reason: str, attempt: int) -> None: ...


Result = Literal["done", "failed", "duplicate"]


def parse_message(body: str) -> TaskMessage:
    try:
        data = json.loads(body)
    except ValueError:
        raise TaskRejected("message body is not JSON") from None
    if not isinstance(data, dict):
        raise TaskRejected("message body is not a JSON object")
    job_id, task, key = data.get("job_id"), data.get("task"), data.get("input")
    if not isinstance(job_id, str) or not job_id:
        raise TaskRejected("message has no job_id")
    if not isinstance(task, int) or isinstance(task, bool) or task < 0:
        raise TaskRejected("message has no task number")
    if not isinstance(key, str) or not key:
        raise TaskRejected("message has no input")
    return TaskMessage(job_id=job_id, task=task, input=key)


def total_sales(data: bytes) -> tuple[int, dict[str, int]]:
    """Rows and per-region totals of one CSV file; TaskRejected naming the bad row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TaskRejected(f"input is not UTF-8 text (byte {error.start})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != HEADER:
        raise TaskRejected(f"input must start with the header {','.join(HEADER)}")
    rows = 0
    totals: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(HEADER):
            raise TaskRejected(f"line {line}: expected 2 fields, found {len(row)}")
        region, amount = row[0].strip(), row[1].strip()
        if not region:
            raise TaskRejected(f"line {line}: region is empty")
        try:
            cents = int(amount)
        except ValueError:
            raise TaskRejected(f"line {line}: amount_cents {amount!r} is not an integer") from None
        rows += 1
        totals[region] = totals.get(region, 0) + cents
    return rows, totals


def backoff_seconds(attempt: int) -> int:
    """2, 4, 8... seconds, at most five minutes."""
    return int(min(2**attempt, 300))


def run_task(store: JobStore, reader: InputReader, message: TaskMessage) -> TaskRecord:
    """Compute the task's partial result; TaskRejected when it is not a task of a job."""
    job = store.get_job(message.job_id)
    if job is None:
        raise NotATask(f"job {message.job_id!r} does not exist")
    if message.task >= len(job.inputs) or job.inputs[message.task] != message.input:
        raise NotATask(f"task {message.task} of job {message.job_id} is not {message.input!r}")
    if job.status != RUNNING:
        # Finished already: the outcome would not be counted anyway, so skip the work.
        return TaskRecord(task=message.task, state="SKIPPED", input=message.input)
    rows, totals = total_sales(reader.read(message.input, MAX_INPUT_BYTES))
    return TaskRecord(
        task=message.task, state="DONE", input=message.input, rows=rows, totals=totals
    )


def count_and_fan_in(
    store: JobStore, aggregator: Aggregator, job_id: str, task: int, outcome: Outcome
) -> Result:
    """Count the task once; whoever completes the count triggers the aggregator."""
    job = store.count_task(job_id, task, outcome)
    if job is None:
        store.note_duplicate(job_id)
        # A delivery of a task already counted. If the first delivery counted the last task
        # but failed to trigger the aggregator, the claim is still free: take it now.
        current = store.get_job(job_id)
        if current is not None and current.status == RUNNING and current.all_counted:
            _trigger_once(store, aggregator, job_id)
        return "duplicate"
    if job.all_counted:
        _trigger_once(store, aggregator, job_id)
    return "done" if outcome == "DONE" else "failed"


def _trigger_once(store: JobStore, aggregator: Aggregator, job_id: str) -> None:
    if not store.claim_aggregation(job_id):
        return
    try:
        aggregator.trigger(job_id)
    except Exception:
        store.release_aggregation(job_id)
        raise


def process_task(
    store: JobStore,
    reader: InputReader,
    aggregator: Aggregator,
    dead_letters: DeadLetters,
    body: str,
    *,
    attempt: int,
    max_attempts: int,
) -> Result:
    """Process one task message (see the module's doc for the failure rules)."""
    try:
        message = parse_message(body)
    except TaskRejected as error:
        dead_letters.park(body, str(error), attempt)
        return "failed"
    try:
        record = run_task(store, reader, message)
        if record.state == "SKIPPED":
            store.note_duplicate(message.job_id)
            return "duplicate"
        stored = store.put_task_result(message.job_id, message.task, record)
        return count_and_fan_in(store, aggregator, message.job_id, message.task, stored)
    except NotATask as error:
        dead_letters.park(body, str(error), attempt)
        return "failed"
    except TaskRejected as error:
        return _fail(store, aggregator, dead_letters, message, body, str(error), attempt)
    except Exception as error:
        if attempt >= max_attempts:
            reason = f"gave up after {attempt} attempts: {type(error).__name__}: {error}"
            return _fail(store, aggregator, dead_letters, message, body, reason, attempt)
        raise RetryLater(backoff_seconds(attempt), error) from error


def _fail(
    store: JobStore,
    aggregator: Aggregator,
    dead_letters: DeadLetters,
    message: TaskMessage,
    body: str,
    reason: str,
    attempt: int,
) -> Result:
    record = TaskRecord(task=message.task, state="FAILED", input=message.input, reason=reason)
    stored = store.put_task_result(message.job_id, message.task, record)
    count_and_fan_in(store, aggregator, message.job_id, message.task, stored)
    if stored == "DONE":
        # An earlier attempt stored a result (and now it is counted): nothing to park.
        return "done"
    # Parked after it is counted: if parking fails, the retry finds it counted already.
    dead_letters.park(body, reason, attempt)
    return "failed"


def attempt_of(attributes: Mapping[str, Any]) -> int:
    try:
        return max(1, int(attributes.get("ApproximateReceiveCount", 1)))
    except (TypeError, ValueError):
        return 1
