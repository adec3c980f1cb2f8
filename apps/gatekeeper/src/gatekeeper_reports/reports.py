"""The protected backend's rules: reports owned by API clients, and a record of every call.

The caller is whoever the authorizer said (``requestContext.authorizer.clientId``): this
code never sees a token. Every invocation is written to the calls table first, so the
table shows exactly which requests reached the backend (and that refused ones did not).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from common_layer.validation import SchemaViolation, validate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Clock = Callable[[], datetime]
# Call records are an audit trail, not data: DynamoDB's TTL deletes them after 30 days.
CALL_RECORD_DAYS = 30
MAX_LISTED = 50

REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "body": {"type": "string", "maxLength": 10_000},
    },
    "required": ["title"],
    "additionalProperties": False,
}


class InvalidReport(ValueError):
    """The report body breaks the schema; the message names the field."""


class ReportNotFound(LookupError):
    def __init__(self, report_id: str) -> None:
        super().__init__(f"report {report_id!r} not found")


@dataclass(frozen=True, slots=True)
class Call:
    """One invocation of the backend, as recorded."""

    client_id: str
    request_id: str
    route: str
    correlation_id: str | None
    at: datetime

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "client_id": self.client_id,
            "request_id": self.request_id,
            "route": self.route,
            "at": _iso(self.at),
            "expires_at": int((self.at + timedelta(days=CALL_RECORD_DAYS)).timestamp()),
        }
        if self.correlation_id:
            record["correlation_id"] = self.correlation_id
        return record


class ReportStore(Protocol):
    def insert(self, report: dict[str, Any]) -> None: ...
    def fetch(self, client_id: str, report_id: str) -> dict[str, Any] | None: ...
    def of_client(self, client_id: str, limit: int) -> list[dict[str, Any]]: ...


class CallLog(Protocol):
    def record(self, call: Call) -> None: ...


def create_report(
    store: ReportStore,
    client_id: str,
    body: Mapping[str, Any],
    *,
    clock: Clock,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict[str, Any]:
    try:
        validate(body, REPORT_SCHEMA)
    except SchemaViolation as violation:
        raise InvalidReport(violation.message) from None
    report = {
        "client_id": client_id,
        "report_id": new_id(),
        "title": body["title"],
        "body": body.get("body", ""),
        "created_at": _iso(clock()),
    }
    store.insert(report)
    return report


def get_report(store: ReportStore, client_id: str, report_id: str) -> dict[str, Any]:
    # Keyed by the caller: one client can never read another client's report.
    report = store.fetch(client_id, report_id)
    if report is None:
        raise ReportNotFound(report_id)
    return report


def list_reports(store: ReportStore, client_id: str) -> dict[str, Any]:
    return {"reports": store.of_client(client_id, MAX_LISTED)}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DynamoDBReportStore:
    """Reports keyed by ``client_id`` (partition) and ``report_id`` (sort)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def insert(self, report: dict[str, Any]) -> None:
        self._table.put_item(Item=report)

    def fetch(self, client_id: str, report_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(
            Key={"client_id": client_id, "report_id": report_id}, ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else dict(item)

    def of_client(self, client_id: str, limit: int) -> list[dict[str, Any]]:
        response = self._table.query(
            KeyConditionExpression="client_id = :c",
            ExpressionAttributeValues={":c": client_id},
            Limit=limit,
        )
        return [dict(item) for item in response.get("Items", [])]


class DynamoDBCallLog:
    """Calls keyed by ``client_id`` (partition) and ``request_id`` (sort)."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, call: Call) -> None:
        self._table.put_item(Item=call.to_record())
