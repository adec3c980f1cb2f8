"""Asynchronous invocation (``InvocationType=Event``) as the Lambda service runs it.

The Invoke API answers 202 at once; the event goes to an internal queue and a background
dispatcher runs it (AWS: "Invoking a Lambda function asynchronously", "How Lambda handles
errors and retries with asynchronous invocation", "Capturing records of Lambda
asynchronous invocations"):

- **Function errors** (an exception, a timeout, a crashed runtime) are retried up to
  ``MaximumRetryAttempts`` times (0-2, default 2) with the function's EventInvokeConfig;
  AWS waits about one minute before the first retry and two before the second.
- **Throttles** (the function's reserved concurrency or the account's is exhausted, or the
  fault switch throttles it) do not count as attempts: the event goes back to the queue and
  is retried with an exponential back-off (AWS: from 1 second up to 5 minutes) until it is
  older than ``MaximumEventAgeInSeconds`` (60-21600, default 6 hours).
- A function whose reserved concurrency is **0** does not run at all: AWS sends its events
  straight to the dead-letter queue or on-failure destination, without retries.
- When the retries are exhausted (condition ``RetriesExhausted``) or the event is too old
  (``EventAgeExceeded``), the **on-failure destination** (SQS, SNS, Lambda or EventBridge)
  gets an invocation record and the function's **dead-letter queue** (``DeadLetterConfig``,
  SQS or SNS) gets the original payload with the attributes ``RequestID``, ``ErrorCode``
  and ``ErrorMessage``; with neither, the event is dropped with a log line. A success
  sends the record (condition ``Success``) to the **on-success destination**.

Every attempt of one event runs under the same request id, the one the Invoke API
returned, as on Lambda. Settings, read from the environment at each use so a test can
change them on the fly:

- ``LOCALCLOUD_ASYNC_RETRY_DELAYS_SECONDS``: the waits before the retries after function
  errors, comma-separated (default ``"1,2"``: locally fast; AWS waits ``"60,120"``). The
  last value repeats if there are more retries than values.
- ``LOCALCLOUD_ASYNC_THROTTLE_BACKOFF_SECONDS``: first and largest wait after a throttle
  (default ``"0.1,5"``; AWS: ``"1,300"``); the wait doubles in between.
- ``LOCALCLOUD_ASYNC_EVENT_AGE_SCALE``: multiplies ``MaximumEventAgeInSeconds`` (default 1;
  ``0.01`` makes the 60-second minimum last 0.6 s).

What this module knows of moto goes through :class:`AsyncBackend`, implemented over moto's
backends in :mod:`.destinations`.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from localcloud.awslambda.model import (
    FunctionConfig,
    InvokeRequest,
    InvokeResult,
    RuntimeStopped,
    Throttled,
)

log = logging.getLogger("localcloud.awslambda")

RETRY_DELAYS_ENV = "LOCALCLOUD_ASYNC_RETRY_DELAYS_SECONDS"
THROTTLE_BACKOFF_ENV = "LOCALCLOUD_ASYNC_THROTTLE_BACKOFF_SECONDS"
EVENT_AGE_SCALE_ENV = "LOCALCLOUD_ASYNC_EVENT_AGE_SCALE"
DEFAULT_RETRY_DELAYS = (1.0, 2.0)
DEFAULT_THROTTLE_BACKOFF = (0.1, 5.0)

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21600
ERROR_MESSAGE_LIMIT = 1024  # a DLQ message's ErrorMessage attribute is cut to 1 KB
THROTTLE_MESSAGE = "Rate Exceeded."

Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded"]


def _floats(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        values = tuple(max(0.0, float(part)) for part in raw.split(",") if part.strip())
    except ValueError:
        log.warning("ignoring %s=%r: not comma-separated numbers", name, raw)
        return default
    return values or default


def retry_delay(retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (1-based) after a function error."""
    delays = _floats(RETRY_DELAYS_ENV, DEFAULT_RETRY_DELAYS)
    return delays[min(retry, len(delays)) - 1]


def throttle_delay(throttles: int) -> float:
    """Seconds to wait after the ``throttles``-th throttle of one event (doubling, capped)."""
    values = _floats(THROTTLE_BACKOFF_ENV, DEFAULT_THROTTLE_BACKOFF)
    first = values[0]
    cap = values[1] if len(values) > 1 else max(first, DEFAULT_THROTTLE_BACKOFF[1])
    return float(min(cap, first * 2 ** min(throttles - 1, 32)))


