"""The Fan-Out/Fan-In as its users see it: upload files, submit a job, poll it, read the result.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Each test
uploads its files under a prefix of its own (the unique id), takes its own messages off the
DLQ, and deletes what it uploaded and the results it caused.

What they prove: a job of many tasks ends COMPLETED with exactly the combined totals of its
files, gathered by one aggregator run although the workers ran concurrently; a task
delivered again (while the job runs or after it ended) is counted once; a poison task (a
malformed file, a missing file) ends the job FAILED naming the task and why, with the task
parked in the DLQ, instead of leaving the job RUNNING; bad requests get a 4xx that says what
is wrong.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from stack_testing import Stack, wait_for

TIMEOUT = 30
# A deadline for a whole job (cold starts included), not a speed target.
JOB_TIMEOUT = 180
REGIONS = ("eu", "us", "apac", "latam")


@dataclass
class Jobs:
    """The stack's API, bucket and queues, and the objects a test created (deleted after)."""

    stack: Stack
    prefix: str
    keys: list[str] = field(default_factory=list)

    @property
    def s3(self) -> Any:
        return self.stack.client("s3")

    @property
    def sqs(self) -> Any:
        return self.stack.client("sqs")

    @property
    def bucket(self) -> str:
        return self.stack.output("DataBucketName")

    def url(self, path: str) -> str:
        return self.stack.url("ApiUrl").rstrip("/") + path

    def upload(self, name: str, content: str) -> str:
        key = f"uploads/{self.prefix}/{name}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=content.encode())
        self.keys.append(key)
        return key

    def submit(self, inputs: list[str]) -> dict[str, Any]:
        response = requests.post(self.url("/jobs"), json={"inputs": inputs}, timeout=TIMEOUT)
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        assert response.headers["Location"] == f"/jobs/{body['job_id']}"
        self.keys.append(f"results/{body['job_id']}.json")
        return body

    def status(self, job_id: str) -> dict[str, Any]:
        response = requests.get(self.url(f"/jobs/{job_id}"), timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_final(self, job_id: str) -> dict[str, Any]:
        def final() -> dict[str, Any] | None:
            view = self.status(job_id)
            return view if view["status"] != "RUNNING" else None

        return wait_for(final, timeout=JOB_TIMEOUT, interval=0.5, description=f"job {job_id} done")

    def result(self, view: dict[str, Any]) -> dict[str, Any]:
        location = view["result"]
        assert location["bucket"] == self.bucket
        body = self.s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
        document: dict[str, Any] = json.loads(body)
        return document

    def redeliver(self, job_id: str, task: int, input_key: str) -> None:
        """Send a task message again, as SQS's at-least-once delivery may."""
        body = json.dumps({"job_id": job_id, "task": task, "input": input_key})
        self.sqs.send_message(QueueUrl=self.stack.output("TaskQueueUrl"), MessageBody=body)

    def cleanup(self) -> None:
        for start in range(0, len(self.keys), 1000):
            chunk = self.keys[start : start + 1000]
            self.s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
            )


@pytest.fixture
def jobs(stack: Stack, unique_id: str) -> Iterator[Jobs]:
    created = Jobs(stack, prefix=unique_id)
    yield created
    created.cleanup()


def sales_file(rng: random.Random, rows: int) -> tuple[str, dict[str, int]]:
    lines = ["region,amount_cents"]
    totals: dict[str, int] = {}
    for _ in range(rows):
        region, cents = rng.choice(REGIONS), rng.randint(1, 100_000)
        lines.append(f"{region},{cents}")
        totals[region] = totals.get(region, 0) + cents
    return "\n".join(lines) + "\n", totals


def merge(into: dict[str, int], totals: dict[str, int]) -> None:
    for region, cents in totals.items():
        into[region] = into.get(region, 0) + cents


def test_a_job_of_many_tasks_completes_with_the_combined_result_gathered_once(
    jobs: Jobs,
) -> None:
    rng = random.Random(jobs.prefix)
    expected_totals: dict[str, int] = {}
    expected_rows = 0
    inputs = []
    for index in range(30):
        rows = rng.randint(1, 40)
        content, totals = sales_file(rng, rows)
        inputs.append(jobs.upload(f"day-{index:02d}.csv", content))
        merge(expected_totals, totals)
        expected_rows += rows

    accepted = jobs.submit(inputs)
    assert accepted["status"] == "RUNNING"
    assert accepted["tasks"] == 30
    job_id = accepted["job_id"]
    # Duplicates of five tasks race their originals through the concurrent workers.
    duplicated = [0, 7, 14, 21, 29]
    for task in duplicated:
        jobs.redeliver(job_id, task, inputs[task])

    view = jobs.wait_final(job_id)
    assert view["status"] == "COMPLETED", view
    assert view["progress"] == {"expected": 30, "completed": 30, "failed": 0}
    assert "failed_tasks" not in view
    result = jobs.result(view)
    assert result["status"] == "COMPLETED"
    assert result["tasks"] == {"expected": 30, "completed": 30, "failed": 0}
    assert result["rows"] == expected_rows
    assert result["totals_cents"] == dict(sorted(expected_totals.items()))
    assert result["grand_total_cents"] == sum(expected_totals.values())

    # Every duplicate was seen and ignored; none was counted or re-ran the aggregator.
    settled = wait_for(
        lambda: (v := jobs.status(job_id))["duplicates_ignored"] >= len(duplicated) and v,
        timeout=JOB_TIMEOUT,
        description="the duplicate deliveries processed",
    )
    assert settled["progress"]["completed"] == 30
    assert settled["aggregations"] == 1
    assert jobs.result(settled) == result


