"""Change events -> cache entries to delete.

A change event names a report and the periods of it that changed
(``{"type": "ReportDataChanged", "report": "sales", "periods": ["2026-11"]}``); any writer
may publish one. Deleting rather than refreshing keeps the invalidator cheap and leaves the
next reader to load exactly what it asks for. Deleting an entry that is not cached is fine.

A malformed event is an error, not something to skip: it fails the invocation so that Lambda
retries it and then parks it in the invalidator's DLQ, where an operator sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from reporting_common.reports import InvalidInput, cache_key, check_name, check_period


class KeyDeleter(Protocol):
    def delete(self, *keys: str) -> int: ...


@dataclass(frozen=True)
class Invalidation:
    keys: tuple[str, ...]
    deleted: int


def keys_of(message: str) -> tuple[str, ...]:
    """The cache keys a change event's message invalidates; ``InvalidInput`` if malformed."""
    try:
        event: Any = json.loads(message)
    except ValueError as error:
        raise InvalidInput(f"change event is not JSON: {error}") from error
    if not isinstance(event, dict) or event.get("type") != "ReportDataChanged":
        raise InvalidInput("change event must be an object of type 'ReportDataChanged'")
    name, periods = event.get("report"), event.get("periods")
    if not isinstance(name, str) or not isinstance(periods, list) or not periods:
        raise InvalidInput("change event needs 'report' (a name) and 'periods' (a list)")
    check_name(name)
    return tuple(cache_key(name, check_period(str(period))) for period in periods)


def invalidate(messages: list[str], cache: KeyDeleter) -> Invalidation:
    """Delete every entry the messages name, in one call; nothing if one is malformed."""
    keys = tuple(dict.fromkeys(key for message in messages for key in keys_of(message)))
    return Invalidation(keys=keys, deleted=cache.delete(*keys))
