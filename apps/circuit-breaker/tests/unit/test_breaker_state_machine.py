"""The breaker's state machine with a fake clock, against both stores: the in-memory fake
and the DynamoDB adapter on moto (so the adapter's conditional writes obey the same rules).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from breaker_caller.circuit import Admission, CircuitBreaker, Settings, Snapshot, State
from breaker_caller.store import DynamoDBBreakerStore

BREAKER_TABLE = "circuit-breaker-breakers-unit"

SETTINGS = Settings(failure_threshold=3, open_ms=2_000, max_open_ms=16_000, trial_lease_ms=5_000)
KEY = "acme"


@pytest.fixture(params=["in-memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "in-memory":
        yield request.getfixturevalue("memory_store")
        return
    request.getfixturevalue("tables")
    yield DynamoDBBreakerStore(boto3.resource("dynamodb").Table(BREAKER_TABLE))


@pytest.fixture
def breaker(store: Any, clock: Any) -> CircuitBreaker:
    return CircuitBreaker(store, SETTINGS, clock)


def fail_once(breaker: CircuitBreaker, key: str = KEY) -> Snapshot:
    admission = breaker.admit(key)
    assert admission.allowed
    return breaker.failed(admission)


def trip(breaker: CircuitBreaker, key: str = KEY) -> Snapshot:
    for _ in range(SETTINGS.failure_threshold):
        after = fail_once(breaker, key)
    assert after.state is State.OPEN
    return after


def test_a_new_breaker_is_closed_and_lets_calls_through(breaker: CircuitBreaker) -> None:
    admission = breaker.admit(KEY)
    assert admission.allowed
    assert not admission.trial
    assert admission.snapshot.state is State.CLOSED
    assert breaker.succeeded(admission).state is State.CLOSED


def test_failures_below_the_threshold_keep_it_closed(breaker: CircuitBreaker) -> None:
    assert fail_once(breaker).failures == 1
    after = fail_once(breaker)
    assert after.state is State.CLOSED
    assert after.failures == 2
    assert breaker.admit(KEY).allowed


def test_the_threshold_failure_opens_it_for_open_ms(
    breaker: CircuitBreaker, clock: Any, store: Any
) -> None:
    opened = trip(breaker)
    assert opened.open_until_ms == clock() + SETTINGS.open_ms
    assert opened.open_ms == SETTINGS.open_ms
    assert store.load(KEY).state is State.OPEN


def test_a_success_resets_the_count_so_only_consecutive_failures_open(
    breaker: CircuitBreaker, store: Any
) -> None:
    fail_once(breaker)
    fail_once(breaker)
    breaker.succeeded(breaker.admit(KEY))
    assert store.load(KEY).failures == 0
    fail_once(breaker)
    fail_once(breaker)
    assert store.load(KEY).state is State.CLOSED


def test_while_open_calls_are_refused_with_the_time_left(
    breaker: CircuitBreaker, clock: Any
) -> None:
    trip(breaker)
    clock.advance(0.5)
    refused = breaker.admit(KEY)
    assert not refused.allowed
    assert refused.retry_after_ms == 1_500
    clock.advance(1.499)
    assert not breaker.admit(KEY).allowed


def test_breakers_are_independent(breaker: CircuitBreaker) -> None:
    trip(breaker, "acme")
    assert breaker.admit("globex").allowed


def test_after_the_open_period_one_caller_gets_the_trial_and_the_next_is_refused(
    breaker: CircuitBreaker, clock: Any
) -> None:
    trip(breaker)
    clock.advance(2)
    trial = breaker.admit(KEY)
    assert trial.allowed
    assert trial.trial
    assert trial.snapshot.state is State.HALF_OPEN
    other = breaker.admit(KEY)
    assert not other.allowed
    assert other.snapshot.state is State.HALF_OPEN
    assert other.retry_after_ms == SETTINGS.trial_lease_ms


def test_two_callers_reading_the_same_open_record_start_only_one_trial(
    store: Any, clock: Any, stale_reads: Any
) -> None:
    """The race: both read OPEN-and-expired before either wrote; the conditional write lets
    exactly one of them become the trial caller."""
    trip(CircuitBreaker(store, SETTINGS, clock))
    clock.advance(2)
    stale = stale_reads(store)
    stale.freeze(KEY)
    # One breaker object per execution environment, sharing the store.
    first = CircuitBreaker(stale, SETTINGS, clock).admit(KEY)
    second = CircuitBreaker(stale, SETTINGS, clock).admit(KEY)
    assert [first.trial, second.trial] == [True, False]
    assert not second.allowed
    assert store.load(KEY).state is State.HALF_OPEN


def test_two_failures_reaching_the_threshold_together_open_it_once(store: Any, clock: Any) -> None:
    breaker = CircuitBreaker(store, SETTINGS, clock)
    fail_once(breaker)
    fail_once(breaker)
    # Two callers admitted while closed, both failing: counts 3 and 4, one opening write.
    a, b = breaker.admit(KEY), breaker.admit(KEY)
    opened = breaker.failed(a)
    assert opened.state is State.OPEN
    assert opened.version == 1
    after = breaker.failed(b)
    assert after == store.load(KEY)
    assert after.version == 1  # the straggler changed nothing


def test_a_successful_trial_closes_it_and_resets_the_backoff(
    breaker: CircuitBreaker, clock: Any, store: Any
) -> None:
    trip(breaker)
    clock.advance(2)
    closed = breaker.succeeded(breaker.admit(KEY))
    assert closed.state is State.CLOSED
    stored = store.load(KEY)
    assert (stored.state, stored.failures, stored.open_ms) == (State.CLOSED, 0, 0)
    assert breaker.admit(KEY).allowed
    # Opened again later: back to the first open period, not the doubled one.
    assert trip(breaker).open_ms == SETTINGS.open_ms


def test_a_failed_trial_reopens_it_for_twice_as_long_up_to_the_cap(
    breaker: CircuitBreaker, clock: Any
) -> None:
    trip(breaker)
    periods = []
    for _ in range(5):
        clock.advance(SETTINGS.max_open_ms / 1000)
        trial = breaker.admit(KEY)
        assert trial.trial
        reopened = breaker.failed(trial)
        assert reopened.state is State.OPEN
        assert reopened.open_until_ms == clock() + reopened.open_ms
        periods.append(reopened.open_ms)
    assert periods == [4_000, 8_000, 16_000, 16_000, 16_000]


def test_a_trial_whose_caller_vanished_is_taken_over_after_its_lease(
    breaker: CircuitBreaker, clock: Any
) -> None:
    trip(breaker)
    clock.advance(2)
    lost = breaker.admit(KEY)
    assert lost.trial
    clock.advance(SETTINGS.trial_lease_ms / 1000 - 0.001)
    assert not breaker.admit(KEY).allowed
    clock.advance(0.001)
    takeover = breaker.admit(KEY)
    assert takeover.trial
    # The first trial caller reports late: its lease is gone, the report changes nothing.
    assert breaker.succeeded(lost).state is State.HALF_OPEN
    assert breaker.succeeded(takeover).state is State.CLOSED


def test_failures_of_calls_admitted_before_it_opened_do_not_count_later(
    breaker: CircuitBreaker, clock: Any, store: Any
) -> None:
    slow_call = breaker.admit(KEY)
    trip(breaker)
    clock.advance(1)
    after = breaker.failed(slow_call)
    assert after.state is State.OPEN
    assert after.open_until_ms == store.load(KEY).open_until_ms
    breaker.succeeded(slow_call)
    assert store.load(KEY).state is State.OPEN


def test_refused_calls_do_not_write(clock: Any, memory_store: Any) -> None:
    store = memory_store
    breaker = CircuitBreaker(store, SETTINGS, clock)
    trip(breaker)
    writes = store.writes
    for _ in range(10):
        assert not breaker.admit(KEY).allowed
    assert store.writes == writes


def test_successes_while_closed_with_no_failures_do_not_write(
    clock: Any, memory_store: Any
) -> None:
    store = memory_store
    breaker = CircuitBreaker(store, SETTINGS, clock)
    for _ in range(5):
        breaker.succeeded(breaker.admit(KEY))
    assert store.writes == 0


def test_an_admission_is_what_the_breaker_said() -> None:
    refused = Admission(allowed=False, snapshot=Snapshot(KEY, State.OPEN), retry_after_ms=10)
    assert not refused.trial


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"open_ms": 0}, "open_ms"),
        ({"max_open_ms": 1_000}, "max_open_ms"),
        ({"trial_lease_ms": 0}, "trial_lease_ms"),
    ],
)
def test_settings_refuse_nonsense(kwargs: dict[str, int], message: str) -> None:
    values = {"failure_threshold": 3, "open_ms": 2_000, "max_open_ms": 16_000}
    values["trial_lease_ms"] = 5_000
    values.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Settings(**values)
