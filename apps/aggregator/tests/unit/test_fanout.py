"""The fan-out runs its parts at the same time and never waits past its budget."""

from __future__ import annotations

import threading

import pytest
from overview_api.fanout import Part, TimedOut, gather

# Generous: a barrier that is not broken passes in microseconds; only a broken fan-out
# (parts run one after the other) waits this long, and then fails.
BARRIER_TIMEOUT = 5.0


def test_the_parts_run_in_parallel():
    """Each part waits at a barrier for all three: run one after the other, the first would
    wait alone until the barrier times out (BrokenBarrierError), and fail."""
    barrier = threading.Barrier(3, timeout=BARRIER_TIMEOUT)
    threads: set[str] = set()

    def part(value: int):
        def fetch() -> dict:
            threads.add(threading.current_thread().name)
            barrier.wait()
            return {"value": value}

        return fetch

    outcomes = gather(
        [Part("a", part(1)), Part("b", part(2)), Part("c", part(3))],
        budget=BARRIER_TIMEOUT * 2,
    )

    assert {name: o.value for name, o in outcomes.items()} == {
        "a": {"value": 1},
        "b": {"value": 2},
        "c": {"value": 3},
    }
    assert all(o.ok for o in outcomes.values())
    assert len(threads) == 3
    assert threading.current_thread().name not in threads


def test_a_sequential_run_would_break_the_barrier():
    """The parallelism test can fail: the same barrier, parts called in turn, breaks."""
    barrier = threading.Barrier(3, timeout=0.05)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait()  # the first of three parts, alone: nobody else arrives
    assert barrier.broken


def test_a_part_that_has_not_answered_by_the_deadline_is_reported_timed_out():
    release = threading.Event()
    try:
        outcomes = gather(
            [
                Part("fast", lambda: {"ok": True}),
                Part("stuck", lambda: {"late": release.wait(30)}),
            ],
            budget=0.2,
        )
    finally:
        release.set()

    assert outcomes["fast"].value == {"ok": True}
    assert isinstance(outcomes["stuck"].error, TimedOut)
    assert "0.2 s" in str(outcomes["stuck"].error)
    assert outcomes["stuck"].value is None


def test_a_part_that_raises_is_reported_with_its_error_and_the_others_still_answer():
    boom = RuntimeError("boom")

    def failing() -> dict:
        raise boom

    outcomes = gather([Part("bad", failing), Part("good", lambda: {"x": 1})], budget=5)

    assert outcomes["bad"].error is boom
    assert not outcomes["bad"].ok
    assert outcomes["good"].value == {"x": 1}


def test_outcomes_come_in_the_order_the_parts_were_given():
    names = ["z", "a", "m"]
    outcomes = gather([Part(n, lambda: {}) for n in names], budget=5)
    assert list(outcomes) == names


def test_stop_early_ends_the_wait_when_a_decisive_part_fails():
    """Without stop_early this would wait for the stuck part until its 30 s budget."""
    release = threading.Event()

    def failing() -> dict:
        raise LookupError("no such customer")

    try:
        outcomes = gather(
            [
                Part("profile", failing, essential=True),
                Part("slow", lambda: {"x": release.wait(30)}),
            ],
            budget=30,
            stop_early=lambda outcome: outcome.part == "profile",
        )
    finally:
        release.set()

    assert isinstance(outcomes["profile"].error, LookupError)
    assert isinstance(outcomes["slow"].error, TimedOut)


def test_stop_early_false_keeps_waiting_for_the_others():
    def failing() -> dict:
        raise LookupError("not decisive")

    outcomes = gather(
        [Part("minor", failing), Part("other", lambda: {"x": 1})],
        budget=5,
        stop_early=lambda outcome: False,
    )

    assert outcomes["other"].value == {"x": 1}


def test_part_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        gather([Part("a", lambda: {}), Part("a", lambda: {})], budget=1)


def test_nothing_to_gather_is_an_empty_answer():
    assert gather([], budget=1) == {}
