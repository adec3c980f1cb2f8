"""One Lambda execution environment: an ``awslambdaric`` process and its Runtime API.

A :class:`Worker` owns a real ``python -m awslambdaric <handler>`` process started as AWS
starts the Python runtime (same environment variables, code in the working directory,
layers and runtime on the path), a :class:`RuntimeApiServer` that hands it one event at a
time, and an :class:`OutputPump` that collects everything it prints for CloudWatch Logs.
The pool logic (warm reuse, concurrency) lives in :mod:`.runtime`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from localcloud.awslambda.artifacts import python_tag
from localcloud.awslambda.invocation import Invocation, LogLine, Outcome
from localcloud.awslambda.model import FunctionConfig
from localcloud.awslambda.runtime_api import RuntimeApiServer

log = logging.getLogger("localcloud.awslambda")

# Credentials handed to functions: moto accepts any, and real ones must never leak into a
# handler that believes it runs on AWS.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "LOCALCLOUDLAMBDAKEY",
    "AWS_SECRET_ACCESS_KEY": "localcloud-lambda-secret",
    "AWS_SESSION_TOKEN": "localcloud-lambda-session",
}


@dataclass(frozen=True)
class ExecuteApiHttps:
    """API Gateway's HTTPS address for workers (localcloud.apigateway.https_endpoint)."""

    address: str  # host:port of the loopback listener
    ca_bundle: Path  # the public roots plus the local certificate authority


@dataclass(frozen=True)
class LaunchPaths:
    """Where a worker's interpreter, runtime, code and layers are on this machine."""

    python: Path
    runtime_dir: Path
    code_dir: Path
    opt_dir: Path | None
    endpoint_url: str
    execute_api_https: ExecuteApiHttps | None = None


def worker_environment(
    config: FunctionConfig, paths: LaunchPaths, runtime_api: str, log_stream: str
) -> dict[str, str]:
    """The process environment of a worker, as Lambda sets it for the Python runtime.

    Built from scratch rather than inherited: a handler must not see the developer's shell
    (real credentials, proxies, virtualenv variables).
    """
    opt = paths.opt_dir
    python_path = [str(paths.code_dir)]
    if opt is not None:
        python_path += [str(opt / "python" / "lib" / python_tag() / "site-packages")]
        python_path += [str(opt / "python")]
    python_path.append(str(paths.runtime_dir))
    # Lambda's PATH (/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin), not the host's:
    # an activated virtualenv's bin must not shadow the runtime's python.
    path = [str(paths.python.parent), "/usr/local/bin", "/usr/bin", "/bin"]
    library_path = [str(paths.code_dir), str(paths.code_dir / "lib")]
    if opt is not None:
        path.append(str(opt / "bin"))
        library_path.append(str(opt / "lib"))
    env = {
        "PATH": os.pathsep.join(path),
        "LD_LIBRARY_PATH": os.pathsep.join(library_path),
        # C.UTF-8 rather than Lambda's en_US.UTF-8: it exists on every Linux host.
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
        "_AWS_XRAY_DAEMON_PORT": "2000",
    }
    if paths.execute_api_https is not None:
        # execute-api host names reach the local cloud over HTTPS (the worker's
        # sitecustomize resolves them); a function's own CA bundle settings still win.
        bundle = str(paths.execute_api_https.ca_bundle)
        env["LOCALCLOUD_EXECUTE_API_HTTPS"] = paths.execute_api_https.address
        env["SSL_CERT_FILE"] = bundle
        env["REQUESTS_CA_BUNDLE"] = bundle
    # The function's own variables may not override what the runtime depends on.
    env.update(config.environment)
    env.update(FAKE_CREDENTIALS)
    # No ~/.aws of the developer: its profiles, regions or credential processes do not exist
    # on Lambda and must not steer a handler's SDK.
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(python_path),
            # Output reaches CloudWatch line by line, in order, as on Lambda.
            "PYTHONUNBUFFERED": "1",
            "LAMBDA_TASK_ROOT": str(paths.code_dir),
            "LAMBDA_RUNTIME_DIR": str(paths.runtime_dir),
            "_HANDLER": config.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            # Handler SDK calls reach the local cloud, not AWS.
            "AWS_ENDPOINT_URL": paths.endpoint_url,
        }
    )
    return env


