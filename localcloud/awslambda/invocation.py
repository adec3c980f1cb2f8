"""One invocation's life: queued, handed to the runtime, finished exactly once.

Whoever finishes first wins: the runtime's response or error, the timeout, or the worker
process dying. The later ones are ignored, as Lambda ignores a response posted after the
environment was already reset.
"""

from __future__ import annotations

import json
import math
import secrets
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from localcloud.awslambda.model import InvokeRequest

# Lambda gives the Init phase of an on-demand environment 10 s on its own; beyond that the
# init continues but is counted against the function timeout.
INIT_TIMEOUT_SECONDS = 10.0

OutcomeKind = Literal["success", "error", "init_error", "timeout", "exit"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    body: bytes = b""
    error_type: str | None = None
    exit_status: int | None = None


def new_trace_header(sampled: bool) -> str:
    """An X-Ray trace header as Lambda starts one when the caller sent none."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={int(sampled)}"


class Invocation:
    """An event on its way through one worker."""

    def __init__(
        self, request: InvokeRequest, function_arn: str, timeout: float, sampled: bool
    ) -> None:
        self.request_id = str(uuid.uuid4())
        self.request = request
        self.function_arn = function_arn
        self.timeout = timeout
        self.trace_header = (
            request.trace_header
            if request.trace_header and "Root=" in request.trace_header
            else new_trace_header(sampled)
        )
        self.queued_at = time.monotonic()
        self.queued_wall = time.time()
        self.dispatched_at: float | None = None
        self.dispatched_wall: float | None = None
        self.finished_at: float | None = None
        self.finished_wall: float | None = None
        self._deadline: float | None = None  # monotonic
        self._deadline_ms = 0  # epoch ms, for the runtime's header
        self.outcome: Outcome | None = None
        self._cond = threading.Condition()

    # -- the runtime's side -------------------------------------------------------------
    @property
    def payload(self) -> bytes:
        return self.request.payload

    def runtime_headers(self) -> dict[str, str]:
        headers = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self._deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_header,
        }
        if self.request.client_context:
            headers["Lambda-Runtime-Client-Context"] = self.request.client_context
        if self.request.cognito_identity:
            headers["Lambda-Runtime-Cognito-Identity"] = self.request.cognito_identity
        return headers

    def dispatch(self) -> bool:
        """The runtime asked for this event: start the clock. False if it is already over."""
        with self._cond:
            if self.outcome is not None:
                return False
            now = time.monotonic()
            # An init slower than Lambda's 10 s init budget eats into the function timeout.
            init_overrun = max(0.0, now - self.queued_at - INIT_TIMEOUT_SECONDS)
            remaining = self.timeout - init_overrun
            if remaining <= 0:
                return False
            self.dispatched_at = now
            self.dispatched_wall = time.time()
            self._deadline = now + remaining
            self._deadline_ms = int((self.dispatched_wall + remaining) * 1000)
            self._cond.notify_all()
            return True

    # -- whoever ends it ----------------------------------------------------------------
    def finish(self, outcome: Outcome) -> bool:
        """Record the outcome unless another one came first."""
        with self._cond:
            if self.outcome is not None:
                return False
            self.outcome = outcome
            self.finished_at = time.monotonic()
            self.finished_wall = time.time()
            self._cond.notify_all()
            return True

    def wait(self) -> Outcome:
        """Block until the invocation ends; ends it with a timeout when time is up."""
        with self._cond:
            while self.outcome is None:
                if self._deadline is None:
                    # Still initializing (cold start) or not yet picked up.
                    limit = self.queued_at + INIT_TIMEOUT_SECONDS + self.timeout
                else:
                    limit = self._deadline
                remaining = limit - time.monotonic()
                if remaining <= 0:
                    self.outcome = Outcome("timeout")
                    self.finished_at = time.monotonic()
                    self.finished_wall = time.time()
                    break
                self._cond.wait(remaining)
            return self.outcome

    @property
    def duration_ms(self) -> float:
        """Time the handler ran (Lambda's Duration): from dispatch to the end."""
        end = self.finished_at or time.monotonic()
        if self.outcome is not None and self.outcome.kind == "timeout":
            return self.timeout * 1000
        start = self.dispatched_at if self.dispatched_at is not None else end
        return max(0.0, (end - start) * 1000)


# -- what Lambda answers and logs -------------------------------------------------------


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def describe_exit(status: int) -> str:
    """Go's wording for a process end, which is what Lambda prints (``exit status 1``)."""
    if status < 0:
        try:
            name = signal.strsignal(-status) or f"signal {-status}"
        except ValueError:
            name = f"signal {-status}"
        return f"signal: {name[:1].lower()}{name[1:]}"
    return f"exit status {status}"


def error_payload(invocation: Invocation, outcome: Outcome) -> tuple[bytes, str | None]:
    """The response payload and errorType for an outcome, in AWS's shapes."""
    if outcome.kind == "success":
        return outcome.body, None
    if outcome.kind in ("error", "init_error"):
        # awslambdaric already posts AWS's shape: errorMessage, errorType, requestId, stackTrace.
        try:
            parsed = json.loads(outcome.body or b"{}")
            error_type = parsed.get("errorType") if isinstance(parsed, dict) else None
        except ValueError:
            error_type = None
        return outcome.body, error_type or outcome.error_type or "Unhandled"
    if outcome.kind == "timeout":
        message = (
            f"RequestId: {invocation.request_id} Error: Task timed out after "
            f"{invocation.timeout:.2f} seconds"
        )
        body = {"errorType": "Sandbox.Timedout", "errorMessage": message}
        return json.dumps(body).encode(), "Sandbox.Timedout"
    message = (
        f"RequestId: {invocation.request_id} Error: Runtime exited with error: "
        f"{describe_exit(outcome.exit_status if outcome.exit_status is not None else -9)}"
    )
    return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode(), (
        "Runtime.ExitError"
    )


@dataclass(frozen=True)
class LogLine:
    """One CloudWatch log event: wall-clock seconds and the message."""

    timestamp: float
    message: str


def platform_lines(
    invocation: Invocation,
    outcome: Outcome,
    *,
    version: str,
    memory_size: int,
    max_memory_mb: int,
    init_duration_ms: float | None,
    runtime: str,
    region: str,
) -> tuple[list[LogLine], list[LogLine], list[LogLine]]:
    """Lambda's own lines: (before the init output, around the handler output, at the end).

    The layout follows what Lambda writes in text log format: ``INIT_START`` on a cold start,
    ``START``, the function's output, ``END`` and ``REPORT``, and for timeouts and crashes the
    platform's error line.
    """
    start_wall = invocation.dispatched_wall or invocation.queued_wall
    end_wall = invocation.finished_wall or time.time()
    before: list[LogLine] = []
    if init_duration_ms is not None:
        before.append(
            LogLine(
                invocation.queued_wall,
                # Lambda spells it "python:3.13.v<n>"; the local build has no version number.
                f"INIT_START Runtime Version: {runtime.replace('python', 'python:', 1)}"
                f".localcloud\t"
                f"Runtime Version ARN: arn:aws:lambda:{region}::runtime:localcloud",
            )
        )
    start = [LogLine(start_wall, f"START RequestId: {invocation.request_id} Version: {version}")]
    end: list[LogLine] = []
    if outcome.kind == "timeout":
        end.append(
            LogLine(
                end_wall,
                f"{_iso_now()} {invocation.request_id} Task timed out after "
                f"{invocation.timeout:.2f} seconds",
            )
        )
    duration = invocation.duration_ms
    report = (
        f"REPORT RequestId: {invocation.request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration)} ms\tMemory Size: {memory_size} MB\t"
        f"Max Memory Used: {max_memory_mb} MB\t"
    )
    if init_duration_ms is not None:
        report += f"Init Duration: {init_duration_ms:.2f} ms\t"
    if outcome.kind == "timeout":
        report += "Status: timeout"
    elif outcome.kind in ("init_error", "exit"):
        _, error_type = error_payload(invocation, outcome)
        report += f"Status: error\tError Type: {error_type}"
    end.append(LogLine(end_wall, f"END RequestId: {invocation.request_id}"))
    end.append(LogLine(end_wall, report))
    if outcome.kind == "exit":
        status = outcome.exit_status if outcome.exit_status is not None else -9
        end.append(
            LogLine(
                end_wall,
                f"RequestId: {invocation.request_id} Error: Runtime exited with error: "
                f"{describe_exit(status)}",
            )
        )
        end.append(LogLine(end_wall, "Runtime.ExitError"))
    return before, start, end
