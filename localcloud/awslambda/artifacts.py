"""The files a worker runs from: function code, layers (``/opt``) and the runtime itself.

Everything lives under ``<state_dir>/lambda/`` and is keyed by content, so a directory once
complete never changes: code by its zip's SHA-256, the merged layers by the ordered digests
of their zips, the runtime by the exact distributions it links to. A directory is built
under a temporary name and renamed into place, so a crash never leaves a half-extracted one
that a later run would trust.

The runtime directory plays the part of Lambda's ``/var/runtime`` and the Python runtime's
bundled SDK: ``awslambdaric`` and boto3 (with their dependencies), symlinked from the
installed distributions. Workers run the base interpreter with only this directory, the
code and the layers on their path, never the development environment's site-packages: a
dependency missing from a layer fails locally as it would on Lambda.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path

from localcloud.awslambda.model import ArtifactRef
from localcloud.urls import EXECUTE_API_HOST

# What the Lambda Python runtime provides besides the standard library: its runtime client,
# and the AWS SDK for Python (layers must not need to ship it).
RUNTIME_DISTRIBUTIONS = ("awslambdaric", "boto3")

_SITECUSTOMIZE = '''\
"""Written by the local cloud: keep a Lambda worker's import path as on Lambda.

The interpreter's own site-packages (and a system Python's dist-packages) are not part of
the Lambda runtime, so they are dropped from sys.path: only the function code, its layers
and the runtime directory remain.
"""

import os
import site
import sys


def _norm(path):
    return os.path.normcase(os.path.abspath(path))


_hidden = {_norm(p) for p in site.getsitepackages()}
_user = site.getusersitepackages()
if isinstance(_user, str):
    _hidden.add(_norm(_user))
sys.path[:] = [p for p in sys.path if not p or _norm(p) not in _hidden]

# API Gateway URLs (https://{api_id}.execute-api.{region}.amazonaws.com) reach the local
# cloud's HTTPS listener, whose certificate SSL_CERT_FILE/REQUESTS_CA_BUNDLE trust
# (localcloud.apigateway.https_endpoint). Every other host name resolves as usual.
_execute_api = os.environ.get("LOCALCLOUD_EXECUTE_API_HTTPS")
if _execute_api:
    import re
    import socket

    _listener_host, _, _listener_port = _execute_api.rpartition(":")
    _execute_api_host = re.compile(r"^@EXECUTE_API_HOST@\\.?$", re.IGNORECASE)
    _resolve = socket.getaddrinfo

    def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if name and _execute_api_host.match(name) and str(port) in ("443", "https"):
            return _resolve(
                _listener_host, int(_listener_port), socket.AF_INET, type, proto, flags
            )
        return _resolve(host, port, family, type, proto, flags)

    socket.getaddrinfo = _getaddrinfo
'''.replace("@EXECUTE_API_HOST@", EXECUTE_API_HOST)


def worker_python() -> Path:
    """The interpreter workers run: the base one behind the current virtual environment.

    Running the venv's own ``python`` would put the development site-packages on the path;
    its base interpreter has the same version (so the venv's compiled wheels still load).
    """
    base = getattr(sys, "_base_executable", None) or sys.executable
    return Path(base).resolve()


def python_tag() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _requirement_name(requirement: str) -> str | None:
    """The distribution a requirement names, or None when it applies to an extra only."""
    name, _, marker = requirement.partition(";")
    if "extra" in marker:
        return None
    if marker.strip():
        try:
            from packaging.markers import Marker

            if not Marker(marker.strip()).evaluate():
                return None
        except ImportError:  # no packaging: keep the requirement, extra files are harmless
            pass
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", name)
    return match.group(1) if match else None


def _closure(roots: Iterable[str]) -> list[metadata.Distribution]:
    """The given distributions and everything they require, each once."""
    seen: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as error:
            raise RuntimeError(
                f"the Lambda runtime needs the distribution {name!r}, which is not installed "
                f"in {sys.prefix}"
            ) from error
        seen[key] = dist
        for requirement in dist.requires or []:
            required = _requirement_name(requirement)
            if required:
                pending.append(required)
    return sorted(seen.values(), key=lambda d: str(d.metadata["Name"]).lower())


def _top_level_entries(dist: metadata.Distribution) -> set[str]:
    """The names a distribution installs at the top of site-packages."""
    entries: set[str] = set()
    for file in dist.files or []:
        first = file.parts[0]
        # Scripts live outside site-packages (".."); __pycache__ at the top is shared by
        # single-module distributions and rebuilt on demand.
        if first in ("..", "__pycache__") or first.endswith(".pth"):
            continue
        entries.add(first)
    if not entries:
        raise RuntimeError(f"{dist.metadata['Name']} lists no installed files (no RECORD)")
    return entries


def _extract_zip(data: bytes, target: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            extracted = Path(archive.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                # Zips built on Unix carry file modes: layer binaries stay executable.
                extracted.chmod(mode | 0o400)


class ArtifactStore:
    """Builds and caches the directories workers run from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._building: dict[Path, threading.Lock] = {}
        self._runtime_dir: Path | None = None

    def _build_once(self, target: Path, build: Callable[[Path], None]) -> Path:
        """Create ``target`` with ``build(tmp_dir)`` unless it exists; safe across threads."""
        if target.is_dir():
            return target
        with self._lock:
            lock = self._building.setdefault(target, threading.Lock())
        with lock:
            if target.is_dir():
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex}"
            tmp.mkdir()
            try:
                build(tmp)
                os.rename(tmp, target)
            except OSError:
                # Another process sharing the state dir won the race: keep its copy.
                shutil.rmtree(tmp, ignore_errors=True)
                if not target.is_dir():
                    raise
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return target

    def code_dir(self, code: ArtifactRef) -> Path:
        """The function's code, extracted once per zip digest (Lambda's ``/var/task``)."""
        digest = code.digest or "empty"
        return self._build_once(
            self.root / "code" / digest, lambda tmp: _extract_zip(code.load(), tmp)
        )

    def opt_dir(self, layers: Sequence[ArtifactRef]) -> Path | None:
        """All layers extracted in order into one directory (Lambda's ``/opt``).

        Lambda unpacks every layer into the same ``/opt``, a later layer overwriting the
        files of an earlier one; one merged directory per layer list reproduces that.
        """
        if not layers:
            return None
        key = hashlib.sha256("\0".join(layer.digest for layer in layers).encode()).hexdigest()

        def build(tmp: Path) -> None:
            for layer in layers:
                _extract_zip(layer.load(), tmp)

        return self._build_once(self.root / "opt" / key[:32], build)

    def runtime_dir(self) -> Path:
        """Lambda's ``/var/runtime`` for this interpreter: awslambdaric, boto3 and their deps."""
        if self._runtime_dir is not None:
            return self._runtime_dir
        dists = _closure(RUNTIME_DISTRIBUTIONS)
        # The sitecustomize text is part of the identity: a changed one gets a new directory.
        identity = [str(worker_python()), sys.version, _SITECUSTOMIZE]
        identity += [f"{d.metadata['Name']}=={d.version}@{d.locate_file('')}" for d in dists]
        key = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]

        def build(tmp: Path) -> None:
            for dist in dists:
                base = Path(str(dist.locate_file("")))
                for entry in sorted(_top_level_entries(dist)):
                    source = base / entry
                    if source.exists() and not (tmp / entry).exists():
                        (tmp / entry).symlink_to(source)
            (tmp / "sitecustomize.py").write_text(_SITECUSTOMIZE)

        self._runtime_dir = self._build_once(self.root / "runtime" / f"{python_tag()}-{key}", build)
        return self._runtime_dir