def test_a_task_delivered_again_after_the_job_ended_changes_nothing(jobs: Jobs) -> None:
    rng = random.Random(jobs.prefix)
    inputs: list[str] = []
    expected: dict[str, int] = {}
    for index in range(3):
        content, totals = sales_file(rng, 5)
        inputs.append(jobs.upload(f"part-{index}.csv", content))
        merge(expected, totals)
    job_id = jobs.submit(inputs)["job_id"]
    view = jobs.wait_final(job_id)
    assert view["status"] == "COMPLETED", view
    before = jobs.result(view)

    jobs.redeliver(job_id, 1, inputs[1])
    after = wait_for(
        lambda: (v := jobs.status(job_id))["duplicates_ignored"] >= 1 and v,
        timeout=JOB_TIMEOUT,
        description="the late duplicate processed",
    )
    assert after["progress"] == {"expected": 3, "completed": 3, "failed": 0}
    assert after["aggregations"] == 1
    assert after["finished_at"] == view["finished_at"]
    assert jobs.result(after) == before
    assert before["totals_cents"] == dict(sorted(expected.items()))


def _dead_letters_of(jobs: Jobs, job_id: str, count: int) -> list[dict[str, Any]]:
    """Take this job's messages off the task DLQ (others' are left for them)."""
    found: dict[str, dict[str, Any]] = {}
    dlq = jobs.stack.output("DeadLetterQueueUrl")

    def collect() -> list[dict[str, Any]] | None:
        messages = jobs.sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=2
        ).get("Messages", [])
        for message in messages:
            envelope = json.loads(message["Body"])
            payload = envelope.get("payload")
            if isinstance(payload, dict) and payload.get("job_id") == job_id:
                found[message["MessageId"]] = envelope
                jobs.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        return list(found.values()) if len(found) >= count else None

    return wait_for(collect, timeout=60, description=f"{count} dead letters of job {job_id}")


def test_a_poison_task_ends_the_job_failed_naming_it_and_parks_it_in_the_dlq(
    jobs: Jobs,
) -> None:
    rng = random.Random(jobs.prefix)
    inputs: list[str] = []
    good_totals: dict[str, int] = {}
    good_rows = 0
    for index in range(10):
        content, totals = sales_file(rng, 4)
        inputs.append(jobs.upload(f"file-{index}.csv", content))
        if index not in (4, 8):
            merge(good_totals, totals)
            good_rows += 4
    # Task 4: a malformed row. Task 8: a file that was never uploaded.
    inputs[4] = jobs.upload("file-4.csv", "region,amount_cents\neu,100\nus,twelve\n")
    inputs[8] = f"uploads/{jobs.prefix}/never-uploaded.csv"

    job_id = jobs.submit(inputs)["job_id"]
    view = jobs.wait_final(job_id)

    assert view["status"] == "FAILED", view
    assert view["progress"] == {"expected": 10, "completed": 8, "failed": 2}
    failed = {item["task"]: item for item in view["failed_tasks"]}
    assert set(failed) == {4, 8}
    assert failed[4]["input"] == inputs[4]
    assert "line 3" in failed[4]["reason"]
    assert "'twelve'" in failed[4]["reason"]
    assert "does not exist" in failed[8]["reason"]
    # The tasks that worked are still gathered, and the result says what is missing.
    result = jobs.result(view)
    assert result["status"] == "FAILED"
    assert result["rows"] == good_rows
    assert result["totals_cents"] == dict(sorted(good_totals.items()))
    assert [item["task"] for item in result["failed_tasks"]] == [4, 8]
    assert view["aggregations"] == 1

    parked = _dead_letters_of(jobs, job_id, 2)
    by_task = {letter["payload"]["task"]: letter for letter in parked}
    assert set(by_task) == {4, 8}
    assert by_task[4]["payload"]["input"] == inputs[4]
    assert "'twelve'" in by_task[4]["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({}, "inputs"),
        ({"inputs": []}, "inputs"),
        ({"inputs": ["data/outside-uploads.csv"]}, "an S3 key under uploads/"),
        ({"inputs": ["uploads/a.csv", "uploads/a.csv"]}, "inputs"),
        ({"inputs": ["uploads/a.csv"], "priority": "high"}, "priority"),
        ({"inputs": [f"uploads/{i}.csv" for i in range(101)]}, "inputs"),
    ],
    ids=["missing", "empty", "outside-uploads", "repeated", "unknown-field", "too-many"],
)
def test_a_bad_job_request_is_refused_with_a_clear_message(
    jobs: Jobs, body: dict[str, Any], message_part: str
) -> None:
    response = requests.post(jobs.url("/jobs"), json=body, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert message_part in response.json()["message"]


def test_a_body_that_is_not_json_is_refused(jobs: Jobs) -> None:
    response = requests.post(
        jobs.url("/jobs"),
        data="inputs=a.csv",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_an_unknown_job_is_not_found(jobs: Jobs) -> None:
    response = requests.get(jobs.url(f"/jobs/{'0' * 32}"), timeout=TIMEOUT)
    assert response.status_code == 404
    assert "does not exist" in response.json()["message"]
