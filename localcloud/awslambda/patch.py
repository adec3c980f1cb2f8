"""The one place where the local cloud reaches into moto's Lambda internals.

moto (pinned to 5.2.5) runs a function in Docker from ``LambdaFunction._invoke_lambda``,
called by ``LambdaFunction.invoke``, which every path into Lambda goes through: the Invoke
API (``LambdaResponse.invoke`` -> ``LambdaBackend.invoke``), and moto's own event sources
(SQS, DynamoDB Streams, S3 notifications, SNS, Logs subscriptions). What is replaced here,
in ``moto/awslambda/models.py`` and ``moto/awslambda/responses.py``:

- ``LambdaFunction._invoke_lambda(event) -> (payload, errored, logs)``: runs the handler on
  the local runtime instead of Docker (kept for any caller of the old contract);
- ``LambdaFunction.invoke(body, request_headers, response_headers)``: moto's version marks
  every error ``Handled`` and cannot throttle; ours sets ``X-Amz-Function-Error: Unhandled``,
  ``X-Amz-Log-Result``, ``X-Amz-Executed-Version``, answers 429 when concurrency is
  exhausted, does not run ``DryRun`` and hands ``Event`` invokes to the async dispatcher;
- ``LambdaResponse.invoke``: wrapped to mark "this is the Invoke API", the caller that gets
  a 429 rather than waiting for capacity, and to hand moto the ``Qualifier`` it misreads;
- ``LambdaResponse._enrich_response``: keeps the invocation's request id in
  ``x-amzn-RequestId`` where moto would put a random one;
- ``LambdaBackend.delete_function``, ``LambdaFunction.update_function_code`` and
  ``LambdaFunction.update_configuration``: wrapped to retire outdated workers.

This module also reads moto's function and layer objects into :class:`FunctionConfig`.
moto internals change between releases: the tests in ``tests/localcloud/test_lambda_*.py``
are what tells an upgrade broke something here.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from moto.core.exceptions import JsonRESTError

from localcloud.awslambda.model import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    ArtifactRef,
    FunctionConfig,
    InvokeRequest,
    RuntimeStopped,
    Throttled,
)
from localcloud.awslambda.runtime import LambdaRuntime

log = logging.getLogger("localcloud.awslambda")

# The same variable moto reads for its account quota when validating reservations.
ACCOUNT_QUOTA_ENV = "MOTO_LAMBDA_CONCURRENCY_QUOTA"

_originals: dict[str, Any] = {}
_apply_lock = threading.Lock()
_logs_lock = threading.Lock()
# True while the Invoke API itself is being served (LambdaResponse.invoke).
_invoke_api_call: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "localcloud_lambda_invoke_api", default=False
)
_runtime_getter: Callable[[], LambdaRuntime] | None = None


class TooManyRequestsException(JsonRESTError):
    """AWS's 429 for a synchronous invoke beyond the concurrency limit."""

    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.reason = reason
        # The exact body Lambda sends; botocore reads Reason and Type from it.
        self.description = json.dumps(
            {"Reason": reason, "Type": "User", "message": "Rate Exceeded."}
        )


class LambdaServiceUnavailable(JsonRESTError):
    code = 500

    def __init__(self, message: str) -> None:
        super().__init__("ServiceException", message)


# -- reading moto's objects ---------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() if data else ""


def _layer_ref(layer: Any, account_id: str, region: str) -> ArtifactRef:
    """A layer as the function config holds it: an ARN, ``{"Arn": ...}`` or the object."""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import lambda_backends

    if hasattr(layer, "code_bytes"):
        version = layer
        arn = str(getattr(layer, "arn", ""))
    else:
        arn = str(layer.get("Arn", "")) if isinstance(layer, Mapping) else str(layer)
        parts = arn.split(":")
        # arn:aws:lambda:<region>:<account>:layer:<name>:<version>
        if len(parts) == 8 and parts[5] == "layer":
            region, account_id = parts[3], parts[4]
        version = lambda_backends[account_id][region].layers_versions_by_arn(arn)
        if version is None:
            raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
    digest = str(getattr(version, "code_digest", "") or "") or _digest(version.code_bytes)
    return ArtifactRef(digest=digest, load=lambda: bytes(version.code_bytes), label=arn)