def event_age_scale() -> float:
    raw = os.environ.get(EVENT_AGE_SCALE_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else 1.0
    except ValueError:
        log.warning("ignoring %s=%r: not a number", EVENT_AGE_SCALE_ENV, raw)
        return 1.0


@dataclass(frozen=True)
class AsyncSettings:
    """A function's EventInvokeConfig and DeadLetterConfig, as they are now."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_MAXIMUM_EVENT_AGE_SECONDS
    on_success: str | None = None  # destination ARN
    on_failure: str | None = None  # destination ARN
    dead_letter_target: str | None = None  # DeadLetterConfig.TargetArn


@dataclass(frozen=True)
class AsyncTarget:
    """What an attempt runs: the function version now, and its asynchronous settings."""

    config: FunctionConfig
    settings: AsyncSettings


class AsyncBackend(Protocol):
    """The services around the queue: reading functions and delivering records."""

    def resolve(self, account_id: str, region: str, name: str, version: str) -> AsyncTarget | None:
        """The function version as it is now; None when it no longer exists."""
        ...

    def send_record(self, destination_arn: str, record: dict[str, Any], success: bool) -> None:
        """Deliver an invocation record to an on-success/on-failure destination."""
        ...

    def send_dead_letter(
        self,
        target_arn: str,
        payload: bytes,
        request_id: str,
        error_code: int,
        error_message: str,
    ) -> None:
        """Send the original payload to a dead-letter queue or topic."""
        ...


@dataclass
class AsyncEvent:
    """One accepted Event invoke and what happened to it so far."""

    request_id: str
    account_id: str
    region: str
    name: str
    version: str
    function_arn: str  # qualified, as the invocation record names the function
    request: InvokeRequest
    accepted_at: float  # monotonic
    invoke_count: int = 0  # attempts that reached the function (fault injections included)
    throttles: int = 0
    last: InvokeResult | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.name)


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json_or_text(data: bytes) -> Any:
    """A payload as a destination record holds it: the JSON document, else the text."""
    text = data.decode("utf-8", "replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def qualified_arn(config: FunctionConfig) -> str:
    """``arn:...:function:name:$LATEST`` or ``...:name:3``: how records name the function."""
    base = config.arn.split(":function:", 1)
    name_part = base[1] if len(base) == 2 else config.name
    if ":" in name_part:
        return config.arn
    return f"{config.arn}:{config.version}"


def invocation_record(event: AsyncEvent, condition: Condition) -> dict[str, Any]:
    """The record Lambda sends a destination (version 1.0).

    ``responseContext`` and ``responsePayload`` describe the last time the function ran;
    they are absent when it never ran (an event that aged out while throttled).
    """
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _iso_now(),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": event.function_arn,
            "condition": condition,
            "approximateInvokeCount": event.invoke_count,
        },
        "requestPayload": _json_or_text(event.request.payload),
    }
    result = event.last
    if result is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": result.executed_version}
        if result.function_error:
            response["functionError"] = result.function_error
        record["responseContext"] = response
        record["responsePayload"] = _json_or_text(result.payload)
    return record


def _dead_letter_reason(event: AsyncEvent) -> tuple[int, str]:
    """(ErrorCode, ErrorMessage) of a DLQ message: the last error, or the throttle."""
    result = event.last
    if result is None:
        return 429, THROTTLE_MESSAGE
    parsed = _json_or_text(result.payload)
    message = ""
    if isinstance(parsed, dict):
        message = str(parsed.get("errorMessage") or parsed.get("errorType") or "")
    message = message or result.error_type or "Unhandled"
    return 200, message.encode("utf-8")[:ERROR_MESSAGE_LIMIT].decode("utf-8", "ignore")


Invoke = Callable[..., InvokeResult]


class AsyncInvoker:
    """Lambda's internal event queue: accepts Event invokes and runs them in the background.

    One scheduler thread keeps the events ordered by when they are due; each due attempt
    runs in its own thread, so a slow function never holds up another one. The runtime's
    concurrency limits apply to attempts exactly as to synchronous invokes.
    """

    def __init__(self, invoke: Invoke, backend: AsyncBackend) -> None:
        self._invoke = invoke  # LambdaRuntime.invoke
        self._backend = backend
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, AsyncEvent]] = []
        self._sequence = 0
        self._running: Counter[tuple[str, str, str]] = Counter()
        self._throttled: Counter[str] = Counter()  # throttled attempts per function name
        self._stopped = False
        self._thread = threading.Thread(
            target=self._schedule, name="lambda-async-dispatcher", daemon=True
        )
        self._thread.start()

    # -- the queue ----------------------------------------------------------------------
    def __call__(self, config: FunctionConfig, request: InvokeRequest) -> str:
        """Accept an Event invoke (the runtime's ``async_dispatcher``); returns its id."""
        event = AsyncEvent(
            request_id=str(uuid.uuid4()),
            account_id=config.account_id,
            region=config.region,
            name=config.name,
            version=config.version,
            function_arn=qualified_arn(config),
            request=request,
            accepted_at=time.monotonic(),
        )
        self._push(event, 0.0)
        return event.request_id

    def pending(self, function_name: str | None = None) -> int:
        """Events queued or running now, for one function (by name) or all of them."""
        with self._cond:
            queued = sum(
                1 for _, _, e in self._heap if function_name is None or e.name == function_name
            )
            running = sum(n for key, n in self._running.items() if function_name in (None, key[2]))
            return queued + running

    def throttles(self, function_name: str) -> int:
        """How many attempts of the function's events were throttled so far (diagnostics)."""
        with self._cond:
            return self._throttled[function_name]

    def stop(self) -> None:
        """Stop dispatching; queued events are dropped with the local cloud."""
        with self._cond:
            self._stopped = True
            dropped = len(self._heap)
            self._heap.clear()
            self._cond.notify_all()
        if dropped:
            log.info("async queue stopped with %d event(s) not processed", dropped)
        self._thread.join(timeout=5)

    def _push(self, event: AsyncEvent, delay: float) -> None:
        with self._cond:
            if self._stopped:
                raise RuntimeStopped("the local cloud's Lambda runtime is stopped")
            self._sequence += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, self._sequence, event))
            self._cond.notify_all()

    def _schedule(self) -> None:
        with self._cond:
            while not self._stopped:
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, event = heapq.heappop(self._heap)
                self._running[event.key] += 1
                threading.Thread(
                    target=self._attempt_and_release,
                    args=(event,),
                    name=f"lambda-async-{event.name}",
                    daemon=True,
                ).start()

    def _attempt_and_release(self, event: AsyncEvent) -> None:
        try:
            self._attempt(event)
        except RuntimeStopped:
            pass
        except Exception:
            log.exception(
                "async event %s of %s failed in the dispatcher",
                event.request_id,
                event.function_arn,
            )
        finally:
            with self._cond:
                self._running[event.key] -= 1
                if self._running[event.key] <= 0:
                    del self._running[event.key]
                self._cond.notify_all()

    # -- one attempt --------------------------------------------------------------------
    def _attempt(self, event: AsyncEvent) -> None:
        target = self._backend.resolve(event.account_id, event.region, event.name, event.version)
        if target is None:
            log.info(
                "dropping async event %s: function %s no longer exists",
                event.request_id,
                event.function_arn,
            )
            return
        settings = target.settings
        age = time.monotonic() - event.accepted_at
        if age > settings.maximum_event_age_seconds * event_age_scale():
            self._finish_failed(event, settings, "EventAgeExceeded")
            return
        if target.config.reserved_concurrency == 0:
            # AWS: with reserved concurrency 0, events go to the DLQ or on-failure
            # destination at once, without retries.
            event.throttles += 1
            self._finish_failed(event, settings, "RetriesExhausted")
            return
        try:
            result = self._invoke(
                target.config, event.request, throttle=True, request_id=event.request_id
            )
        except Throttled:
            event.throttles += 1
            with self._cond:
                self._throttled[event.name] += 1
            self._push(event, throttle_delay(event.throttles))
            return
        event.invoke_count += 1
        event.last = result
        if result.function_error is None:
            self._deliver(settings.on_success, invocation_record(event, "Success"), True)
            return
        retries_done = event.invoke_count - 1
        if retries_done >= settings.maximum_retry_attempts:
            self._finish_failed(event, settings, "RetriesExhausted")
            return
        self._push(event, retry_delay(retries_done + 1))

    def _finish_failed(
        self, event: AsyncEvent, settings: AsyncSettings, condition: Condition
    ) -> None:
        delivered = False
        if settings.on_failure:
            delivered = self._deliver(
                settings.on_failure, invocation_record(event, condition), False
            )
        if settings.dead_letter_target:
            code, message = _dead_letter_reason(event)
            try:
                self._backend.send_dead_letter(
                    settings.dead_letter_target,
                    event.request.payload,
                    event.request_id,
                    code,
                    message,
                )
                delivered = True
            except Exception:
                # AWS counts these in the DeadLetterErrors metric and drops the event.
                log.exception(
                    "could not send async event %s of %s to its dead-letter queue %s",
                    event.request_id,
                    event.function_arn,
                    settings.dead_letter_target,
                )
        if not delivered:
            log.warning(
                "dropping async event %s of %s (%s after %d attempt(s)): no destination "
                "or dead-letter queue took it",
                event.request_id,
                event.function_arn,
                condition,
                event.invoke_count,
            )

    def _deliver(self, destination: str | None, record: dict[str, Any], success: bool) -> bool:
        if not destination:
            return False
        try:
            self._backend.send_record(destination, record, success)
            return True
        except Exception:
            # AWS counts these in the DestinationDeliveryFailures metric.
            log.exception(
                "could not deliver the invocation record of %s to %s",
                record["requestContext"]["requestId"],
                destination,
            )
            return False


def invoker_of(runtime: Any) -> AsyncInvoker | None:
    """The :class:`AsyncInvoker` plugged into a runtime, if it is one (for diagnostics)."""
    dispatcher = getattr(runtime, "async_dispatcher", None)
    return dispatcher if isinstance(dispatcher, AsyncInvoker) else None
