"""Lambda in the local cloud: functions run as real ``awslambdaric`` processes, no Docker.

``install(settings)`` plugs a :class:`LambdaRuntime` into moto (see :mod:`.patch`) and returns
the hook that stops every worker process. From then on every invoke moto receives (the
Invoke API, its event sources) runs the function's handler in a warm pool of workers that
speak the Lambda Runtime API (:mod:`.runtime_api`), each with the function's environment
variables, code and layers (:mod:`.workers`, :mod:`.artifacts`), its timeout, its reserved
concurrency, and its logs in CloudWatch Logs ``/aws/lambda/<function>`` (:mod:`.runtime`).

Other parts of the local cloud invoke functions with :func:`invoke_function` (or
``get_runtime().invoke(...)``), which takes moto's function object; an ``Event`` invoke is
handed to ``get_runtime().async_dispatcher``: Lambda's internal queue with its retries,
dead-letter queues and destinations (:mod:`.async_invoke`, :mod:`.destinations`). SNS
delivers to Lambda subscriptions through that queue (:mod:`.sns`), and so do CloudWatch Logs
subscription filters (:mod:`.logs`). Every invocation
consults the fault switch (:mod:`.faults`, admin API ``/_localcloud/faults``).

Settings from the environment: ``MOTO_LAMBDA_CONCURRENCY_QUOTA`` (the account's concurrency
quota, default 1000, the variable moto itself reads) and ``LOCALCLOUD_LAMBDA_IDLE_SECONDS``
(how long an idle execution environment is kept, default 600); the asynchronous queue's
settings are described in :mod:`.async_invoke`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from localcloud.awslambda.model import (
    ACCOUNT_LIMIT_EXCEEDED,
    RESERVED_LIMIT_EXCEEDED,
    FunctionConfig,
    InvokeRequest,
    InvokeResult,
    RuntimeStopped,
    Throttled,
)
from localcloud.awslambda.runtime import DEFAULT_IDLE_SECONDS, LambdaRuntime
from localcloud.awslambda.workers import ExecuteApiHttps
from localcloud.settings import CloudSettings

__all__ = [
    "ACCOUNT_LIMIT_EXCEEDED",
    "RESERVED_LIMIT_EXCEEDED",
    "FunctionConfig",
    "InvokeRequest",
    "InvokeResult",
    "LambdaRuntime",
    "RuntimeStopped",
    "Throttled",
    "get_runtime",
    "install",
    "invoke_function",
]

log = logging.getLogger("localcloud.awslambda")

# Seconds an execution environment may stay idle before it is reclaimed (default 600).
IDLE_SECONDS_ENV = "LOCALCLOUD_LAMBDA_IDLE_SECONDS"

# moto's state is global to the process, so one runtime serves it at a time: the most
# recently installed one still running (a test may start a second local cloud briefly).
_runtimes: list[LambdaRuntime] = []
_runtimes_lock = threading.Lock()


def get_runtime() -> LambdaRuntime:
    """The running Lambda runtime of this process."""
    with _runtimes_lock:
        if not _runtimes:
            raise RuntimeStopped("the local cloud's Lambda runtime is not running")
        return _runtimes[-1]


def invoke_function(fn: Any, request: InvokeRequest, *, throttle: bool = False) -> InvokeResult:
    """Invoke moto's ``LambdaFunction`` ``fn`` synchronously on the local runtime.

    ``throttle=True`` raises :class:`Throttled` past the concurrency limit (what the Invoke
    API answers with 429); the default waits for a free slot, as Lambda's pollers do.
    """
    from localcloud.awslambda.patch import function_config

    return get_runtime().invoke(function_config(fn), request, throttle=throttle)


def _execute_api_https(settings: CloudSettings) -> ExecuteApiHttps | None:
    """API Gateway's HTTPS address for workers, when the local cloud serves one."""
    from localcloud.apigateway.https_endpoint import tls_files

    if not settings.execute_api_https_port:
        return None
    return ExecuteApiHttps(
        address=f"127.0.0.1:{settings.execute_api_https_port}",
        ca_bundle=tls_files(settings.tls_dir).ca_bundle,
    )


def install(settings: CloudSettings) -> Callable[[], None]:
    """Run Lambda functions of this process's moto on local workers; returns the stop hook."""
    from localcloud.awslambda import destinations, logs, patch, sns
    from localcloud.awslambda.async_invoke import AsyncInvoker
    from localcloud.awslambda.faults import FAULTS

    idle = float(os.environ.get(IDLE_SECONDS_ENV) or DEFAULT_IDLE_SECONDS)
    runtime = LambdaRuntime(
        settings.state_dir / "lambda",
        settings.endpoint_url,
        log_writer=patch.write_logs,
        idle_seconds=idle,
        faults=FAULTS,
        execute_api_https=_execute_api_https(settings),
    )
    FAULTS.resolve_alias = destinations.alias_version
    runtime.start()
    invoker = AsyncInvoker(runtime.invoke, destinations.MotoAsyncBackend())
    runtime.async_dispatcher = invoker
    with _runtimes_lock:
        _runtimes.append(runtime)
    patch.apply(get_runtime)
    destinations.apply()
    sns.apply()
    logs.apply()

    def shutdown() -> None:
        with _runtimes_lock:
            if runtime in _runtimes:
                _runtimes.remove(runtime)
        invoker.stop()
        runtime.stop()

    return shutdown
