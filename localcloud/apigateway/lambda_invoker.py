"""The port through which the gateway calls Lambda, and its adapter onto moto.

The gateway needs four answers from a synchronous invoke: the payload, whether the function
failed, whether Lambda throttled the call, and whether Lambda refused it outright. The adapter
calls the Lambda backend in-process (the local cloud's runtime replaces moto's Docker invoke
underneath it); tests inject any other :class:`LambdaInvoker`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from localcloud.apigateway.integration_uri import IntegrationConfigError, split_function_arn

log = logging.getLogger("localcloud.apigateway")

# Lambda's synchronous invocation quotas: 6 MB of request and of response payload.
MAX_SYNC_REQUEST_BYTES = 6 * 1024 * 1024
MAX_SYNC_RESPONSE_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class InvocationResult:
    payload: bytes
    # "Handled"/"Unhandled" as in Lambda's X-Amz-Function-Error header; None on success.
    function_error: str | None = None


class LambdaRejected(Exception):
    """Lambda refused the invoke (unknown function, payload too large...): AWS answers 500."""


class LambdaThrottled(LambdaRejected):
    """Lambda answered 429 TooManyRequestsException (concurrency exhausted)."""


class LambdaInvoker(Protocol):
    def invoke(
        self, function_arn: str, payload: bytes, trace_header: str | None = None
    ) -> InvocationResult:
        """Invoke synchronously (RequestResponse); raise :class:`LambdaRejected` on refusal.

        ``trace_header`` is the request's X-Amzn-Trace-Id, which API Gateway hands on so the
        function's segment joins the request's trace.
        """
        ...


def _moto_lambda_backend(account_id: str, region: str) -> Any:
    # moto's own Lambda API resolves its backend this way (lambda-simple when Docker is off).
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


def _is_throttle(error: Exception) -> bool:
    # moto REST errors carry the HTTP status in ``code``, service exceptions carry the error
    # name there, and the local Lambda runtime raises its own ``Throttled``: accept all three.
    code = getattr(error, "code", None)
    error_type = str(getattr(error, "error_type", "") or "")
    names = f"{code}{error_type}{type(error).__name__}"
    return code == 429 or "TooManyRequests" in names or "Throttled" in names


class MotoLambdaInvoker:
    """Invokes through moto's Lambda backend in this process."""

    def __init__(self, backend_for: Callable[[str, str], Any] = _moto_lambda_backend) -> None:
        self._backend_for = backend_for

    def invoke(
        self, function_arn: str, payload: bytes, trace_header: str | None = None
    ) -> InvocationResult:
        if len(payload) > MAX_SYNC_REQUEST_BYTES:
            raise LambdaRejected(
                f"RequestEntityTooLargeException: the event is {len(payload)} bytes, Lambda "
                f"accepts at most {MAX_SYNC_REQUEST_BYTES} for a synchronous invoke"
            )
        try:
            account, region, _, _ = split_function_arn(function_arn)
        except IntegrationConfigError as error:
            raise LambdaRejected(str(error)) from error
        backend = self._backend_for(account, region)
        request_headers = {"x-amz-invocation-type": "RequestResponse"}
        if trace_header:
            request_headers["X-Amzn-Trace-Id"] = trace_header
        response_headers: dict[str, str] = {}
        try:
            result = backend.invoke(
                function_arn, None, payload.decode("utf-8"), request_headers, response_headers
            )
        except Exception as error:
            if _is_throttle(error):
                raise LambdaThrottled(str(error)) from error
            raise LambdaRejected(f"{type(error).__name__}: {error}") from error
        if result is None:
            raise LambdaRejected(f"Lambda returned no response for {function_arn}")
        data = result if isinstance(result, bytes) else str(result).encode("utf-8")
        if len(data) > MAX_SYNC_RESPONSE_BYTES:
            # What Lambda itself answers for an oversized response: a function error.
            too_large = {
                "errorMessage": f"Response payload size ({len(data)} bytes) exceeded maximum "
                f"allowed payload size ({MAX_SYNC_RESPONSE_BYTES} bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            }
            return InvocationResult(json.dumps(too_large).encode(), "Unhandled")
        function_error = {k.lower(): v for k, v in response_headers.items()}.get(
            "x-amz-function-error"
        )
        return InvocationResult(data, function_error or None)
