"""Subscription filter patterns: what the local cloud evaluates, and what it refuses.

AWS ("Filter pattern syntax for metric filters, subscription filters, filter log events"):
a subscription filter sends a log event to its destination only when the event matches the
filter's pattern. An empty pattern matches every event. For unstructured events a pattern of
terms matches events that contain every term (terms are case sensitive; a term with
characters other than letters, digits and underscores is written in double quotes, and a
quoted phrase matches as a whole). The syntax also has OR (``?term``), exclusion
(``-term``), regular expressions (``%...%``), JSON patterns (``{ $.level = "ERROR" }``) and
space-delimited patterns (``[ip, user, ...]``).

moto stores the pattern and delivers every event whatever it says. Here the delivery keeps
only the matching events (none left: nothing is delivered), for the patterns above made of
plain and quoted terms. Any other pattern is refused at PutSubscriptionFilter with an
``InvalidParameterException`` that names it: a subscriber tested locally against more
events than AWS would send it could pass here and fail there.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import Any

# A bare term (letters, digits, underscores) or a quoted phrase without inner quotes.
_TERM = re.compile(r'\s*(?:"(?P<phrase>[^"]*)"|(?P<word>\w+))\s*')

# "<class>.<attribute>" -> (owner, moto's original), so install() runs once.
PATCHES: dict[str, tuple[Any, Any]] = {}
_install_lock = threading.Lock()


class UnsupportedFilterPattern(ValueError):
    """A valid CloudWatch Logs pattern the local cloud does not evaluate."""


def matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate on an event's message for ``pattern``; raises for what is not evaluated."""
    terms: list[str] = []
    pattern = pattern.strip()
    position = 0
    while position < len(pattern):
        match = _TERM.match(pattern, position)
        if match is None or match.end() == position:
            raise UnsupportedFilterPattern(
                f"the local cloud does not evaluate the filter pattern {pattern!r}: it "
                'supports an empty pattern, terms (ERROR Exception) and quoted phrases ("no '
                'stock"), all of which must appear; not ?OR, -exclusion, %regex%, JSON or '
                "space-delimited patterns"
            )
        terms.append(match.group("phrase") if match.group("word") is None else match["word"])
        position = match.end()
    return lambda message: all(term in message for term in terms)


def _refusing_unsupported(method: Callable[..., Any]) -> Callable[..., Any]:
    """``LogsBackend.put_subscription_filter``, refusing a pattern it could not honour."""

    @functools.wraps(method)
    def put_subscription_filter(
        backend: Any,
        log_group_name: str,
        filter_name: str,
        filter_pattern: str,
        destination_arn: str,
        role_arn: str,
    ) -> None:
        from moto.logs.exceptions import InvalidParameterException

        try:
            matcher(filter_pattern or "")
        except UnsupportedFilterPattern as error:
            raise InvalidParameterException(str(error)) from error
        method(backend, log_group_name, filter_name, filter_pattern, destination_arn, role_arn)

    return put_subscription_filter


def _delivering_matches_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """``LogStream._send_log_events``, with the events the subscription filter matches."""

    @functools.wraps(method)
    def send_log_events(
        stream: Any,
        service: str,
        destination_arn: str,
        filter_name: str,
        log_events: list[dict[str, Any]],
    ) -> None:
        subscription = stream.log_group.subscription_filters.get(filter_name)
        if subscription is not None:
            matches = matcher(subscription.filter_pattern or "")
            log_events = [event for event in log_events if matches(str(event["message"]))]
        if log_events:
            method(stream, service, destination_arn, filter_name, log_events)

    return send_log_events


def install() -> None:
    """Wrap moto's methods (once per process)."""
    from moto.logs.models import LogsBackend, LogStream

    with _install_lock:
        if PATCHES:
            return
        PATCHES["LogsBackend.put_subscription_filter"] = (
            LogsBackend,
            LogsBackend.put_subscription_filter,
        )
        LogsBackend.put_subscription_filter = _refusing_unsupported(  # type: ignore[method-assign]
            LogsBackend.put_subscription_filter
        )
        PATCHES["LogStream._send_log_events"] = (LogStream, LogStream._send_log_events)
        LogStream._send_log_events = _delivering_matches_only(  # type: ignore[method-assign]
            LogStream._send_log_events
        )
