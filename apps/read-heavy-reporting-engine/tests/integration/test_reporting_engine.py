"""The Read-Heavy Reporting Engine as its clients see it: reports over HTTP, served from the
cache, with PostgreSQL behind it touched only on a miss.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Every test
uses its own report name. Some rows are written straight into PostgreSQL through the RDS
Data API, as a writer that publishes no change event would: that is how the tests tell a
cached answer from a fresh one. The rows a test wrote are deleted after it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from stack_testing import Stack, wait_for

# Per request; generous enough for a cold start (on AWS: a paused database resuming, ~15 s).
TIMEOUT = 40
PERIOD = "2026-11"
# On AWS, Lambda waits about 1 and then 2 minutes between the retries of a failed event.
FAILURE_CAPTURE_TIMEOUT = 420.0


@dataclass
class Answer:
    status: int
    cache: str
    body: dict[str, Any]

    @property
    def database_queries(self) -> int:
        return int(self.body["database_queries"])

    @property
    def rows(self) -> dict[str, float]:
        return {row["label"]: row["value"] for row in self.body.get("rows", [])}


@dataclass
class ReportingApi:
    base_url: str
    http: requests.Session

    def read(self, name: str, period: str | None = PERIOD) -> Answer:
        params = {"period": period} if period is not None else None
        response = self.http.get(f"{self.base_url}/reports/{name}", params=params, timeout=TIMEOUT)
        return Answer(response.status_code, response.headers.get("X-Cache", ""), response.json())

    def write(self, name: str, rows: dict[str, float], period: str = PERIOD) -> requests.Response:
        body = {"period": period, "rows": [{"label": k, "value": v} for k, v in rows.items()]}
        return self.http.put(f"{self.base_url}/reports/{name}/data", json=body, timeout=TIMEOUT)


@dataclass
class ReportDatabase:
    """The app's PostgreSQL, through the RDS Data API with the stack's secret."""

    stack: Stack

    def execute(self, sql: str, **parameters: str | float) -> dict[str, Any]:
        response: dict[str, Any] = self.stack.client("rds-data").execute_statement(
            resourceArn=self.stack.output("DatabaseClusterArn"),
            secretArn=self.stack.output("DatabaseSecretArn"),
            database=self.stack.output("DatabaseName"),
            sql=sql,
            parameters=[
                {
                    "name": name,
                    "value": {"doubleValue": value}
                    if isinstance(value, float)
                    else {"stringValue": value},
                }
                for name, value in parameters.items()
            ],
        )
        return response

    def put_row(self, name: str, label: str, value: float, period: str = PERIOD) -> None:
        """Change a row behind the cache's back: no change event is published."""
        self.execute(
            "INSERT INTO report_rows (report_name, period, label, value) "
            "VALUES (:name, :period, :label, :value) "
            "ON CONFLICT (report_name, period, label) DO UPDATE SET value = EXCLUDED.value",
            name=name,
            period=period,
            label=label,
            value=float(value),
        )

    def delete_report(self, name: str) -> None:
        try:
            self.execute("DELETE FROM report_rows WHERE report_name = :name", name=name)
        except ClientError as error:
            if "does not exist" not in str(error):
                raise


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def api(stack: Stack, http: requests.Session) -> ReportingApi:
    return ReportingApi(stack.url("ApiUrl").rstrip("/"), http)


@pytest.fixture
def ttl_seconds(stack: Stack) -> int:
    return int(stack.output("CacheTtlSeconds"))


@pytest.fixture
def database(stack: Stack) -> ReportDatabase:
    return ReportDatabase(stack)


@pytest.fixture
def report_name(unique_id: str, database: ReportDatabase) -> Iterator[str]:
    """A report name of this test alone; its rows are deleted afterwards."""
    yield unique_id
    database.delete_report(unique_id)


@pytest.fixture
def seeded_report(
    report_name: str, api: ReportingApi, database: ReportDatabase
) -> Callable[[dict[str, float]], str]:
    """Rows for the test's report written straight into PostgreSQL (no change event, so no
    invalidation is in flight). The writer is called once for another report first: it
    creates the table the first time it runs."""
    probe = f"{report_name}-probe"
    created = api.write(probe, {"probe": 1.0})
    assert created.status_code == 200, created.text
    database.delete_report(probe)

    def seed(rows: dict[str, float]) -> str:
        for label, value in rows.items():
            database.put_row(report_name, label, value)
        return report_name

    return seed


def test_first_read_misses_then_hits_without_touching_the_database(
    api: ReportingApi, seeded_report: Callable[[dict[str, float]], str]
) -> None:
    """Cache-aside: a miss loads the report with one database query and caches it; the next
    read is answered from the cache with no database query at all."""
    name = seeded_report({"north": 120.5, "south": 80.0})

    first = api.read(name)
    assert (first.status, first.cache, first.database_queries) == (200, "MISS", 1), first.body
    assert first.rows == {"north": 120.5, "south": 80.0}
    assert first.body["total"] == 200.5

    second = api.read(name)
    assert (second.status, second.cache, second.database_queries) == (200, "HIT", 0)
    assert second.body["generated_at"] == first.body["generated_at"]
    assert second.rows == first.rows


