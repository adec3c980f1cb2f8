"""Plain values the Lambda runtime works with, free of moto types.

The runtime (pools, workers, Runtime API) only sees these; :mod:`.patch` is the one module
that reads moto's objects and turns them into a :class:`FunctionConfig`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# AWS's concurrency quota per account and region when nobody raised it.
DEFAULT_ACCOUNT_CONCURRENCY = 1000

# Throttle reasons, as AWS spells them in the 429 body (botocore's ThrottleReason enum).
RESERVED_LIMIT_EXCEEDED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT_EXCEEDED = "ConcurrentInvocationLimitExceeded"


@dataclass(frozen=True)
class ArtifactRef:
    """A zip (function code or layer version) known by its SHA-256, loaded only when needed.

    Loading is deferred because the bytes are only read on a cold start whose extraction is
    not cached yet; the digest alone decides whether a warm worker still runs current code.
    """

    digest: str
    load: Callable[[], bytes] = field(compare=False, repr=False)
    label: str = ""


@dataclass(frozen=True)
class FunctionConfig:
    """Everything about one function version that decides how its workers run."""

    account_id: str
    region: str
    name: str
    version: str  # "$LATEST" or a published version number
    arn: str  # the ARN the runtime reports as invoked-function ARN
    handler: str
    runtime: str  # e.g. "python3.13"
    timeout: float  # seconds
    memory_size: int  # MB
    environment: Mapping[str, str]
    code: ArtifactRef
    layers: tuple[ArtifactRef, ...] = ()
    package_type: str = "Zip"
    tracing_active: bool = False
    # None: the function draws from the account's unreserved pool.
    reserved_concurrency: int | None = None
    # What is left of the account quota once every reservation is set aside.
    unreserved_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def fingerprint(self) -> str:
        """Changes whenever a running worker would no longer match the configuration.

        Concurrency settings are left out on purpose: changing them does not replace the
        execution environments on AWS either.
        """
        parts = [
            self.version,
            self.code.digest,
            self.handler,
            self.runtime,
            repr(self.timeout),
            str(self.memory_size),
            repr(sorted(self.environment.items())),
            ",".join(layer.digest for layer in self.layers),
            self.package_type,
            str(self.tracing_active),
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class InvokeRequest:
    """One invocation as the caller asked for it."""

    payload: bytes = b"{}"
    # Decoded client context JSON (the API takes it base64-encoded in X-Amz-Client-Context).
    client_context: str | None = None
    cognito_identity: str | None = None
    # An incoming X-Amzn-Trace-Id to continue; a new trace is started otherwise.
    trace_header: str | None = None


@dataclass(frozen=True)
class InvokeResult:
    """What Lambda answers to a synchronous invoke."""

    request_id: str
    payload: bytes
    # "Unhandled" as in the X-Amz-Function-Error header, None on success.
    function_error: str | None
    # The errorType of the payload when the invoke failed (Sandbox.Timedout, ...).
    error_type: str | None
    # The last 4 KB of the invocation's log, base64-encoded, as X-Amz-Log-Result.
    log_tail: str
    executed_version: str
    duration_ms: float
    cold_start: bool


class Throttled(Exception):
    """Lambda refused the invoke: the concurrency limit that applies is exhausted."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Rate Exceeded. ({reason})")
        self.reason = reason


class RuntimeStopped(Exception):
    """The local cloud's Lambda runtime is not running (stopped or never installed)."""
