"""Writes and change events: validation, the upsert, the event every writer publishes,
and the keys an event invalidates."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from report_invalidator.invalidation import invalidate, keys_of
from report_writer.writing import change_event, write_report_data
from reporting_common.reports import InvalidInput, ReportRow, cache_key


class RecordingStore:
    def __init__(self) -> None:
        self.upserts: list[tuple[str, str, list[ReportRow]]] = []

    def upsert(self, name: str, period: str, rows: list[ReportRow]) -> int:
        self.upserts.append((name, period, rows))
        return len(rows)


class RecordingPublisher:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def publish(self, message: str, report_name: str) -> str:
        self.messages.append((message, report_name))
        return f"msg-{len(self.messages)}"


def test_a_write_upserts_then_publishes_the_change_event() -> None:
    store, publisher = RecordingStore(), RecordingPublisher()

    result = write_report_data(
        "sales",
        {"period": "2026-11", "rows": [{"label": "north", "value": 3}]},
        store=store,
        publisher=publisher,
    )

    assert store.upserts == [("sales", "2026-11", [ReportRow("north", 3.0)])]
    assert json.loads(publisher.messages[0][0]) == {
        "type": "ReportDataChanged",
        "report": "sales",
        "periods": ["2026-11"],
    }
    assert result.to_json() == {
        "name": "sales",
        "period": "2026-11",
        "rows_upserted": 1,
        "change_event_id": "msg-1",
    }


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("Sales!", {"period": "2026-11", "rows": [{"label": "a", "value": 1}]}, "report name"),
        ("sales", {"period": "2026-13", "rows": [{"label": "a", "value": 1}]}, "YYYY-MM"),
        ("sales", {"period": "2026-11", "rows": []}, "rows"),
        ("sales", {"period": "2026-11", "rows": [{"label": "a", "value": "1"}]}, "value"),
        (
            "sales",
            {"period": "2026-11", "rows": [{"label": "a", "value": 1}, {"label": "a", "value": 2}]},
            "same label",
        ),
        ("sales", {"rows": [{"label": "a", "value": 1}]}, "period"),
    ],
)
def test_bad_writes_are_refused_before_anything_is_stored(
    name: str, body: dict[str, Any], message: str
) -> None:
    store, publisher = RecordingStore(), RecordingPublisher()

    with pytest.raises(InvalidInput, match=message):
        write_report_data(name, body, store=store, publisher=publisher)

    assert store.upserts == []
    assert publisher.messages == []


def test_a_change_event_names_the_keys_of_its_periods() -> None:
    message = json.dumps(change_event("sales", ["2026-10", "2026-11"]))

    assert keys_of(message) == (cache_key("sales", "2026-10"), cache_key("sales", "2026-11"))


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[]",
        '{"type": "Other", "report": "sales", "periods": ["2026-11"]}',
        '{"type": "ReportDataChanged", "report": "sales", "periods": []}',
        '{"type": "ReportDataChanged", "report": "sales", "periods": ["11-2026"]}',
    ],
)
def test_a_malformed_change_event_is_an_error(message: str) -> None:
    with pytest.raises(InvalidInput):
        keys_of(message)


def test_invalidation_deletes_every_named_entry_once(
    fake_redis: Any, make_cache: Callable[..., Any]
) -> None:
    redis = fake_redis
    redis.values = {cache_key("sales", "2026-11"): "{}", cache_key("costs", "2026-11"): "{}"}
    report_cache = make_cache()
    message = json.dumps(change_event("sales", ["2026-11", "2026-10"]))

    result = invalidate([message, message], report_cache)

    assert result.keys == (cache_key("sales", "2026-11"), cache_key("sales", "2026-10"))
    assert result.deleted == 1
    assert list(redis.values) == [cache_key("costs", "2026-11")]
