"""Writes: validate the rows, upsert them in PostgreSQL, then announce the change.

The change event, not the writer, invalidates the cache: any writer of report rows (this
API, a batch import, a migration) publishes the same event to the change topic, and the
invalidator deletes the affected cache entries. Publishing happens after the upsert has
committed; if publishing fails the request fails and the client retries (the upsert is
idempotent), and until then readers may see the old report for at most the cache TTL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from common_layer.validation import SchemaViolation, validate
from reporting_common.reports import InvalidInput, ReportRow, check_name, check_period

MAX_ROWS = 100

REPORT_DATA_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Rows of one report for one period",
    "type": "object",
    "properties": {
        "period": {"type": "string"},
        "rows": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_ROWS,
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "minLength": 1, "maxLength": 100},
                    "value": {"type": "number"},
                },
                "required": ["label", "value"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["period", "rows"],
    "additionalProperties": False,
}


class ReportWriterStore(Protocol):
    def upsert(self, name: str, period: str, rows: list[ReportRow]) -> int: ...


class ChangePublisher(Protocol):
    def publish(self, message: str, report_name: str) -> str: ...


@dataclass(frozen=True)
class WriteResult:
    name: str
    period: str
    rows_upserted: int
    change_event_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "period": self.period,
            "rows_upserted": self.rows_upserted,
            "change_event_id": self.change_event_id,
        }


def change_event(name: str, periods: list[str]) -> dict[str, Any]:
    """The change event every writer publishes: which report periods changed."""
    return {"type": "ReportDataChanged", "report": name, "periods": periods}


def write_report_data(
    name: str, body: dict[str, Any], *, store: ReportWriterStore, publisher: ChangePublisher
) -> WriteResult:
    check_name(name)
    try:
        validate(body, REPORT_DATA_SCHEMA)
    except SchemaViolation as error:
        raise InvalidInput(str(error)) from error
    period = check_period(body["period"])
    rows = [ReportRow(label=row["label"], value=float(row["value"])) for row in body["rows"]]
    labels = [row.label for row in rows]
    if len(set(labels)) != len(labels):
        # One statement cannot upsert the same key twice (PostgreSQL refuses it).
        raise InvalidInput("field 'rows' has the same label twice")
    count = store.upsert(name, period, rows)
    event_id = publisher.publish(json.dumps(change_event(name, [period])), name)
    return WriteResult(name=name, period=period, rows_upserted=count, change_event_id=event_id)
