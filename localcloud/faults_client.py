"""A small client of the local cloud's Lambda fault switch, for tests.

::

    from localcloud.faults_client import FaultSwitch

    with FaultSwitch(endpoint_url) as faults:
        faults.fail("orders-writer", count=2, error_type="DatabaseDown")
        ...  # the next two invocations of orders-writer fail, then it runs again
    # leaving the block clears every fault this switch set

Modes (see :mod:`localcloud.awslambda.faults`): ``fail`` (an Unhandled function error of
the given type and message, the handler does not run), ``timeout`` (a ``Sandbox.Timedout``
outcome, the handler does not run) and ``throttle`` (429 for synchronous callers; the
asynchronous queue and event sources keep retrying). A fault applies to the next ``count``
invocations, to a share ``rate`` of them (reproducible with ``seed``), or, with neither, to
every invocation until cleared.

Only the standard library is used, so the client works from any test environment. It only
makes sense against the local cloud: AWS has no such switch.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from types import TracebackType
from typing import Any

ADMIN_PATH = "/_localcloud/faults"


class FaultSwitchError(RuntimeError):
    """The local cloud refused a fault request (bad specification, unknown fault...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class FaultSwitch:
    """Sets and clears faults of Lambda functions on a local cloud at ``endpoint_url``."""

    def __init__(self, endpoint_url: str, *, request_timeout: float = 10.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.request_timeout = request_timeout
        self._ids: list[str] = []

    # -- setting faults ---------------------------------------------------------------------
    def fail(
        self,
        function: str,
        *,
        count: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
        qualifier: str | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
    ) -> dict[str, Any]:
        """Make ``function`` end with an Unhandled error instead of running its handler."""
        return self.set(
            function,
            "fail",
            count=count,
            rate=rate,
            seed=seed,
            qualifier=qualifier,
            error_type=error_type,
            error_message=error_message,
        )

    def timeout(
        self,
        function: str,
        *,
        count: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
        qualifier: str | None = None,
    ) -> dict[str, Any]:
        """Make ``function`` end as a timeout (``Sandbox.Timedout``)."""
        return self.set(function, "timeout", count=count, rate=rate, seed=seed, qualifier=qualifier)

    def throttle(
        self,
        function: str,
        *,
        count: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
        qualifier: str | None = None,
    ) -> dict[str, Any]:
        """Make ``function`` throttled: 429 for synchronous invokes, retried otherwise."""
        return self.set(
            function, "throttle", count=count, rate=rate, seed=seed, qualifier=qualifier
        )

    def set(
        self,
        function: str,
        mode: str,
        *,
        count: int | None = None,
        rate: float | None = None,
        seed: int | None = None,
        qualifier: str | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
    ) -> dict[str, Any]:
        """Set a fault (any mode); returns it as the local cloud keeps it (with its ``id``)."""
        spec: dict[str, Any] = {"function": function, "mode": mode, "count": count, "rate": rate}
        if seed is not None:
            spec["seed"] = seed
        if qualifier is not None:
            spec["qualifier"] = qualifier
        if error_type is not None:
            spec["errorType"] = error_type
        if error_message is not None:
            spec["errorMessage"] = error_message
        fault: dict[str, Any] = self._request("POST", ADMIN_PATH, spec)
        self._ids.append(str(fault["id"]))
        return fault

    # -- reading and clearing ---------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        """Every active fault of the local cloud (with ``seen`` and ``injected`` counts)."""
        return list(self._request("GET", ADMIN_PATH)["faults"])

    def clear(self, function: str | None = None) -> int:
        """Clear every fault of the local cloud, or those of one function; returns how many."""
        path = ADMIN_PATH
        if function is not None:
            path += "?" + urllib.parse.urlencode({"function": function})
        return int(self._request("DELETE", path)["cleared"])

    def clear_own(self) -> int:
        """Clear the faults this switch set (the context manager does it on exit)."""
        cleared = 0
        for fault_id in self._ids:
            try:
                cleared += int(self._request("DELETE", f"{ADMIN_PATH}/{fault_id}")["cleared"])
            except FaultSwitchError as error:
                if error.status != 404:  # already used up or cleared
                    raise
        self._ids.clear()
        return cleared

    def __enter__(self) -> FaultSwitch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.clear_own()

    # -- HTTP -------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read() or b"{}").get("message", error.reason)
            except ValueError:
                message = str(error.reason)
            raise FaultSwitchError(error.code, str(message)) from None
