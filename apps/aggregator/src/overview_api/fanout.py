"""Run several calls at once and keep what came back within a time budget.

``gather`` submits every part to its own thread (the calls are I/O-bound Lambda invokes,
so threads overlap them fully; the GIL is released while a socket waits), waits until all
have finished or the budget is spent, and reports each part as an :class:`Outcome`: its
value, or the exception it raised, or :class:`TimedOut` when it had not answered by then.

A part still running at the deadline is abandoned, not joined: the pool is shut down
without waiting, so the caller answers on time. Its thread ends when its own call returns
or times out (the Lambda client's read timeout bounds it); whatever it returns is dropped.

Tracing needs nothing here: in Lambda the X-Ray SDK keeps its context per thread and builds
each worker thread's parent from the invocation's trace header, so the three calls appear
as parallel subsegments of the same trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

__all__ = ["Outcome", "Part", "TimedOut", "gather"]

Fetch = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Part:
    """One call of the fan-out. ``essential``: without it there is no answer at all."""

    name: str
    fetch: Fetch
    essential: bool = False


class TimedOut(Exception):
    """The part had not answered when the budget ran out."""


@dataclass(frozen=True, slots=True)
class Outcome:
    part: str
    value: dict[str, Any] | None = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def gather(
    parts: Sequence[Part],
    *,
    budget: float,
    stop_early: Callable[[Outcome], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Outcome]:
    """Call every part in parallel; each outcome by part name, in the order given.

    ``budget``: seconds to wait for all the parts together. ``stop_early(outcome)``: called
    for each part that fails before the deadline; when it returns True the others are no
    longer waited for (they are reported as :class:`TimedOut` only if still running).
    """
    if not parts:
        return {}
    if len({part.name for part in parts}) != len(parts):
        raise ValueError("part names must be unique")
    started = clock()
    finished_at: dict[str, float] = {}

    def timed(part: Part) -> dict[str, Any]:
        try:
            return part.fetch()
        finally:
            finished_at[part.name] = clock()

    pool = ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="fanout")
    try:
        futures: dict[Future[dict[str, Any]], Part] = {
            pool.submit(timed, part): part for part in parts
        }
        pending = set(futures)
        deadline = started + budget
        while pending:
            left = deadline - clock()
            if left <= 0:
                break
            done, pending = wait(pending, timeout=left, return_when=FIRST_EXCEPTION)
            if stop_early is not None and any(
                stop_early(_outcome(futures[f], f, started, finished_at))
                for f in done
                if f.exception() is not None
            ):
                break
        outcomes = {}
        for future, part in futures.items():
            if future.done():
                outcomes[part.name] = _outcome(part, future, started, finished_at)
            else:
                future.cancel()
                outcomes[part.name] = Outcome(
                    part.name,
                    error=TimedOut(f"no answer within {budget:.1f} s"),
                    seconds=clock() - started,
                )
        return {part.name: outcomes[part.name] for part in parts}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _outcome(
    part: Part, future: Future[dict[str, Any]], started: float, finished_at: dict[str, float]
) -> Outcome:
    seconds = finished_at.get(part.name, started) - started
    error = future.exception()
    if error is not None:
        return Outcome(part.name, error=error, seconds=seconds)
    return Outcome(part.name, value=future.result(), seconds=seconds)
