"""Real Redis servers on loopback, owned by the local cloud (one process per cache).

:class:`RedisServer` starts ``redis-server`` (Debian's ``redis-server`` 7.x, or
``valkey-server``) as a direct child process: listening on ``127.0.0.1`` only, on a free TCP
port, no persistence (``--save ''``, ``--appendonly no``), its working directory a fresh
folder that is removed when the server stops. Each cache gets its own process, so two caches
never see each other's keys, ``FLUSHALL`` on one leaves the other alone, and deleting a cache
ends exactly its process.

:class:`RedisServers` is what the local cloud holds: it starts a server the first time a cache
asks for one (nothing runs while no cache exists), stops one when its cache is deleted, and
stops every one on shutdown. A server left behind by a local cloud that died (``kill -9``) is
found through its ``server.json`` in the state directory and stopped before a new one starts.

Settings from the environment: ``LOCALCLOUD_REDIS_SERVER`` (the server binary; by default
``redis-server`` on PATH, then ``valkey-server``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger("localcloud.redis")

BINARY_ENV = "LOCALCLOUD_REDIS_SERVER"
MISSING_BINARY = "redis-server not found: install Debian package redis-server (make system-deps)"
_CANDIDATES = ("redis-server", "valkey-server")
_STATE_FILE = "server.json"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class RedisUnavailable(RuntimeError):
    """A server cannot be started (binary missing, start-up failed)."""


def find_server_binary() -> str:
    """The path of the server binary; raises :class:`RedisUnavailable` with the install hint."""
    configured = os.environ.get(BINARY_ENV)
    if configured:
        if os.access(configured, os.X_OK) and not os.path.isdir(configured):
            return configured
        found = shutil.which(configured)
        if found:
            return found
        raise RedisUnavailable(f"{MISSING_BINARY} ({BINARY_ENV}={configured} is not executable)")
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RedisUnavailable(MISSING_BINARY)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when the server answers ``PING`` (RESP spoken by hand: no client needed here)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process with a throw-away working directory."""

    def __init__(
        self, work_dir: Path, *, host: str = "127.0.0.1", startup_timeout: float = 10.0
    ) -> None:
        self.work_dir = work_dir
        self.host = host
        self.port = 0
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def _log_path(self) -> Path:
        return self.work_dir / "redis.log"

    def start(self) -> None:
        """Start the server and wait until it answers ``PING``."""
        binary = find_server_binary()
        stop_stale_server(self.work_dir)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)
        started = time.monotonic()
        last_error = ""
        for _attempt in range(3):
            self.port = _free_port(self.host)
            try:
                self._launch(binary)
                break
            except RedisUnavailable as exc:
                last_error = str(exc)
                if "in use" not in last_error:
                    shutil.rmtree(self.work_dir, ignore_errors=True)
                    raise
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            raise RedisUnavailable(last_error)
        (self.work_dir / _STATE_FILE).write_text(
            json.dumps({"pid": self.pid, "port": self.port, "dir": str(self.work_dir)})
        )
        log.info(
            "redis ready on %s:%s (pid %s) in %.3f s",
            self.host,
            self.port,
            self.pid,
            time.monotonic() - started,
        )

    def _launch(self, binary: str) -> None:
        command = [
            binary,
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--protected-mode",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.work_dir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            "",
        ]
        with open(self._log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                command,
                cwd=self.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal reaches the local cloud, which
                # then stops the server itself.
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while not _ping(self.host, self.port):
            if self._process.poll() is not None:
                self._process = None
                raise RedisUnavailable(f"redis-server did not start: {self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop(remove=False)
                raise RedisUnavailable(
                    f"redis-server not ready after {self.startup_timeout:.0f} s: {self._log_tail()}"
                )
            time.sleep(0.005)

    def _log_tail(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-2000:].strip() or "(empty log)"
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 5.0, *, remove: bool = True) -> None:
        """SIGTERM (with no save points Redis exits at once), then SIGKILL. Idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if remove:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def stop_stale_server(work_dir: Path) -> None:
    """Stop a server a previous local cloud left running in ``work_dir`` (it died hard)."""
    try:
        state = json.loads((work_dir / _STATE_FILE).read_text())
    except (OSError, ValueError):
        return
    pid = int(state.get("pid") or 0)
    if not pid or not _alive(pid):
        return
    try:
        # redis-server rewrites its title ("redis-server 127.0.0.1:PORT"); its working
        # directory is the one it was started in.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return
    # Only a redis/valkey server of this very directory, never an unrelated process.
    if not re.search(r"redis|valkey", cmdline) or Path(cwd) != work_dir.resolve():
        return
    log.warning("stopping redis-server (pid %s) left by a previous local cloud", pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not _alive(pid):
            return


class RedisServers:
    """The local cloud's Redis servers, one per cache, keyed by a cache's name."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self._servers: dict[str, RedisServer] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def _dir(self, name: str) -> Path:
        return self.work_dir / _SAFE_NAME.sub("_", name)

    def get(self, name: str) -> RedisServer | None:
        """The running server of cache ``name``, or None."""
        with self._lock:
            return self._servers.get(name)

    def start(self, name: str) -> RedisServer:
        """The server of cache ``name``, started now if it has none."""
        with self._lock:
            if self._stopped:
                raise RedisUnavailable("the local cloud is stopping")
            server = self._servers.get(name)
            if server is None or not server.running:
                server = RedisServer(self._dir(name))
                server.start()
                self._servers[name] = server
            return server

    def stop(self, name: str) -> None:
        """Stop the server of cache ``name`` (nothing happens when it has none)."""
        with self._lock:
            server = self._servers.pop(name, None)
        if server is not None:
            server.stop()

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._servers)

    def stop_all(self) -> None:
        with self._lock:
            self._stopped = True
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            try:
                server.stop()
            except Exception:  # one failing stop must not leave the others running
                log.exception("could not stop redis-server %s", server.pid)
