"""The report rows in Aurora PostgreSQL, through the RDS Data API (no driver, no VPC path to
the database, no connection pool: every statement is one HTTPS call).

One table, ``report_rows``, keyed by (report_name, period, label). Writers create it on
first use; readers never do (a read must cost exactly one statement), and treat a missing
table as "no data yet".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from reporting_common.reports import Report, ReportRow

# Concurrent first writes would race on CREATE TABLE IF NOT EXISTS in PostgreSQL's catalog;
# a transaction-scoped advisory lock serialises them. One DO block is one Data API call.
SCHEMA_SQL = """
DO $schema$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('reporting.schema'));
    CREATE TABLE IF NOT EXISTS report_rows (
        report_name text NOT NULL,
        period text NOT NULL,
        label text NOT NULL,
        value double precision NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (report_name, period, label)
    );
END
$schema$
"""

SELECT_REPORT_SQL = """
SELECT label, value FROM report_rows
WHERE report_name = :name AND period = :period
ORDER BY label
"""

SqlParameter = dict[str, Any]


class DataApiClient(Protocol):
    """The part of boto3's ``rds-data`` client this module uses."""

    def execute_statement(self, **kwargs: Any) -> Mapping[str, Any]: ...


def _string(name: str, value: str) -> SqlParameter:
    return {"name": name, "value": {"stringValue": value}}


def _double(name: str, value: float) -> SqlParameter:
    return {"name": name, "value": {"doubleValue": value}}


def _number(field: Mapping[str, Any]) -> float:
    for kind in ("doubleValue", "longValue"):
        if kind in field:
            return float(field[kind])
    return float(field["stringValue"])


def _missing_table(error: ClientError) -> bool:
    return "report_rows" in str(error) and "does not exist" in str(error)


class DataApiReportStore:
    """``ReportStore`` (reader) and ``ReportWriterStore`` (writer) on the Data API.

    ``queries`` counts the statements this instance sent: the reader reports it per request
    to show that the database is touched on cache misses only.
    """

    def __init__(
        self, client: DataApiClient, *, cluster_arn: str, secret_arn: str, database: str
    ) -> None:
        self._client = client
        self._target = {"resourceArn": cluster_arn, "secretArn": secret_arn, "database": database}
        self._schema_ready = False
        self.queries = 0

    def load(self, name: str, period: str) -> Report:
        generated_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        try:
            response = self._execute(
                SELECT_REPORT_SQL, [_string("name", name), _string("period", period)]
            )
        except ClientError as error:
            if _missing_table(error):  # nothing was ever written
                return Report(name=name, period=period, rows=(), generated_at=generated_at)
            raise
        rows = tuple(
            ReportRow(label=str(record[0]["stringValue"]), value=_number(record[1]))
            for record in response.get("records", [])
        )
        return Report(name=name, period=period, rows=rows, generated_at=generated_at)

    def upsert(self, name: str, period: str, rows: Sequence[ReportRow]) -> int:
        """Insert or overwrite ``rows`` in one statement (one transaction); returns their count."""
        self._ensure_schema()
        values = ", ".join(
            f"(:name, :period, :label{index}, :value{index}, now())" for index in range(len(rows))
        )
        parameters = [_string("name", name), _string("period", period)]
        for index, row in enumerate(rows):
            parameters += [_string(f"label{index}", row.label), _double(f"value{index}", row.value)]
        self._execute(
            "INSERT INTO report_rows (report_name, period, label, value, updated_at)"
            f" VALUES {values}"
            " ON CONFLICT (report_name, period, label)"
            " DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
            parameters,
        )
        return len(rows)

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            self._execute(SCHEMA_SQL, [])
            self._schema_ready = True

    def _execute(self, sql: str, parameters: Sequence[SqlParameter]) -> Mapping[str, Any]:
        self.queries += 1
        return self._client.execute_statement(**self._target, sql=sql, parameters=list(parameters))
