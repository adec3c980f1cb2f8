"""Fault drills: make a service fail or answer late for one customer, on purpose, with data.

An operator (or an integration test) arms a drill by writing ``fault_drill`` on the
customer's record in the service's own table (the orders service: on an item whose sort
key is ``~fault-drill``, which sorts before every order in a newest-first query). The
service then misbehaves for that customer only, on AWS and on the local cloud alike, so the
aggregator's degraded answers can be exercised end to end without touching the platform:

- ``fail``: the service raises ``Unavailable`` (its store "failed").
- ``slow``: the service answers correctly, but only when ``SLOW_DRILL_RESERVE`` seconds of
  its own timeout are left: later than any caller budget shorter than the service's Timeout.

Removing the attribute (or the item) disarms it. Anyone who can write the table can arm
one, which is no more than they could already break by writing bad data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from overview_services.contract import Unavailable

DRILL_ATTRIBUTE = "fault_drill"
MODES = ("fail", "slow")

# A "slow" service answers with this much of its own time left: late, yet not killed.
SLOW_DRILL_RESERVE = 0.5

RemainingSeconds = Callable[[], float]
Sleep = Callable[[float], None]


class DrillError(ValueError):
    """The record names a drill this code does not know (a typo by whoever armed it)."""


def drill_of(record: Mapping[str, Any] | None) -> str | None:
    """The drill armed on ``record``, or None."""
    if not record or DRILL_ATTRIBUTE not in record:
        return None
    mode = str(record[DRILL_ATTRIBUTE])
    if mode not in MODES:
        raise DrillError(f"unknown fault drill {mode!r}; use one of {', '.join(MODES)}")
    return mode


def run_drill(mode: str | None, service: str, *, remaining: RemainingSeconds, sleep: Sleep) -> None:
    """Act out ``mode`` (from :func:`drill_of`): raise, wait, or do nothing."""
    if mode == "fail":
        raise Unavailable(f"fault drill: the {service} service fails for this customer")
    if mode == "slow":
        sleep(max(0.0, remaining() - SLOW_DRILL_RESERVE))
