"""The Lambda service side: warm pools, concurrency limits, logs of every invocation.

For each function the runtime keeps execution environments (:class:`Worker`) like Lambda
does: an idle one is reused (warm start), a new one is started only when none is free (cold
start), and an environment whose code or configuration is outdated is retired. The number
of invocations in flight is capped by the function's reserved concurrency, or by what the
account quota leaves unreserved; past the cap a synchronous invoke is throttled (429) while
internal callers (event sources) wait for a free slot.

Every invocation first asks the fault switch (:mod:`.faults`) whether a test wants it to
fail, time out or be throttled; the answer takes the place of running the handler.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from localcloud.awslambda.artifacts import ArtifactStore, worker_python
from localcloud.awslambda.faults import FaultRegistry, Injection
from localcloud.awslambda.invocation import (
    Invocation,
    LogLine,
    Outcome,
    error_payload,
    platform_lines,
)
from localcloud.awslambda.model import (
    ACCOUNT_LIMIT_EXCEEDED,
    RESERVED_LIMIT_EXCEEDED,
    FunctionConfig,
    InvokeRequest,
    InvokeResult,
    RuntimeStopped,
    Throttled,
)
from localcloud.awslambda.workers import ExecuteApiHttps, LaunchPaths, Worker

log = logging.getLogger("localcloud.awslambda")

# Writes one invocation's log events: (account, region, group, stream, [(epoch ms, text)]).
LogWriter = Callable[[str, str, str, str, list[tuple[int, str]]], None]
# Accepts an Event invoke; returns its request id when it has one.
AsyncDispatcher = Callable[[FunctionConfig, InvokeRequest], str | None]

LOG_TAIL_BYTES = 4096  # X-Amz-Log-Result: "the last 4 KB of the execution log"
# How long an internal (non-throttled) caller waits for a free concurrency slot: Lambda's
# longest function timeout.
MAX_CAPACITY_WAIT_SECONDS = 900.0
DEFAULT_IDLE_SECONDS = 600.0  # an unused environment is reclaimed after this


FunctionKey = tuple[str, str, str]  # account, region, function name


class LaunchError(Exception):
    """The execution environment could not be created for a reason Lambda would report."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class _FunctionState:
    busy: int = 0  # invocations in flight, every version together
    workers: list[Worker] = field(default_factory=list)
    # The fingerprint each version runs now; workers with another one are outdated.
    current: dict[str, str] = field(default_factory=dict)


