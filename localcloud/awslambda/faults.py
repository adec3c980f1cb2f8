"""The fault switch: make a function fail, time out or be throttled, on demand, for tests.

A test names a function (its name, ``name:qualifier`` or its ARN, optionally with a
``qualifier``) and a mode:

- ``fail``: the invocation ends with an ``Unhandled`` function error whose payload has the
  given ``errorType`` and ``errorMessage`` (awslambdaric's shape: ``errorMessage``,
  ``errorType``, ``requestId``, ``stackTrace``). The handler is **not** run: the fault takes
  the place of the handler, so a test can tell its side effects never happened.
- ``timeout``: the invocation ends as a timeout does (``Sandbox.Timedout``, "Task timed out
  after N seconds" with the function's configured timeout) and the environment is reset,
  as on Lambda. The handler is not run and the wait is cut short: the outcome is the
  timeout's, the wall-clock time is not.
- ``throttle``: the invocation is refused as if the concurrency limit were reached. The
  Invoke API answers 429 ``TooManyRequestsException``; the asynchronous queue keeps the
  event and retries it with back-off; internal callers that wait for capacity (event
  source pollers) wait and retry until the fault is gone or their wait runs out.

A fault applies to the next ``count`` matching invocations (then it is removed), to a share
``rate`` (0..1) of them, drawn from a ``random.Random(seed)`` so a seeded run repeats
exactly, to both (a share, until ``count`` faults were injected), or to every one until it
is cleared. Setting a fault for a function and qualifier replaces the previous one.

The runtime consults :class:`FaultRegistry` once per invocation, at the one place every
caller goes through (:meth:`LambdaRuntime.invoke`): the Invoke API, asynchronous retries,
event source pollers, API Gateway and SNS all see the same faults. With no fault set the
check is one truthiness test.

The admin API of the local cloud (``/_localcloud/faults``, see :func:`handle_admin`) and the
client :class:`localcloud.faults_client.FaultSwitch` drive the process-wide registry
:data:`FAULTS`.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

from localcloud.awslambda.model import FunctionConfig

FaultMode = Literal["fail", "timeout", "throttle"]
MODES: tuple[FaultMode, ...] = ("fail", "timeout", "throttle")

DEFAULT_ERROR_TYPE = "LocalCloudInjectedFault"
DEFAULT_ERROR_MESSAGE = "Failure injected by the local cloud's fault switch"

# (account, region, function name, alias) -> the version the alias points to, or None.
AliasResolver = Callable[[str, str, str, str], str | None]

_FUNCTION_ARN = re.compile(
    r"^arn:[^:]+:lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:(?P<name>[^:]+)"
    r"(?::(?P<qualifier>[^:]+))?$"
)
_VERSION = re.compile(r"^(\$LATEST|\d+)$")


class InvalidFault(ValueError):
    """A fault specification the switch cannot accept (the admin API answers 400)."""


@dataclass(frozen=True)
class Injection:
    """What the runtime does instead of running the handler for one invocation."""

    mode: FaultMode
    error_type: str
    error_message: str
    fault_id: str

    def error_body(self, request_id: str) -> bytes:
        """The error payload of a ``fail`` injection, as awslambdaric posts it."""
        return json.dumps(
            {
                "errorMessage": self.error_message,
                "errorType": self.error_type,
                "requestId": request_id,
                "stackTrace": [],
            }
        ).encode()


@dataclass
class Fault:
    """One active fault and its bookkeeping."""

    function: str  # as given: name, name:qualifier or ARN
    name: str
    account_id: str | None
    region: str | None
    qualifier: str | None
    mode: FaultMode
    count: int | None  # faults still to inject; None: no limit
    rate: float | None  # share of matching invocations; None: all
    seed: int | None
    error_type: str = DEFAULT_ERROR_TYPE
    error_message: str = DEFAULT_ERROR_MESSAGE
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    seen: int = 0  # matching invocations
    injected: int = 0  # faults injected
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.name, self.account_id, self.region, self.qualifier)

    def matches(self, config: FunctionConfig, resolve_alias: AliasResolver | None) -> bool:
        if config.name != self.name:
            return False
        if self.account_id is not None and config.account_id != self.account_id:
            return False
        if self.region is not None and config.region != self.region:
            return False
        if self.qualifier is None or self.qualifier == config.version:
            return True
        if _VERSION.match(self.qualifier) or resolve_alias is None:
            return False
        target = resolve_alias(config.account_id, config.region, config.name, self.qualifier)
        return target == config.version

    def draw(self) -> bool:
        """Whether this matching invocation gets the fault (consumes one draw)."""
        self.seen += 1
        return self.rate is None or self._rng.random() < self.rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "function": self.function,
            "qualifier": self.qualifier,
            "mode": self.mode,
            "count": self.count,
            "rate": self.rate,
            "seed": self.seed,
            "errorType": self.error_type,
            "errorMessage": self.error_message,
            "seen": self.seen,
            "injected": self.injected,
        }


def _parse_function(function: str, qualifier: str | None) -> dict[str, Any]:
    """Name, account, region and qualifier of a function reference."""
    match = _FUNCTION_ARN.match(function)
    if match:
        in_arn = match.group("qualifier")
        if in_arn and qualifier and in_arn != qualifier:
            raise InvalidFault(f"qualifier {qualifier!r} contradicts the ARN {function!r}")
        return {
            "name": match.group("name"),
            "account_id": match.group("account"),
            "region": match.group("region"),
            "qualifier": in_arn or qualifier,
        }
    if function.startswith("arn:"):
        raise InvalidFault(f"{function!r} is not a Lambda function ARN")
    name, _, in_name = function.partition(":")
    if in_name and qualifier and in_name != qualifier:
        raise InvalidFault(f"qualifier {qualifier!r} contradicts {function!r}")
    return {"name": name, "account_id": None, "region": None, "qualifier": in_name or qualifier}


def fault_from_spec(spec: Mapping[str, Any]) -> Fault:
    """A :class:`Fault` from the admin API's JSON body; raises :class:`InvalidFault`."""
    function = spec.get("function")
    if not isinstance(function, str) or not function.strip():
        raise InvalidFault("'function' (a function name or ARN) is required")
    mode = spec.get("mode")
    if mode not in MODES:
        raise InvalidFault(f"'mode' must be one of {', '.join(MODES)}; got {mode!r}")
    qualifier = spec.get("qualifier")
    if qualifier is not None and (not isinstance(qualifier, str) or not qualifier):
        raise InvalidFault("'qualifier' must be a version or alias name")
    count = spec.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise InvalidFault(f"'count' must be a positive integer or null; got {count!r}")
    rate = spec.get("rate")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise InvalidFault(f"'rate' must be a number between 0 and 1 or null; got {rate!r}")
        if not (0.0 <= float(rate) <= 1.0) or math.isnan(float(rate)):
            raise InvalidFault(f"'rate' must be between 0 and 1; got {rate!r}")
        rate = float(rate)
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidFault(f"'seed' must be an integer or null; got {seed!r}")
    error_type = spec.get("errorType") or DEFAULT_ERROR_TYPE
    error_message = spec.get("errorMessage") or DEFAULT_ERROR_MESSAGE
    if not isinstance(error_type, str) or not isinstance(error_message, str):
        raise InvalidFault("'errorType' and 'errorMessage' must be strings")
    return Fault(
        function=function,
        mode=mode,
        count=count,
        rate=rate,
        seed=seed,
        error_type=error_type,
        error_message=error_message,
        **_parse_function(function.strip(), qualifier),
    )