def _unreserved_concurrency(fn: Any, quota: int) -> int:
    """The account quota minus every other function's reservation (AWS's unreserved pool)."""
    from moto.awslambda.models import lambda_backends

    reserved = 0
    try:
        for other in lambda_backends[fn.account_id][fn.region].list_functions():
            if other.function_name != fn.function_name and other.reserved_concurrency:
                reserved += int(other.reserved_concurrency)
    except Exception:  # a backend mid-reset must not fail the invoke
        log.debug("could not sum reserved concurrency", exc_info=True)
    return max(0, quota - reserved)


def _reserved_concurrency(fn: Any) -> int | None:
    """The reservation set on the function: published versions share their function's."""
    from moto.awslambda.models import lambda_backends

    value = fn.reserved_concurrency
    if str(fn.version) != "$LATEST":
        try:
            latest = lambda_backends[fn.account_id][fn.region].get_function(fn.function_name)
            value = latest.reserved_concurrency
        except Exception:
            log.debug("no $LATEST for %s", fn.function_name, exc_info=True)
    if value is None or value == "":
        return None
    return int(value)


def function_config(fn: Any) -> FunctionConfig:
    """A moto ``LambdaFunction`` as the runtime needs it."""
    quota = int(os.environ.get(ACCOUNT_QUOTA_ENV) or DEFAULT_ACCOUNT_CONCURRENCY)
    code_bytes: bytes = getattr(fn, "code_bytes", b"") or b""
    code_digest = str(getattr(fn, "code_digest", "") or "") or _digest(code_bytes)
    tracing = fn.tracing_config if isinstance(fn.tracing_config, Mapping) else {}
    return FunctionConfig(
        account_id=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        version=str(fn.version),
        arn=fn.function_arn,
        handler=str(fn.handler or ""),
        runtime=str(fn.run_time or ""),
        timeout=float(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        code=ArtifactRef(digest=code_digest, load=lambda: code_bytes, label=fn.function_name),
        layers=tuple(_layer_ref(layer, fn.account_id, fn.region) for layer in fn.layers or []),
        package_type=str(fn.package_type or "Zip"),
        tracing_active=tracing.get("Mode") == "Active",
        reserved_concurrency=_reserved_concurrency(fn),
        unreserved_concurrency=_unreserved_concurrency(fn, quota),
    )


def write_logs(
    account_id: str, region: str, group: str, stream: str, events: list[tuple[int, str]]
) -> None:
    """Append one invocation's events to CloudWatch Logs, creating group and stream."""
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    with _logs_lock:
        backend.ensure_log_group(group)
        backend.ensure_log_stream(group, stream)
    # Outside the lock: a subscription filter on the group may invoke a function, whose own
    # logs come back here.
    backend.put_log_events(group, stream, [{"timestamp": t, "message": m} for t, m in events])


# -- the replacements ---------------------------------------------------------------------


def _runtime() -> LambdaRuntime:
    if _runtime_getter is None:
        raise LambdaServiceUnavailable("the local cloud's Lambda runtime is not installed")
    try:
        return _runtime_getter()
    except RuntimeStopped as error:
        raise LambdaServiceUnavailable(str(error)) from error


def _header(headers: Any, name: str) -> str | None:
    """A request header from werkzeug's headers or the plain dict moto's own callers pass."""
    if not headers:
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value)
    return None


def _client_context(headers: Any) -> str | None:
    encoded = _header(headers, "x-amz-client-context")
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _payload(body: Any) -> bytes:
    if body is None or body == "":
        return b"{}"
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


REQUEST_ID_HEADER = "x-amzn-requestid"


def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """moto's Docker entry point, answered by the local runtime."""
    result = _runtime().invoke(function_config(self), InvokeRequest(payload=_payload(event)))
    logs = base64.b64decode(result.log_tail).decode("utf-8", "replace")
    return result.payload.decode("utf-8", "replace"), result.function_error is not None, logs