class LambdaRuntime:
    """Runs invocations on warm pools of ``awslambdaric`` workers."""

    def __init__(
        self,
        work_dir: Path,
        endpoint_url: str,
        log_writer: LogWriter,
        *,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        faults: FaultRegistry | None = None,
        execute_api_https: ExecuteApiHttps | None = None,
    ) -> None:
        self._artifacts = ArtifactStore(work_dir)
        self._endpoint_url = endpoint_url
        self._execute_api_https = execute_api_https
        self._log_writer = log_writer
        self._python = worker_python()
        self._idle_seconds = idle_seconds
        self.faults = faults
        self._cond = threading.Condition()
        self._functions: dict[FunctionKey, _FunctionState] = {}
        # In-flight invocations of functions without reservation, per (account, region).
        self._unreserved_busy: dict[tuple[str, str], int] = {}
        self._stopped = False
        self._stop_event = threading.Event()
        # Replaceable: the default runs an Event invoke once, in the background.
        self.async_dispatcher: AsyncDispatcher = self._run_in_background
        self._reaper = threading.Thread(target=self._reap_idle, name="lambda-reaper", daemon=True)

    def start(self) -> None:
        # Built now so a broken environment (awslambdaric missing) fails the start, not the
        # first invoke.
        self._artifacts.runtime_dir()
        self._reaper.start()

    # -- invoking -------------------------------------------------------------------------
    def invoke(
        self,
        config: FunctionConfig,
        request: InvokeRequest,
        *,
        throttle: bool = False,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Run one synchronous invocation.

        ``throttle``: raise :class:`Throttled` when the concurrency limit is reached, as the
        Invoke API does; otherwise wait for a free slot, as Lambda's pollers do.
        ``request_id``: the id to run under (an asynchronous event keeps its id across
        retries); a new one otherwise.
        """
        injection = self._injection(config, throttle)
        worker, cold = self._acquire(config, throttle)
        invocation = Invocation(request, config.arn, config.timeout, config.tracing_active)
        if request_id:
            invocation.request_id = request_id
        reusable = False
        try:
            if injection is not None:
                outcome, note = self._inject(invocation, injection)
                # Never started for this: leave no unstarted environment in the pool. A
                # timeout resets the environment, a function error does not.
                reusable = injection.mode == "fail" and worker.alive
                return self._result(worker, invocation, outcome, cold and worker.started, note)
            try:
                if not worker.started:
                    self._start_worker(worker, config)
                outcome = worker.run(invocation)
                # An environment survives a handler error; a timeout, a crash or a failed
                # init resets it, as on Lambda.
                reusable = outcome.kind in ("success", "error") and worker.alive
            except LaunchError as error:
                # The environment cannot even be created: Lambda reports such failures as
                # an init error of the invocation.
                body = json.dumps({"errorType": error.error_type, "errorMessage": str(error)})
                outcome = Outcome("init_error", body.encode(), error_type=error.error_type)
                invocation.finish(outcome)
            # Before the release: once back in the pool the worker may print for another
            # invocation.
            return self._result(worker, invocation, outcome, cold)
        finally:
            self._release(worker, reusable)

    def invoke_async(self, config: FunctionConfig, request: InvokeRequest) -> str | None:
        """An ``Event`` invoke: accepted at once, run by :attr:`async_dispatcher`."""
        if self._stopped:
            raise RuntimeStopped("the local cloud's Lambda runtime is stopped")
        return self.async_dispatcher(config, request)

    # -- the fault switch -------------------------------------------------------------------
    def _injection(self, config: FunctionConfig, throttle: bool) -> Injection | None:
        """The fault to inject instead of running the handler, if a test set one.

        A ``throttle`` fault raises :class:`Throttled` for callers that get 429s; callers
        that wait for capacity wait and ask again, as they would for a real throttle.
        """
        faults = self.faults
        if faults is None:
            return None
        deadline = time.monotonic() + MAX_CAPACITY_WAIT_SECONDS
        delay = 0.05
        while True:
            injection = faults.take(config)
            if injection is None or injection.mode != "throttle":
                return injection
            reason = (
                RESERVED_LIMIT_EXCEEDED
                if config.reserved_concurrency is not None
                else ACCOUNT_LIMIT_EXCEEDED
            )
            if throttle or time.monotonic() >= deadline:
                raise Throttled(reason)
            if self._stop_event.wait(delay):
                raise RuntimeStopped("the local cloud's Lambda runtime is stopped")
            delay = min(delay * 2, 1.0)

    @staticmethod
    def _inject(invocation: Invocation, injection: Injection) -> tuple[Outcome, str]:
        invocation.dispatch()
        if injection.mode == "timeout":
            outcome = Outcome("timeout")
            note = "[localcloud] fault switch: timeout injected, the handler did not run"
        else:
            body = injection.error_body(invocation.request_id)
            outcome = Outcome("error", body, error_type=injection.error_type)
            note = (
                f"[ERROR] {injection.error_type}: {injection.error_message}\n"
                "[localcloud] fault switch: error injected, the handler did not run"
            )
        invocation.finish(outcome)
        return outcome, note

    def _run_in_background(self, config: FunctionConfig, request: InvokeRequest) -> None:
        def run() -> None:
            try:
                result = self.invoke(config, request)
                if result.function_error:
                    log.info("async invoke of %s failed: %s", config.arn, result.error_type)
            except RuntimeStopped:
                pass
            except Exception:
                log.exception("async invoke of %s failed", config.arn)

        threading.Thread(target=run, name=f"lambda-event-{config.name}", daemon=True).start()

    def _result(
        self,
        worker: Worker,
        invocation: Invocation,
        outcome: Outcome,
        cold: bool,
        note: str | None = None,
    ) -> InvokeResult:
        payload, error_type = error_payload(invocation, outcome)
        events = self._log_events(worker, invocation, outcome, cold)
        if note is not None:
            # Where the handler's output would be: between START and END.
            at = invocation.dispatched_wall or time.time()
            position = next(
                (i for i, line in enumerate(events) if line.message.startswith("END ")),
                len(events),
            )
            events.insert(position, LogLine(at, note))
        self._write_logs(worker, events)
        text = "\n".join(line.message for line in events) + "\n"
        tail = text.encode("utf-8")[-LOG_TAIL_BYTES:]
        return InvokeResult(
            request_id=invocation.request_id,
            payload=payload,
            function_error=None if outcome.kind == "success" else "Unhandled",
            error_type=error_type,
            log_tail=base64.b64encode(tail).decode("ascii"),
            executed_version=worker.config.version,
            duration_ms=invocation.duration_ms,
            cold_start=cold,
        )

    def _log_events(
        self, worker: Worker, invocation: Invocation, outcome: Outcome, cold: bool
    ) -> list[LogLine]:
        config = worker.config
        before, start, end = platform_lines(
            invocation,
            outcome,
            version=config.version,
            memory_size=config.memory_size,
            max_memory_mb=worker.max_memory_mb(),
            init_duration_ms=worker.take_init_duration() if cold else None,
            runtime=config.runtime,
            region=config.region,
        )
        output = worker.take_output()
        dispatched = invocation.dispatched_wall
        if dispatched is None:
            init_output, handler_output = output, []
        else:
            init_output = [line for line in output if line.timestamp < dispatched]
            handler_output = [line for line in output if line.timestamp >= dispatched]
        return before + init_output + start + handler_output + end

    def _write_logs(self, worker: Worker, events: list[LogLine]) -> None:
        config = worker.config
        stamped: list[tuple[int, str]] = []
        last = 0
        for line in events:
            # CloudWatch wants events of one batch in chronological order.
            last = max(last, int(line.timestamp * 1000))
            stamped.append((last, line.message))
        try:
            self._log_writer(
                config.account_id, config.region, config.log_group, worker.log_stream, stamped
            )
        except Exception:
            # Logs are best effort: a failed write must never fail the invocation.
            log.exception("could not write the logs of %s", config.arn)

    # -- capacity -------------------------------------------------------------------------
    def _throttle_reason(self, state: _FunctionState, config: FunctionConfig) -> str | None:
        if config.reserved_concurrency is not None:
            if state.busy >= config.reserved_concurrency:
                return RESERVED_LIMIT_EXCEEDED
            return None
        in_flight = self._unreserved_busy.get((config.account_id, config.region), 0)
        if in_flight >= config.unreserved_concurrency:
            return ACCOUNT_LIMIT_EXCEEDED
        return None

    def _acquire(self, config: FunctionConfig, throttle: bool) -> tuple[Worker, bool]:
        """A slot and an environment for one invocation: (worker, is it a cold start)."""
        key = (config.account_id, config.region, config.name)
        outdated: list[Worker] = []
        deadline = time.monotonic() + MAX_CAPACITY_WAIT_SECONDS
        try:
            with self._cond:
                while True:
                    if self._stopped:
                        raise RuntimeStopped("the local cloud's Lambda runtime is stopped")
                    state = self._functions.setdefault(key, _FunctionState())
                    outdated += self._retire_outdated(state, config)
                    reason = self._throttle_reason(state, config)
                    if reason is None:
                        break
                    remaining = deadline - time.monotonic()
                    if throttle or remaining <= 0:
                        raise Throttled(reason)
                    self._cond.wait(remaining)
                state.busy += 1
                unreserved = config.reserved_concurrency is None
                if unreserved:
                    account = (config.account_id, config.region)
                    self._unreserved_busy[account] = self._unreserved_busy.get(account, 0) + 1
                worker = self._idle_worker(state, config)
                cold = worker is None
                if worker is None:
                    worker = Worker(config)
                    state.workers.append(worker)
                worker.busy = True
                # Released from the pool it was taken from, even if the reservation changes
                # while the invocation runs.
                worker.unreserved_slot = unreserved
                return worker, cold
        finally:
            for stale in outdated:
                stale.stop()

    def _idle_worker(self, state: _FunctionState, config: FunctionConfig) -> Worker | None:
        # Most recently used first: it is the warmest, and the others can age out.
        for worker in sorted(state.workers, key=lambda w: w.last_used, reverse=True):
            if not worker.busy and worker.alive and worker.fingerprint == config.fingerprint:
                return worker
        return None

    def _retire_outdated(self, state: _FunctionState, config: FunctionConfig) -> list[Worker]:
        """Take idle workers of this version with an older configuration out of the pool."""
        state.current[config.version] = config.fingerprint
        retired = [
            w
            for w in state.workers
            if not w.busy
            and w.config.version == config.version
            and (w.fingerprint != config.fingerprint or (w.started and not w.alive))
        ]
        for worker in retired:
            state.workers.remove(worker)
        return retired

    def _release(self, worker: Worker, reusable: bool) -> None:
        config = worker.config
        key = (config.account_id, config.region, config.name)
        stop = False
        with self._cond:
            state = self._functions.get(key)
            if state is not None:
                state.busy = max(0, state.busy - 1)
            if worker.unreserved_slot:
                account = (config.account_id, config.region)
                self._unreserved_busy[account] = max(0, self._unreserved_busy.get(account, 1) - 1)
            worker.busy = False
            worker.last_used = time.monotonic()
            current = state.current.get(config.version) if state is not None else None
            if (
                not reusable
                or self._stopped
                or state is None
                or worker not in state.workers
                or current != worker.fingerprint
            ):
                if state is not None and worker in state.workers:
                    state.workers.remove(worker)
                stop = True
            self._cond.notify_all()
        if stop:
            worker.stop()

    def _start_worker(self, worker: Worker, config: FunctionConfig) -> None:
        if config.package_type != "Zip" or not config.runtime.startswith("python"):
            raise LaunchError(
                "Runtime.InvalidRuntime",
                f"The local cloud runs Zip-packaged functions on Python runtimes only; "
                f"{config.name} is {config.package_type} on {config.runtime or 'no runtime'}.",
            )
        try:
            code_dir = self._artifacts.code_dir(config.code)
            opt_dir = self._artifacts.opt_dir(config.layers)
        except zipfile.BadZipFile as error:
            # moto accepts any bytes as a deployment package; Lambda would not run them.
            raise LaunchError(
                "InvalidZipFileException",
                f"Lambda could not unzip the deployment package of {config.name} or one of "
                f"its layers: {error}",
            ) from error
        paths = LaunchPaths(
            python=self._python,
            runtime_dir=self._artifacts.runtime_dir(),
            code_dir=code_dir,
            opt_dir=opt_dir,
            endpoint_url=self._endpoint_url,
            execute_api_https=self._execute_api_https,
        )
        worker.start(paths)

    # -- configuration changes and shutdown -----------------------------------------------
    def refresh(self, config: FunctionConfig) -> None:
        """The function's code or configuration changed: retire its outdated idle workers."""
        key = (config.account_id, config.region, config.name)
        with self._cond:
            state = self._functions.get(key)
            retired = self._retire_outdated(state, config) if state is not None else []
        for worker in retired:
            worker.stop()

    def retire(self, account_id: str, region: str, name: str, version: str | None = None) -> None:
        """The function (or one version of it) was deleted: stop its idle workers.

        Busy ones finish their invocation first and are then not reused.
        """
        key = (account_id, region, name)
        with self._cond:
            state = self._functions.get(key)
            if state is None:
                return
            retired = [
                w
                for w in state.workers
                if not w.busy and (version is None or w.config.version == version)
            ]
            for worker in state.workers:
                if version is None or worker.config.version == version:
                    state.current.pop(worker.config.version, None)
            for worker in retired:
                state.workers.remove(worker)
            if version is None and not state.workers and state.busy == 0:
                del self._functions[key]
        for worker in retired:
            worker.stop()

    def in_flight(self, account_id: str, region: str) -> int:
        """Invocations running now in the account's unreserved concurrency pool."""
        with self._cond:
            return self._unreserved_busy.get((account_id, region), 0)

    def workers(self) -> list[Worker]:
        """Every environment alive now (for diagnostics and tests)."""
        with self._cond:
            return [w for state in self._functions.values() for w in state.workers]

    def _reap_idle(self) -> None:
        interval = max(1.0, min(30.0, self._idle_seconds / 4))
        while not self._stop_event.wait(interval):
            cutoff = time.monotonic() - self._idle_seconds
            reaped: list[Worker] = []
            with self._cond:
                for state in self._functions.values():
                    idle = [
                        w
                        for w in state.workers
                        if not w.busy and (w.last_used < cutoff or (w.started and not w.alive))
                    ]
                    for worker in idle:
                        state.workers.remove(worker)
                    reaped += idle
            for worker in reaped:
                worker.stop()

    def stop(self) -> None:
        """Stop every worker; invocations still running end with a Runtime.ExitError."""
        with self._cond:
            self._stopped = True
            workers = [w for state in self._functions.values() for w in state.workers]
            self._functions.clear()
            self._cond.notify_all()
        self._stop_event.set()
        threads = [
            threading.Thread(target=worker.stop, name=f"lambda-stop-{worker.id[:8]}")
            for worker in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=15)
        if self._reaper.is_alive():
            self._reaper.join(timeout=5)
