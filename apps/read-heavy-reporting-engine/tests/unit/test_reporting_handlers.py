"""The three handlers end to end in process: API events in, cache and database fakes behind,
SNS on moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

LoadHandler = Callable[[str], ModuleType]
Api = Callable[[ModuleType, dict[str, Any]], tuple[int, dict[str, str], Any]]

READ_RESOURCE = "/reports/{name}"
WRITE_RESOURCE = "/reports/{name}/data"


Read = Callable[[str, dict[str, str] | None], tuple[int, dict[str, str], Any]]


@pytest.fixture
def reader(load_handler: LoadHandler, data_api: Any) -> ModuleType:
    data_api.rows[("sales", "2026-11")] = [("north", 120.5), ("south", 80.0)]
    return load_handler("report_reader.handler")


@pytest.fixture
def read(reader: ModuleType, make_event: Callable[..., Any], call_api: Api) -> Read:
    """GET /reports/{name} through the reader handler."""

    def get(name: str, query: dict[str, str] | None) -> tuple[int, dict[str, str], Any]:
        event = make_event("GET", f"/reports/{name}", READ_RESOURCE, {"name": name}, query=query)
        return call_api(reader, event)

    return get


def test_reader_connects_once_at_cold_start_with_tls_from_the_environment(
    reader: ModuleType, read: Read
) -> None:
    assert reader.connections == [{"host": "cache.example.internal", "port": 6379, "tls": True}]
    read("sales", {"period": "2026-11"})
    read("sales", {"period": "2026-11"})
    assert len(reader.connections) == 1


def test_reader_says_miss_then_hit_and_counts_database_queries(read: Read) -> None:
    status, headers, body = read("sales", {"period": "2026-11"})
    assert (status, headers["x-cache"], body["cache"], body["database_queries"]) == (
        200,
        "MISS",
        "MISS",
        1,
    )
    assert body["total"] == 200.5

    status, headers, again = read("sales", {"period": "2026-11"})
    assert (status, headers["x-cache"], again["database_queries"]) == (200, "HIT", 0)
    assert again["generated_at"] == body["generated_at"]


def test_reader_answers_404_for_a_report_without_data(read: Read) -> None:
    status, headers, body = read("costs", {"period": "2026-11"})

    assert status == 404
    assert headers["x-cache"] == "MISS"
    assert "no data for period 2026-11" in body["message"]


@pytest.mark.parametrize(
    ("name", "query", "message"),
    [
        ("sales", None, "'period' is required"),
        ("sales", {"period": "2026-1"}, "YYYY-MM"),
        ("Sales_2", {"period": "2026-11"}, "report name"),
    ],
)
def test_reader_refuses_bad_requests_with_400(
    read: Read, name: str, query: dict[str, str] | None, message: str
) -> None:
    status, _, body = read(name, query)

    assert status == 400
    assert message in body["message"]


def test_reader_fails_open_when_the_cache_is_down(
    read: Read, fake_redis: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_redis.down = True

    status, headers, body = read("sales", {"period": "2026-11"})

    assert (status, headers["x-cache"], body["database_queries"]) == (200, "BYPASS", 1)
    assert body["row_count"] == 2
    output = capsys.readouterr().out
    assert '"CacheUnavailable"' in output, "the outage is counted (EMF metric)"


@pytest.fixture
def change_topic(aws_environment: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto SNS topic with an SQS queue subscribed (raw delivery) to read what is published."""
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic_arn = sns.create_topic(Name="report-changes")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="changes")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        monkeypatch.setenv("CHANGE_TOPIC_ARN", topic_arn)

        def published() -> list[dict[str, Any]]:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            return [json.loads(message["Body"]) for message in messages]

        yield published


Write = Callable[[str, Any], tuple[int, dict[str, str], Any]]


@pytest.fixture
def write(
    change_topic: Any, load_handler: LoadHandler, make_event: Callable[..., Any], call_api: Api
) -> Write:
    """PUT /reports/{name}/data through the writer handler (imported inside moto)."""
    writer = load_handler("report_writer.handler")

    def put(name: str, body: Any) -> tuple[int, dict[str, str], Any]:
        event = make_event(
            "PUT", f"/reports/{name}/data", WRITE_RESOURCE, {"name": name}, body=body
        )
        return call_api(writer, event)

    return put


def test_writer_upserts_and_publishes_the_change_event(
    change_topic: Callable[[], list[dict[str, Any]]], write: Write, data_api: Any
) -> None:
    status, _, body = write(
        "sales", {"period": "2026-11", "rows": [{"label": "north", "value": 7}]}
    )

    assert status == 200
    assert body["rows_upserted"] == 1
    assert data_api.rows[("sales", "2026-11")] == [("north", 7.0)]
    assert change_topic() == [
        {"type": "ReportDataChanged", "report": "sales", "periods": ["2026-11"]}
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [("{not json", "JSON"), ({"period": "2026-11", "rows": [{"label": "x"}]}, "value")],
)
def test_writer_refuses_bad_bodies_and_publishes_nothing(
    change_topic: Callable[[], list[dict[str, Any]]],
    write: Write,
    data_api: Any,
    body: Any,
    message: str,
) -> None:
    status, _, answer = write("sales", body)

    assert status == 400
    assert message in answer["message"]
    assert data_api.statements == []
    assert change_topic() == []


def sns_event(*messages: str) -> dict[str, Any]:
    return {
        "Records": [
            {"EventSource": "aws:sns", "Sns": {"MessageId": f"m{i}", "Message": message}}
            for i, message in enumerate(messages)
        ]
    }


def test_invalidator_deletes_the_cached_report(
    load_handler: LoadHandler, fake_redis: Any, call: Callable[..., Any]
) -> None:
    fake_redis.values = {"report:v1:sales:2026-11": "{}", "report:v1:sales:2026-10": "{}"}
    invalidator = load_handler("report_invalidator.handler")
    message = json.dumps({"type": "ReportDataChanged", "report": "sales", "periods": ["2026-11"]})

    result = call(invalidator, sns_event(message))

    assert result == {"keys": ["report:v1:sales:2026-11"], "deleted": 1}
    assert list(fake_redis.values) == ["report:v1:sales:2026-10"]
    assert invalidator.connections[0]["cooldown_seconds"] == 0.0


def test_invalidator_fails_the_invocation_when_the_cache_is_down(
    load_handler: LoadHandler, fake_redis: Any, call: Callable[..., Any]
) -> None:
    """A failed invocation is what makes Lambda retry the event and then send it to the
    on-failure destination; swallowing the error would lose the invalidation."""
    from reporting_common.cache import CacheUnavailable

    invalidator = load_handler("report_invalidator.handler")
    fake_redis.down = True
    message = json.dumps({"type": "ReportDataChanged", "report": "sales", "periods": ["2026-11"]})

    with pytest.raises(CacheUnavailable):
        call(invalidator, sns_event(message))