def _invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    invocation_type = _header(request_headers, "x-amz-invocation-type") or "RequestResponse"
    if invocation_type == "DryRun":
        # DryRun only validates the request; the function does not run.
        return b""
    request = InvokeRequest(
        payload=_payload(body),
        client_context=_client_context(request_headers),
        trace_header=_header(request_headers, "x-amzn-trace-id"),
    )
    config = function_config(self)
    runtime = _runtime()
    if invocation_type == "Event":
        request_id = runtime.invoke_async(config, request)
        if request_id:
            response_headers[REQUEST_ID_HEADER] = request_id
        return b""
    # Callers of the Invoke API (and of the backend with an explicit RequestResponse, like
    # the API Gateway data plane) are throttled; moto's event sources, which pass no
    # headers, wait for capacity as Lambda's pollers do.
    throttle = _invoke_api_call.get() or _header(request_headers, "x-amz-invocation-type") == (
        "RequestResponse"
    )
    try:
        result = runtime.invoke(config, request, throttle=throttle)
    except Throttled as error:
        raise TooManyRequestsException(error.reason) from None
    except RuntimeStopped as error:
        raise LambdaServiceUnavailable(str(error)) from error
    response_headers[REQUEST_ID_HEADER] = result.request_id
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    # moto's response drops the header unless the caller asked for LogType=Tail.
    response_headers["x-amz-log-result"] = result.log_tail
    response_headers["x-amz-executed-version"] = result.executed_version
    return result.payload


def _api_invoke(self: Any) -> Any:
    # moto reads the version/alias with _get_param("qualifier"), but the query string says
    # "Qualifier": it would always invoke $LATEST, or take a "qualifier" key of the event
    # payload instead. Give it the query string's value (None when absent).
    qualifier = (self.querystring.get("Qualifier") or [None])[0]
    self.querystring["qualifier"] = [qualifier]
    token = _invoke_api_call.set(True)
    try:
        return _originals["LambdaResponse.invoke"](self)
    finally:
        _invoke_api_call.reset(token)


def _enrich_lambda_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    # moto stamps every response with a random request id; the Invoke API answers with the
    # invocation's own, the aws_request_id the function sees (and, for Event, the requestId
    # of the invocation record an on-failure destination gets).
    invocation_request_id = headers.get(REQUEST_ID_HEADER)
    headers, body = _originals["LambdaResponse._enrich_response"](headers, body)
    if invocation_request_id:
        headers[REQUEST_ID_HEADER] = invocation_request_id
    return headers, body


def _refresh(fn: Any) -> None:
    if _runtime_getter is None:
        return
    try:
        _runtime_getter().refresh(function_config(fn))
    except Exception:  # retiring early is an optimisation: the next invoke retires too
        log.debug("could not refresh workers of %s", fn.function_name, exc_info=True)


def _update_function_code(self: Any, updated_spec: dict[str, Any]) -> Any:
    result = _originals["LambdaFunction.update_function_code"](self, updated_spec)
    _refresh(self)
    return result


def _update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
    result = _originals["LambdaFunction.update_configuration"](self, config_updates)
    _refresh(self)
    return result


def _delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
    # moto deletes one version when a qualifier is given (argument, "name:qualifier" or a
    # qualified ARN), every version otherwise.
    qualified = bool(qualifier) or ":" in function_name.split(":function:")[-1]
    try:
        fn = self.get_function(function_name, qualifier)
    except Exception:
        fn = None
    _originals["LambdaBackend.delete_function"](self, function_name, qualifier)
    if fn is not None and _runtime_getter is not None:
        try:
            runtime = _runtime_getter()
        except RuntimeStopped:
            return
        version = str(fn.version) if qualified else None
        runtime.retire(self.account_id, self.region_name, fn.function_name, version)


def apply(runtime_getter: Callable[[], LambdaRuntime]) -> None:
    """Install the replacements once per process; later calls only change the runtime."""
    global _runtime_getter
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    with _apply_lock:
        _runtime_getter = runtime_getter
        if _originals:
            return
        _originals["LambdaFunction._invoke_lambda"] = LambdaFunction._invoke_lambda
        _originals["LambdaFunction.invoke"] = LambdaFunction.invoke
        _originals["LambdaFunction.update_function_code"] = LambdaFunction.update_function_code
        _originals["LambdaFunction.update_configuration"] = LambdaFunction.update_configuration
        _originals["LambdaBackend.delete_function"] = LambdaBackend.delete_function
        _originals["LambdaResponse.invoke"] = LambdaResponse.invoke
        _originals["LambdaResponse._enrich_response"] = LambdaResponse._enrich_response
        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
        LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
        LambdaFunction.update_function_code = _update_function_code  # type: ignore[method-assign]
        LambdaFunction.update_configuration = _update_configuration  # type: ignore[method-assign]
        LambdaBackend.delete_function = _delete_function  # type: ignore[method-assign]
        LambdaResponse.invoke = _api_invoke  # type: ignore[method-assign]
        LambdaResponse._enrich_response = staticmethod(_enrich_lambda_response)  # type: ignore[method-assign]
