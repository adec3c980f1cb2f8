"""What every event source poller shares: its settings, the mapping's configuration, its
threads, its state as the Lambda API reports it, and how it invokes the function.

A poller belongs to one event source mapping for the mapping's whole life. It reads the
mapping's configuration from moto's ``EventSourceMapping`` at every step, so an
``UpdateEventSourceMapping`` (batch size, filters, concurrency...) takes effect on the next
batch without restarting anything. Disabling lets the batch in flight finish and then ends
the poller's threads; enabling starts them again (stream checkpoints are kept meanwhile).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud.awslambda.event_sources.filters import InvalidFilterPattern, patterns_of
from localcloud.awslambda.model import InvokeRequest, InvokeResult, RuntimeStopped, Throttled

log = logging.getLogger("localcloud.awslambda.event_sources")

# Attributes the local cloud keeps on moto's EventSourceMapping objects.
STATE_ATTRIBUTE = "localcloud_state"
REASON_ATTRIBUTE = "localcloud_state_reason"
LAST_RESULT_ATTRIBUTE = "localcloud_last_processing_result"
# States that end as soon as a polling thread runs the mapping's current configuration.
_SETTLING = ("Creating", "Enabling", "Updating")

# Environment variables tuning the pollers (defaults in PollerSettings).
SQS_CONCURRENCY_ENV = "LOCALCLOUD_ESM_SQS_CONCURRENCY"
STREAM_POLL_ENV = "LOCALCLOUD_ESM_STREAM_POLL_SECONDS"
RETRY_BASE_ENV = "LOCALCLOUD_ESM_RETRY_SECONDS"


@dataclass(frozen=True)
class PollerSettings:
    """How eagerly the local pollers work.

    ``sqs_concurrency``: the most batches one SQS mapping has in flight when it sets no
    ``ScalingConfig.MaximumConcurrency`` (Lambda scales much further; a laptop need not).
    ``stream_poll_seconds``: how often an idle shard is read (Lambda: 4 times a second).
    ``retry_base_seconds``/``retry_max_seconds``: the backoff between retries of a failed
    stream batch, doubling from the base up to the maximum.
    ``long_poll_seconds``: the longest an idle SQS poller waits before looking at its
    mapping again (new messages wake it at once).
    """

    sqs_concurrency: int = 5
    stream_poll_seconds: float = 0.25
    retry_base_seconds: float = 0.1
    retry_max_seconds: float = 2.0
    long_poll_seconds: float = 1.0

    @classmethod
    def from_environment(cls) -> PollerSettings:
        defaults = cls()
        concurrency = os.environ.get(SQS_CONCURRENCY_ENV)
        return cls(
            sqs_concurrency=max(1, int(concurrency)) if concurrency else defaults.sqs_concurrency,
            stream_poll_seconds=float(
                os.environ.get(STREAM_POLL_ENV) or defaults.stream_poll_seconds
            ),
            retry_base_seconds=float(os.environ.get(RETRY_BASE_ENV) or defaults.retry_base_seconds),
        )


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _timestamp(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None


@dataclass(frozen=True)
class MappingConfig:
    """A snapshot of one mapping's configuration, read from moto's object."""

    uuid: str
    account_id: str
    region: str
    source_arn: str
    source_kind: str  # "sqs", "sqs-fifo", "dynamodb" or "kinesis"
    function_arn: str
    enabled: bool
    batch_size: int
    batching_window: float  # seconds
    patterns: tuple[dict[str, Any], ...]
    report_failures: bool
    maximum_concurrency: int | None
    bisect: bool
    maximum_retry_attempts: int  # -1: until the record expires
    maximum_record_age: int  # seconds, -1: until the record expires
    on_failure: str | None
    starting_position: str | None
    starting_timestamp: float | None

    @classmethod
    def of(cls, esm: Any) -> MappingConfig:
        kind = esm._get_service_source_from_arn()
        try:
            patterns = patterns_of(esm.filter_criteria)
        except InvalidFilterPattern:
            # The API refuses such patterns; one slipping through filters nothing out.
            log.warning("mapping %s has an invalid filter; not filtering", esm.uuid)
            patterns = ()
        scaling = esm.scaling_config if isinstance(esm.scaling_config, dict) else {}
        destination = esm.destination_config if isinstance(esm.destination_config, dict) else {}
        on_failure = (destination.get("OnFailure") or {}).get("Destination") or None
        return cls(
            uuid=esm.uuid,
            account_id=esm.account_id,
            region=esm.region,
            source_arn=esm.event_source_arn,
            source_kind=kind,
            function_arn=esm.function_arn,
            enabled=bool(esm.enabled),
            batch_size=max(1, _int(esm.batch_size, 10)),
            batching_window=max(0.0, float(_int(esm.max_batch_window, 0))),
            patterns=patterns,
            report_failures="ReportBatchItemFailures" in (esm.function_response_types or []),
            maximum_concurrency=_int(scaling.get("MaximumConcurrency"), 0) or None,
            bisect=bool(esm.bisect_on_error),
            maximum_retry_attempts=_int(esm.max_retry_attempts, -1),
            maximum_record_age=_int(esm.max_record_age, -1),
            on_failure=str(on_failure) if on_failure else None,
            starting_position=esm.starting_position,
            starting_timestamp=_timestamp(esm.starting_position_timestamp),
        )


def set_state(esm: Any, state: str, reason: str = "USER_INITIATED") -> None:
    """The State (and StateTransitionReason) the Lambda API reports for the mapping."""
    setattr(esm, STATE_ATTRIBUTE, state)
    setattr(esm, REASON_ATTRIBUTE, reason)


def set_last_result(esm: Any, result: str) -> None:
    """The LastProcessingResult of a stream mapping ("OK", "PROBLEM: ...")."""
    setattr(esm, LAST_RESULT_ATTRIBUTE, result)


def lambda_backend(account_id: str, region: str) -> Any:
    from moto.awslambda.models import lambda_backends

    return lambda_backends[account_id][region]


class MappingPoller:
    """The threads serving one event source mapping; subclasses do the polling."""

    def __init__(self, esm: Any, settings: PollerSettings) -> None:
        self.esm = esm
        self.settings = settings
        self._cond = threading.Condition(threading.RLock())
        self._closed = False
        self._threads: set[threading.Thread] = set()

    # -- lifecycle (called by the manager) -------------------------------------------------
    @property
    def uuid(self) -> str:
        return str(self.esm.uuid)

    def config(self) -> MappingConfig:
        return MappingConfig.of(self.esm)

    def apply(self) -> None:
        """The mapping was created or updated: poll when it is enabled, wind down if not."""
        with self._cond:
            if self._closed:
                return
            if self.esm.enabled:
                if not self._threads and getattr(self.esm, STATE_ATTRIBUTE, None) != "Creating":
                    set_state(self.esm, "Enabling")
                self.start_threads()
            else:
                set_state(self.esm, "Disabling" if self._threads else "Disabled")
            self._cond.notify_all()
        self.wake()

    def mark_running(self) -> None:
        """A polling thread runs with the current configuration: the mapping is Enabled."""
        if getattr(self.esm, STATE_ATTRIBUTE, None) in _SETTLING:
            with self._cond:
                if self.active() and getattr(self.esm, STATE_ATTRIBUTE, None) in _SETTLING:
                    set_state(self.esm, "Enabled")

    def close(self) -> None:
        """The mapping was deleted, or the local cloud stops: end every thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.wake()

    def join(self, deadline: float) -> bool:
        """Wait (until ``deadline``, monotonic) for every thread; True when all ended."""
        while True:
            with self._cond:
                threads = list(self._threads)
            if not threads:
                return True
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                with self._cond:
                    return not self._threads

    # -- for the polling threads ------------------------------------------------------------
    def exists(self) -> bool:
        """Still a mapping of moto's (a reset or a deletion may have removed it)."""
        try:
            backend = lambda_backend(self.esm.account_id, self.esm.region)
            return backend.get_event_source_mapping(self.uuid) is self.esm
        except Exception:
            return False

    def active(self) -> bool:
        return not self._closed and bool(self.esm.enabled) and self.exists()

    @property
    def closed(self) -> bool:
        return self._closed

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the mapping changes or the poller is closed."""
        if seconds <= 0:
            return
        with self._cond:
            if not self._closed:
                self._cond.wait(seconds)

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        """Start a thread of this poller (tracked, so that closing can wait for it)."""

        def run() -> None:
            try:
                target()
            except Exception:
                log.exception("event source poller %s failed", self.uuid)
            finally:
                with self._cond:
                    self._threads.discard(threading.current_thread())
                    if not self._threads and not self._closed and not self.esm.enabled:
                        set_state(self.esm, "Disabled")
                    self._cond.notify_all()

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._cond:
            self._threads.add(thread)
        thread.start()
        return thread

    def function(self) -> Any | None:
        """moto's function the mapping invokes (None when it is gone)."""
        try:
            backend = lambda_backend(self.esm.account_id, self.esm.region)
            return backend.get_function(self.esm.function_arn)
        except Exception:
            return None

    def deliver(self, event: dict[str, Any], give_up_at: float | None) -> InvokeResult | None:
        """Invoke the function synchronously with ``event``.

        Throttling (reserved concurrency or the account quota), a missing function or a
        stopped runtime mean the function did not run: the invoke is retried with a backoff,
        as Lambda's pollers do, until ``give_up_at`` (monotonic) or until the poller stops.
        Returns None when the function never ran.
        """
        from localcloud.awslambda import invoke_function

        payload = json.dumps(event).encode("utf-8")
        delay = 0.02
        while True:
            fn = self.function()
            if fn is not None:
                try:
                    return invoke_function(fn, InvokeRequest(payload=payload), throttle=True)
                except (Throttled, RuntimeStopped):
                    pass
                except Exception:
                    log.exception("event source mapping %s could not invoke", self.uuid)
            if not self.active():
                return None
            if give_up_at is not None and time.monotonic() + delay >= give_up_at:
                return None
            self.sleep(delay)
            delay = min(delay * 2, 1.0)

    # -- for subclasses ---------------------------------------------------------------------
    def start_threads(self) -> None:
        """Make sure the polling threads run (called with the poller's lock held)."""
        raise NotImplementedError

    def wake(self) -> None:
        """Wake threads blocked outside the poller's own condition (a queue's long poll)."""