class FaultRegistry:
    """The active faults of one process; consulted by the runtime on every invocation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        self.resolve_alias: AliasResolver | None = None

    def add(self, fault: Fault) -> Fault:
        """Activate ``fault``, replacing one set earlier for the same function and qualifier."""
        with self._lock:
            for existing in list(self._faults.values()):
                if existing.key == fault.key:
                    del self._faults[existing.id]
            self._faults[fault.id] = fault
        return fault

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_dict() for fault in self._faults.values()]

    def clear(self, *, fault_id: str | None = None, function: str | None = None) -> int:
        """Remove one fault (by id), the faults of one function (name or ARN), or all."""
        with self._lock:
            if fault_id is not None:
                return 1 if self._faults.pop(fault_id, None) is not None else 0
            if function is None:
                removed = len(self._faults)
                self._faults.clear()
                return removed
            target = _parse_function(function, None)
            doomed = [
                f.id
                for f in self._faults.values()
                if f.name == target["name"]
                and (target["qualifier"] is None or f.qualifier == target["qualifier"])
            ]
            for key in doomed:
                del self._faults[key]
            return len(doomed)

    def take(self, config: FunctionConfig) -> Injection | None:
        """The fault to inject into this invocation of ``config``, if any (consumes it)."""
        if not self._faults:  # the common case: nothing set, no lock taken
            return None
        resolve = self.resolve_alias
        with self._lock:
            for fault in list(self._faults.values()):
                if not fault.matches(config, resolve):
                    continue
                if not fault.draw():
                    return None
                fault.injected += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        del self._faults[fault.id]
                return Injection(fault.mode, fault.error_type, fault.error_message, fault.id)
        return None


# The registry of this process: moto's state is process-wide, and so are the faults.
FAULTS = FaultRegistry()


def handle_admin(
    method: str, subpath: str, query: str, body: bytes, registry: FaultRegistry = FAULTS
) -> tuple[int, Any]:
    """The ``/_localcloud/faults`` admin API: (HTTP status, JSON document).

    - ``POST /faults`` with a fault specification: sets it, answers 201 with the fault;
    - ``GET /faults``: ``{"faults": [...]}``;
    - ``DELETE /faults`` (all), ``DELETE /faults?function=<name or ARN>`` (one function's),
      ``DELETE /faults/<id>`` (one fault): ``{"cleared": n}``.
    """
    fault_id = subpath.strip("/") or None
    if method == "GET" and fault_id is None:
        return 200, {"faults": registry.list()}
    if method == "POST" and fault_id is None:
        try:
            spec = json.loads(body or b"{}")
        except ValueError:
            return 400, {"message": "the body must be a JSON object"}
        if not isinstance(spec, dict):
            return 400, {"message": "the body must be a JSON object"}
        try:
            fault = registry.add(fault_from_spec(spec))
        except InvalidFault as error:
            return 400, {"message": str(error)}
        return 201, fault.to_dict()
    if method == "DELETE":
        if fault_id is not None:
            cleared = registry.clear(fault_id=fault_id)
            if not cleared:
                return 404, {"message": f"no fault {fault_id}"}
            return 200, {"cleared": cleared}
        functions = parse_qs(query).get("function")
        function = functions[0] if functions else None
        return 200, {"cleared": registry.clear(function=function)}
    return 405, {"message": f"{method} is not supported on /faults{subpath}"}
