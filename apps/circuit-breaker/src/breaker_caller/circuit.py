"""The circuit breaker: a state machine whose state lives in a shared store.

Every execution environment of the caller reads and writes the same breaker record, so
the state machine never trusts what it read: each change is a conditional write that
only succeeds if the record is still what the decision was based on.

- ``CLOSED``: calls go through. A failure adds 1 to ``failures`` atomically (only while
  the breaker is closed); a success resets the count, so it counts consecutive failures.
  The caller whose failure reaches ``failure_threshold`` opens the breaker.
- ``OPEN``: calls are refused at once, without calling the dependency, until
  ``open_until_ms``.
- After that, the first caller to win a conditional write to ``HALF_OPEN`` makes the one
  trial call; everyone else is still refused. The trial holds a lease
  (``trial_until_ms``): if its caller dies without reporting, the next caller after the
  lease may take the trial over.
- Trial success: ``CLOSED`` with the open period back to ``open_ms``. Trial failure:
  ``OPEN`` again for twice the previous period, capped at ``max_open_ms``.

Times are wall-clock milliseconds since the epoch (``int``), because the record is shared
by processes on different hosts; a monotonic clock only means something inside one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class State(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class Settings:
    """How the breaker behaves; the same for every breaker of a deployment."""

    failure_threshold: int
    open_ms: int
    max_open_ms: int
    # How long a trial caller may take before another caller may take the trial over:
    # longer than the dependency call timeout plus the caller's own bookkeeping.
    trial_lease_ms: int

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.open_ms < 1:
            raise ValueError("open_ms must be positive")
        if self.max_open_ms < self.open_ms:
            raise ValueError("max_open_ms must not be below open_ms")
        if self.trial_lease_ms < 1:
            raise ValueError("trial_lease_ms must be positive")


@dataclass(frozen=True)
class Snapshot:
    """One breaker's record as read from (or written to) the store.

    ``version`` grows by one on every change of state; 0 means "never opened" (including
    no record at all). ``open_ms`` is the length of the last open period (0 once closed),
    from which a failed trial computes the next one.
    """

    key: str
    state: State = State.CLOSED
    failures: int = 0
    open_until_ms: int = 0
    open_ms: int = 0
    trial_until_ms: int = 0
    version: int = 0


class BreakerStore(Protocol):
    """Where breakers live. Every write is atomic and conditional (see each method)."""

    def load(self, key: str) -> Snapshot:
        """The current record (strongly consistent); ``Snapshot(key)`` when there is none."""
        ...

    def add_failure(self, key: str) -> Snapshot | None:
        """Add 1 to ``failures`` if the breaker is CLOSED (creating the record if absent),
        and return the record after it; ``None`` if the breaker is not CLOSED."""
        ...

    def reset_failures(self, key: str) -> None:
        """Set ``failures`` to 0 if the breaker is CLOSED; do nothing otherwise."""
        ...

    def replace(self, expected: Snapshot, new: Snapshot) -> bool:
        """Write ``new`` only if the stored record still has ``expected.version`` and at
        least ``expected.failures`` failures (no success reset the count meanwhile).
        True if written; False if another caller changed the record first."""
        ...


@dataclass(frozen=True)
class Admission:
    """The breaker's answer to "may I call the dependency now?"."""

    allowed: bool
    snapshot: Snapshot
    trial: bool = False
    retry_after_ms: int = 0


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class CircuitBreaker:
    """``admit`` before calling the dependency; then ``succeeded`` or ``failed``."""

    def __init__(
        self,
        store: BreakerStore,
        settings: Settings,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def admit(self, key: str) -> Admission:
        current = self.store.load(key)
        now = self.clock()
        if current.state is State.CLOSED:
            return Admission(allowed=True, snapshot=current)
        if current.state is State.OPEN and now < current.open_until_ms:
            return _refused(current, current.open_until_ms - now)
        if current.state is State.HALF_OPEN and now < current.trial_until_ms:
            return _refused(current, current.trial_until_ms - now)
        # The open period is over (or a trial's lease ran out): one caller makes the trial.
        trial = dataclasses.replace(
            current,
            state=State.HALF_OPEN,
            trial_until_ms=now + self.settings.trial_lease_ms,
            version=current.version + 1,
        )
        if self.store.replace(current, trial):
            return Admission(allowed=True, snapshot=trial, trial=True)
        # Another caller won the trial (or changed the record) between our read and write.
        return _refused(self.store.load(key), self.settings.trial_lease_ms)

    def succeeded(self, admission: Admission) -> Snapshot:
        """Record a successful call; return the breaker as it now is (as far as known)."""
        before = admission.snapshot
        if admission.trial:
            closed = Snapshot(key=before.key, state=State.CLOSED, version=before.version + 1)
            return closed if self.store.replace(before, closed) else self.store.load(before.key)
        if before.failures:
            self.store.reset_failures(before.key)
        return dataclasses.replace(before, failures=0)

    def failed(self, admission: Admission) -> Snapshot:
        """Record a failed call; open the breaker if this failure is the one that must."""
        before = admission.snapshot
        if admission.trial:
            period = min(max(before.open_ms, self.settings.open_ms) * 2, self.settings.max_open_ms)
            return self._open(before, period)
        counted = self.store.add_failure(before.key)
        if counted is None:  # someone else opened it while this call was under way
            return self.store.load(before.key)
        if counted.failures < self.settings.failure_threshold:
            return counted
        return self._open(counted, self.settings.open_ms)

    def _open(self, before: Snapshot, period_ms: int) -> Snapshot:
        opened = Snapshot(
            key=before.key,
            state=State.OPEN,
            open_until_ms=self.clock() + period_ms,
            open_ms=period_ms,
            version=before.version + 1,
        )
        return opened if self.store.replace(before, opened) else self.store.load(before.key)


def _refused(snapshot: Snapshot, retry_after_ms: int) -> Admission:
    return Admission(allowed=False, snapshot=snapshot, retry_after_ms=max(retry_after_ms, 0))
