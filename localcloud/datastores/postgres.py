"""A real PostgreSQL server on loopback, owned by the local cloud.

:class:`PostgresServer` runs ``initdb`` into a fresh data directory and starts the
``postgres`` server binary as a direct child process (its PID is the server's PID), listening
on ``127.0.0.1`` only, on a free TCP port, with no Unix socket. Local-only settings make it
fast (no fsync, no synchronous commit); the data is thrown away when the server stops.

PostgreSQL refuses to run as root: when the local cloud runs as root (CI images, containers)
both ``initdb`` and the server run as the ``postgres`` system user that Debian's package
creates, and the data directory is owned by it. If the local cloud's state directory is not
reachable by that user (pytest's ``/tmp/pytest-of-root`` is private), the data directory goes
to a private temporary directory instead; its path is recorded in the state directory.

:class:`LazyPostgres` is what the local cloud holds: it starts the server on first use and
stops it on shutdown. A server left behind by a process that died (``kill -9``) is found
through ``server.json`` in the state directory and stopped before a new one starts.

Settings from the environment: ``LOCALCLOUD_POSTGRES_BIN`` (a directory holding ``initdb``
and ``postgres``; by default PATH, then ``/usr/lib/postgresql/<newest>/bin``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger("localcloud.postgres")

BIN_DIR_ENV = "LOCALCLOUD_POSTGRES_BIN"
MISSING_BINARIES = (
    "PostgreSQL server binaries not found: install Debian package postgresql (make system-deps)"
)
SUPERUSER = "localcloud_admin"
# The database the superuser connects to for administration (initdb creates it).
MAINTENANCE_DB = "postgres"
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_STATE_FILE = "server.json"

# Local-only settings: durability is not a goal, start-up time and speed are.
_SERVER_SETTINGS = {
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "TimeZone": "UTC",
    "log_timezone": "UTC",
    "log_min_messages": "warning",
    "password_encryption": "scram-sha-256",
}


class PostgresUnavailable(RuntimeError):
    """The server cannot be started (binaries missing, initdb or start-up failed)."""


def find_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``postgres``; raises with the install hint."""
    candidates: list[Path] = []
    configured = os.environ.get(BIN_DIR_ENV)
    if configured:
        candidates.append(Path(configured))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    if _DEBIAN_ROOT.is_dir():

        def version(path: Path) -> tuple[int, ...]:
            return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)

        for version_dir in sorted(_DEBIAN_ROOT.iterdir(), key=version, reverse=True):
            candidates.append(version_dir / "bin")
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in ("initdb", "postgres")):
            return directory
    raise PostgresUnavailable(MISSING_BINARIES)


@dataclass(frozen=True)
class _RunAs:
    """The account the server runs under: ourselves, or ``postgres`` when we are root."""

    uid: int
    gid: int
    switch: bool

    @classmethod
    def for_current_process(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls(os.geteuid(), os.getegid(), switch=False)
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "PostgreSQL refuses to run as root and there is no 'postgres' system user: "
                "install Debian package postgresql (make system-deps), or run as another user"
            ) from None
        return cls(account.pw_uid, account.pw_gid, switch=True)

    def popen_options(self) -> dict[str, Any]:
        if not self.switch:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def can_reach(self, path: Path) -> bool:
        """True when this account may traverse every directory down to ``path``."""
        if not self.switch:
            return True
        for directory in [path, *path.parents]:
            if not directory.exists():
                continue
            mode = directory.stat()
            if mode.st_uid == self.uid:
                continue
            bit = 0o010 if mode.st_gid == self.gid else 0o001
            if not mode.st_mode & bit:
                return False
        return True


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