def test_a_cached_report_expires_after_the_ttl(
    api: ReportingApi,
    seeded_report: Callable[[dict[str, float]], str],
    database: ReportDatabase,
    ttl_seconds: int,
) -> None:
    """Without an invalidation, a cached report is served (stale) until its TTL ends; the
    first read after that misses and loads the current rows."""
    name = seeded_report({"north": 1.0})
    assert api.read(name).cache == "MISS"
    filled_at = time.monotonic()
    database.put_row(name, "north", 2.0)

    stale = api.read(name)
    assert (stale.cache, stale.database_queries, stale.rows) == ("HIT", 0, {"north": 1.0})

    fresh = wait_for(
        lambda: (answer := api.read(name)).cache == "MISS" and answer,
        timeout=ttl_seconds + 15,
        interval=1.0,
        description="a miss once the cached report's TTL has passed",
    )
    assert time.monotonic() - filled_at >= ttl_seconds - 1, "the entry expired before its TTL"
    assert (fresh.database_queries, fresh.rows) == (1, {"north": 2.0})


def test_a_write_invalidates_the_cached_report_before_its_ttl(
    api: ReportingApi,
    seeded_report: Callable[[dict[str, float]], str],
    ttl_seconds: int,
) -> None:
    """A write publishes a change event; its subscriber deletes the cached copy, so the next
    read misses and returns the new data well before the TTL would have expired it."""
    name = seeded_report({"north": 1.0, "south": 2.0})
    assert api.read(name).cache == "MISS"
    filled_at = time.monotonic()
    assert api.read(name).cache == "HIT"

    written = api.write(name, {"north": 10.0, "east": 3.0})
    assert written.status_code == 200, written.text
    assert written.json()["rows_upserted"] == 2

    remaining = ttl_seconds - (time.monotonic() - filled_at)
    assert remaining > 2, "CacheTtlSeconds is too short for this test to tell the two apart"
    fresh = wait_for(
        lambda: (answer := api.read(name)).cache == "MISS" and answer,
        timeout=remaining - 1,
        interval=0.3,
        description="a miss after the change event's invalidation",
    )
    assert fresh.rows == {"north": 10.0, "south": 2.0, "east": 3.0}
    assert fresh.database_queries == 1
    assert api.read(name).cache == "HIT"


def test_the_database_is_queried_only_on_misses(
    api: ReportingApi, seeded_report: Callable[[dict[str, float]], str]
) -> None:
    """Over many reads of a report only the first reaches PostgreSQL."""
    name = seeded_report({"north": 5.0})

    answers = [api.read(name) for _ in range(10)]

    assert [a.database_queries for a in answers] == [1] + [0] * 9
    assert [a.cache for a in answers] == ["MISS"] + ["HIT"] * 9


def test_a_report_without_data_is_404_and_cached(api: ReportingApi, report_name: str) -> None:
    """An empty report costs one query too, not one per read (negative caching)."""
    first, second = api.read(report_name), api.read(report_name)

    assert (first.status, first.cache) == (404, "MISS")
    assert "no data" in first.body["message"]
    assert (second.status, second.cache, second.database_queries) == (404, "HIT", 0)


@pytest.mark.parametrize(
    ("period", "message"),
    [(None, "'period' is required"), ("2026-13", "YYYY-MM")],
)
def test_bad_reads_get_400_with_the_reason(
    api: ReportingApi, report_name: str, period: str | None, message: str
) -> None:
    answer = api.read(report_name, period)

    assert answer.status == 400
    assert message in answer.body["message"]


def test_a_bad_write_gets_400_and_changes_nothing(
    api: ReportingApi, seeded_report: Callable[[dict[str, float]], str]
) -> None:
    """Invalid rows are refused before the database or the change topic sees them."""
    name = seeded_report({"north": 1.0})
    assert api.read(name).cache == "MISS"

    refused = api.http.put(
        f"{api.base_url}/reports/{name}/data",
        json={"period": PERIOD, "rows": [{"label": "north", "value": "lots"}]},
        timeout=TIMEOUT,
    )

    assert refused.status_code == 400
    assert "value" in refused.json()["message"]
    after = api.read(name)
    assert (after.cache, after.rows) == ("HIT", {"north": 1.0})


def test_a_failed_invalidation_is_captured_with_its_error(stack: Stack, unique_id: str) -> None:
    """An invalidation that keeps failing is retried by Lambda (twice, by default) and then
    sent to the on-failure destination, with the request payload and the error: nothing is
    lost silently."""
    sns, sqs = stack.client("sns"), stack.client("sqs")
    queue_url = stack.output("FailedInvalidationsQueueUrl")
    # A change event naming no periods cannot be applied: the invalidator refuses it.
    malformed = {"type": "ReportDataChanged", "report": unique_id, "periods": []}
    sns.publish(TopicArn=stack.output("ChangeTopicArn"), Message=json.dumps(malformed))

    def captured() -> dict[str, Any] | None:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            record = json.loads(message["Body"])
            payload = record.get("requestPayload", {})
            sns_message = payload.get("Records", [{}])[0].get("Sns", {}).get("Message", "")
            if unique_id in sns_message:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                return dict(record)
        return None

    record = wait_for(
        captured,
        timeout=FAILURE_CAPTURE_TIMEOUT,
        interval=0.5,
        description="the failed invalidation in the on-failure destination",
    )
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "InvalidInput"