class OutputPump(threading.Thread):
    """Reads a worker's stdout+stderr as it comes, stamping each line with its time.

    Reading continuously keeps a chatty handler from blocking on a full pipe; at the end of
    an invocation :meth:`take` also drains what is already in the pipe, so every line the
    handler printed before posting its response belongs to that invocation.
    """

    MAX_LINE_BYTES = 256 * 1024  # CloudWatch's largest event
    MAX_BUFFERED_LINES = 10_000  # output of an idle worker is kept for its next invocation

    def __init__(self, stream: IO[bytes], on_closed: Callable[[], None], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._stream = stream
        self._fd = stream.fileno()
        os.set_blocking(self._fd, False)
        self._on_closed = on_closed
        self._lock = threading.Lock()
        self._lines: deque[LogLine] = deque(maxlen=self.MAX_BUFFERED_LINES)
        self._partial = bytearray()
        self._eof = False

    def run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        try:
            while not self._eof:
                poller.poll()
                with self._lock:
                    self._read_available()
        except (OSError, ValueError):
            log.debug("output pump %s stopped", self.name, exc_info=True)
        finally:
            self._on_closed()

    def _read_available(self) -> None:
        while not self._eof:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
                self._flush_partial(time.time())
                return
            self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        now = time.time()
        self._partial += chunk
        while (end := self._partial.find(b"\n")) >= 0:
            self._append(now, bytes(self._partial[:end]))
            del self._partial[: end + 1]
        if len(self._partial) >= self.MAX_LINE_BYTES:
            self._flush_partial(now)

    def _flush_partial(self, now: float) -> None:
        if self._partial:
            self._append(now, bytes(self._partial))
            self._partial.clear()

    def _append(self, timestamp: float, raw: bytes) -> None:
        # awslambdaric joins the lines of one error report with "\r" so the report stays one
        # log event; show it as the multi-line event it is.
        message = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
        self._lines.append(LogLine(timestamp, message.rstrip("\n")))

    def take(self, final: bool = False) -> list[LogLine]:
        """Every line not taken yet; ``final`` also returns an unterminated last line."""
        with self._lock:
            if not self._eof:
                with contextlib.suppress(OSError, ValueError):
                    self._read_available()
            if final:
                self._flush_partial(time.time())
            lines = list(self._lines)
            self._lines.clear()
            return lines

    def close(self) -> None:
        self.join(timeout=5)
        self._stream.close()


class Worker:
    """One execution environment of one function version."""

    def __init__(self, config: FunctionConfig) -> None:
        self.config = config
        self.fingerprint = config.fingerprint
        self.id = uuid.uuid4().hex
        # Lambda names a log stream after the day and version, one stream per environment.
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[{config.version}]{self.id}"
        self.busy = False
        self.unreserved_slot = False  # counted in the account's unreserved pool while busy
        self.last_used = time.monotonic()
        self.init_duration_ms: float | None = None
        self.exit_status: int | None = None
        self._init_reported = False
        self._inbox: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self._current: Invocation | None = None
        self._init_failure: Outcome | None = None
        self._lock = threading.Lock()
        self._api: RuntimeApiServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pump: OutputPump | None = None
        self._spawned_at: float | None = None
        self._stopped = False
        self._peak_memory_mb = 0

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def started(self) -> bool:
        return self._process is not None

    @property
    def alive(self) -> bool:
        return self._process is not None and self.exit_status is None and not self._stopped

    def start(self, paths: LaunchPaths) -> None:
        """Start the runtime process; its Init phase runs while the first event waits."""
        self._api = RuntimeApiServer(self)
        env = worker_environment(self.config, paths, self._api.address, self.log_stream)
        # -s: no user site-packages; the runtime dir's sitecustomize drops the interpreter's.
        command = [str(paths.python), "-s", "-m", "awslambdaric", self.config.handler]
        self._spawned_at = time.monotonic()
        self._process = subprocess.Popen(
            command,
            cwd=paths.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own process group: stopping the environment also ends what the handler spawned.
            start_new_session=True,
        )
        assert self._process.stdout is not None
        self._pump = OutputPump(
            self._process.stdout, self._on_output_closed, name=f"lambda-output-{self.id[:8]}"
        )
        self._pump.start()
        log.debug("started worker %s (pid %s) for %s", self.id, self.pid, self.config.arn)

    def kill(self) -> None:
        """End the environment at once: the runtime and every process it started."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Kill the process, close the Runtime API and collect the output thread."""
        self._stopped = True
        self._inbox.put(None)  # wakes a GET /next waiting for an event
        self.kill()
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("worker %s (pid %s) did not exit", self.id, self.pid)
        if self._api is not None:
            self._api.close()
        if self._pump is not None:
            self._pump.close()

    def _on_output_closed(self) -> None:
        """The process closed its output: it has exited (or is about to)."""
        process = self._process
        if process is None:
            return
        status = process.wait()
        # Lambda tears the whole environment down with its runtime: end what it left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with self._lock:
            self.exit_status = status
            invocation = self._current
            failure = self._init_failure
        if invocation is not None:
            invocation.finish(failure or Outcome("exit", exit_status=status))

    # -- one invocation -------------------------------------------------------------------
    def run(self, invocation: Invocation) -> Outcome:
        """Hand the event to the runtime and wait for the outcome (or the timeout)."""
        with self._lock:
            self._current = invocation
            exited = self.exit_status
        if exited is not None:
            invocation.finish(self._init_failure or Outcome("exit", exit_status=exited))
        self._inbox.put(invocation)
        outcome = invocation.wait()
        with self._lock:
            self._current = None
        if outcome.kind == "timeout":
            self.max_memory_mb()  # remember the peak for the REPORT line before the kill
            self.kill()
        return outcome

    def take_init_duration(self) -> float | None:
        """The Init duration, reported once: in the REPORT of the environment's first event."""
        if self._init_reported:
            return None
        self._init_reported = True
        if self.init_duration_ms is None and self._spawned_at is not None:
            # Init never completed (init error, crash, timeout): report the time it took.
            return (time.monotonic() - self._spawned_at) * 1000
        return self.init_duration_ms

    def take_output(self) -> list[LogLine]:
        if self._pump is None:
            return []
        return self._pump.take(final=not self.alive)

    def max_memory_mb(self) -> int:
        """Peak resident memory of the runtime process, Lambda's "Max Memory Used".

        Read from /proc while the process lives; the last reading is kept for after its end.
        """
        if self._process is None or self._process.returncode is not None:
            return self._peak_memory_mb
        try:
            with open(f"/proc/{self._process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        self._peak_memory_mb = max(1, round(int(line.split()[1]) / 1024))
                        break
        except (OSError, ValueError):
            pass
        return self._peak_memory_mb

    # -- the Runtime API's backend --------------------------------------------------------
    def next_invocation(self) -> Invocation | None:
        if self.init_duration_ms is None and self._spawned_at is not None:
            # The first GET /next ends the Init phase.
            self.init_duration_ms = (time.monotonic() - self._spawned_at) * 1000
        while True:
            invocation = self._inbox.get()
            if invocation is None or self._stopped:
                return None
            if invocation.dispatch():
                return invocation
            # That event was already over (its time ran out during init): the environment
            # is being killed, wait for the next or the shutdown.

    def _current_invocation(self, request_id: str) -> Invocation | None:
        with self._lock:
            current = self._current
        return current if current is not None and current.request_id == request_id else None

    def invocation_response(self, request_id: str, body: bytes) -> bool:
        invocation = self._current_invocation(request_id)
        return invocation is not None and invocation.finish(Outcome("success", body))

    def invocation_error(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        invocation = self._current_invocation(request_id)
        return invocation is not None and invocation.finish(
            Outcome("error", body, error_type=error_type)
        )

    def init_error(self, body: bytes, error_type: str | None) -> None:
        failure = Outcome("init_error", body, error_type=error_type)
        with self._lock:
            self._init_failure = failure
            invocation = self._current
        if invocation is not None:
            invocation.finish(failure)
