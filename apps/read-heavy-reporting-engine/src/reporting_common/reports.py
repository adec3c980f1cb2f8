"""Report identity and shape: names, periods, cache keys, and a report as JSON.

A report is the set of (label, value) rows stored for one report name and one month
(``period``, ``YYYY-MM``). Readers get it with its total; writers upsert rows of it.
Nothing here knows about HTTP, Redis or PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Lower-case slugs: they go into URLs and cache keys unescaped.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PERIOD_PATTERN = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
# The cache key names its layout version: a change of the cached JSON's shape bumps it, so
# old entries are simply never read again (they expire with their TTL).
CACHE_KEY_PREFIX = "report:v1"


class InvalidInput(ValueError):
    """The caller sent a name, period or row the rules reject; the message says which."""


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"report name '{name[:80]}' must be 1-63 lower-case letters, digits or '-'"
        )
    return name


def check_period(period: str | None) -> str:
    if period is None or period == "":
        raise InvalidInput("query parameter 'period' is required (a month, YYYY-MM)")
    if not PERIOD_PATTERN.match(period):
        raise InvalidInput(f"period '{period[:40]}' must be a month written YYYY-MM")
    return period


def cache_key(name: str, period: str) -> str:
    """Where the cached copy of one report for one period lives."""
    return f"{CACHE_KEY_PREFIX}:{name}:{period}"


@dataclass(frozen=True)
class ReportRow:
    label: str
    value: float


@dataclass(frozen=True)
class Report:
    """A report as read from the database at ``generated_at`` (ISO 8601, UTC)."""

    name: str
    period: str
    rows: tuple[ReportRow, ...]
    generated_at: str

    @property
    def is_empty(self) -> bool:
        return not self.rows

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "period": self.period,
            "rows": [{"label": row.label, "value": row.value} for row in self.rows],
            "row_count": len(self.rows),
            "total": sum(row.value for row in self.rows),
            "generated_at": self.generated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            name=str(data["name"]),
            period=str(data["period"]),
            rows=tuple(
                ReportRow(label=str(row["label"]), value=float(row["value"]))
                for row in data["rows"]
            ),
            generated_at=str(data["generated_at"]),
        )