def child_pids(pid: int) -> list[int]:
    """PIDs of the processes whose parent is ``pid`` (Linux ``/proc``)."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            children.append(int(entry.name))
    return children


class PostgresServer:
    """One PostgreSQL server process with a throw-away data directory."""

    def __init__(
        self,
        work_dir: Path,
        *,
        host: str = "127.0.0.1",
        startup_timeout: float = 30.0,
    ) -> None:
        self.work_dir = work_dir
        self.host = host
        self.port = 0
        self.superuser = SUPERUSER
        self.password = secrets.token_urlsafe(24)
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._base: Path | None = None
        self._private_base = False
        self._log_path: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """initdb, start the server and wait until it accepts connections."""
        bin_dir = find_bin_dir()
        run_as = _RunAs.for_current_process()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        stop_stale_server(self.work_dir)
        base = self._make_base(run_as)
        data_dir = base / "data"
        self._log_path = base / "postgres.log"
        pwfile = base / "pwfile"
        pwfile.write_text(self.password)
        pwfile.chmod(0o600)
        if run_as.switch:
            for path in (base, pwfile):
                os.chown(path, run_as.uid, run_as.gid)
        started = time.monotonic()
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data_dir),
                "--username",
                self.superuser,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            check=False,
            **run_as.popen_options(),
        )
        pwfile.unlink()
        if initdb.returncode != 0:
            self._remove_base()
            raise PostgresUnavailable(
                f"initdb failed ({initdb.returncode}): {initdb.stderr.decode(errors='replace')}"
            )
        last_error = ""
        for _attempt in range(3):
            self.port = _free_port(self.host)
            try:
                self._launch(bin_dir, data_dir, run_as)
                break
            except PostgresUnavailable as exc:
                last_error = str(exc)
                if "could not bind" not in last_error and "in use" not in last_error:
                    self._remove_base()
                    raise
        else:
            self._remove_base()
            raise PostgresUnavailable(last_error)
        (self.work_dir / _STATE_FILE).write_text(
            json.dumps({"pid": self.pid, "base": str(base), "port": self.port})
        )
        log.info(
            "PostgreSQL ready on %s:%s (pid %s) in %.2f s",
            self.host,
            self.port,
            self.pid,
            time.monotonic() - started,
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown (SIGINT), then harder signals; removes the data. Idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            for sig, wait in (
                (signal.SIGINT, timeout),
                (signal.SIGQUIT, 5.0),
                (signal.SIGKILL, 5.0),
            ):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
                try:
                    process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        with contextlib.suppress(FileNotFoundError):
            (self.work_dir / _STATE_FILE).unlink()
        self._remove_base()

    def _make_base(self, run_as: _RunAs) -> Path:
        base = self.work_dir / "server"
        if run_as.can_reach(self.work_dir):
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(mode=0o700)
            self._private_base = False
        else:
            base = Path(tempfile.mkdtemp(prefix="localcloud-postgres-"))
            self._private_base = True
        if run_as.switch:
            os.chown(base, run_as.uid, run_as.gid)
        self._base = base
        return base

    def _remove_base(self) -> None:
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def _launch(self, bin_dir: Path, data_dir: Path, run_as: _RunAs) -> None:
        assert self._log_path is not None
        command = [str(bin_dir / "postgres"), "-D", str(data_dir), "-h", self.host]
        command += ["-p", str(self.port)]
        for name, value in _SERVER_SETTINGS.items():
            command += ["-c", f"{name}={value}"]
        with open(self._log_path, "ab") as log_file:
            if run_as.switch:
                os.chown(self._log_path, run_as.uid, run_as.gid)
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal reaches the local cloud, which
                # then stops the server itself.
                start_new_session=True,
                **run_as.popen_options(),
            )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                self._process = None
                raise PostgresUnavailable(f"PostgreSQL did not start: {self._log_tail()}")
            try:
                with self.connect(MAINTENANCE_DB, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PostgresUnavailable(
                        f"PostgreSQL not ready after {self.startup_timeout:.0f} s: "
                        f"{self._log_tail()}"
                    ) from None
                time.sleep(0.02)

    def _log_tail(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        return self._log_path.read_text(errors="replace")[-2000:].strip()

    # -- connections and administration -------------------------------------------------

    def conninfo(self, dbname: str, *, user: str | None = None, password: str | None = None) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            dbname=dbname,
            user=user or self.superuser,
            password=self.password if password is None else password,
            sslmode="disable",
            application_name="localcloud",
        )

    def connect(
        self,
        dbname: str,
        *,
        user: str | None = None,
        password: str | None = None,
        connect_timeout: int = 10,
        **options: Any,
    ) -> psycopg.Connection[Any]:
        """A new autocommit connection (as the superuser unless ``user`` is given)."""
        return psycopg.connect(
            self.conninfo(dbname, user=user, password=password),
            autocommit=True,
            connect_timeout=connect_timeout,
            **options,
        )

    @contextlib.contextmanager
    def admin(self) -> Iterator[psycopg.Connection[Any]]:
        with self.connect(MAINTENANCE_DB) as conn:
            yield conn

    def database_exists(self, name: str) -> bool:
        with self.admin() as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None

    def ensure_role(self, name: str, password: str) -> None:
        """Create the login role ``name`` or set its password (roles are server-wide)."""
        with self.admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL("{} ROLE {} WITH LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(name), sql.Literal(password)
                )
            )

    def create_database(self, name: str, owner: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing its sessions first (PostgreSQL 13+ ``WITH (FORCE)``)."""
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def backend_pids(self) -> list[int]:
        return [] if self.pid is None else child_pids(self.pid)


def stop_stale_server(work_dir: Path) -> None:
    """Stop a server a previous local cloud in ``work_dir`` left running (it died hard)."""
    state_file = work_dir / _STATE_FILE
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return
    pid, base = int(state.get("pid") or 0), str(state.get("base") or "")
    if pid and base and _alive(pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            cmdline = ""
        if "postgres" in cmdline and base in cmdline:
            log.warning("stopping PostgreSQL (pid %s) left by a previous local cloud", pid)
            for sig in (signal.SIGQUIT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + 5
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not _alive(pid):
                    break
    if base:
        shutil.rmtree(base, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        state_file.unlink()


class LazyPostgres:
    """The local cloud's PostgreSQL: started by the first :meth:`server` call."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self._server: PostgresServer | None = None
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def started(self) -> PostgresServer | None:
        """The running server, or None when nothing needed one yet."""
        return self._server

    def server(self) -> PostgresServer:
        with self._lock:
            if self._stopped:
                raise PostgresUnavailable("the local cloud is stopping")
            if self._server is None:
                server = PostgresServer(self.work_dir)
                server.start()
                self._server = server
            return self._server

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            server, self._server = self._server, None
        if server is not None:
            server.stop()
