"""Call another Lambda function as a synchronous internal API, with typed errors.

::

    from common_layer.lambda_client import LambdaServiceClient, RemoteError, TransportError

    class NotFound(RemoteError):
        \"\"\"The pricing service knows no such item.\"\"\"

    pricing = LambdaServiceClient(
        os.environ["PRICING_FUNCTION_NAME"], error_types={"NotFound": NotFound}
    )

    try:
        quote = pricing.call("quote", {"items": [{"sku": "MUG-1", "quantity": 2}]})
    except NotFound as error:
        ...  # error.message, error.type, error.request_id
    except TransportError:
        ...  # throttled, timed out, unreachable: the service gave no answer

The wire format (one ``Invoke`` with ``InvocationType=RequestResponse``):

- request: ``{"action": "quote", "version": 1, "payload": {...}}``, plus
  ``"correlation_id"`` when the caller passes one (so both functions' logs share it);
- success: the JSON object the function returns, handed back as a ``dict``;
- failure: the function raises. Lambda answers ``FunctionError: Unhandled`` and the payload
  ``{"errorType": "NotFound", "errorMessage": "...", "stackTrace": [...]}``, where
  ``errorType`` is the name of the exception class the service raised. The type names a
  service raises are part of its contract.

What ``call`` raises (everything derives from :class:`LambdaCallError`):

- the class ``error_types`` maps the ``errorType`` to. A :class:`RemoteError` subclass gets
  the type, message, stack and request id; any other exception class is built with the
  message alone and raised ``from`` a :class:`RemoteError` holding the rest.
- :class:`RemoteError` for an ``errorType`` the mapping does not know (a bug in the service,
  ``Runtime.ExitError``, ``Runtime.ImportModuleError``...). Function errors are never retried:
  the function ran and gave its answer.
- :class:`ServiceTimeout` when the function ran out of time (``Sandbox.Timedout``, "Task
  timed out after ...") or the response did not arrive within ``read_timeout``. Not retried:
  the function may still have done its work, and a second try would likely time out too.
- :class:`ServiceThrottled` when Lambda still answered 429 ``TooManyRequestsException``
  (concurrency exhausted) after ``max_attempts`` tries with exponential backoff and jitter,
  waiting at least the ``retryAfterSeconds`` Lambda suggests (capped at ``backoff_cap``).
- :class:`TransportError` for other failures of the Invoke call itself: Lambda's own
  transient failures (``ServiceException``, 500/503/504, ``EC2ThrottledException``) and
  failures to connect are retried like throttles; errors that retrying cannot fix (no such
  function, access denied, request too large, the function's KMS key or subnet) and a
  connection lost after the request was sent are raised at once.
- :class:`InvalidResponse` when the function returned something other than a JSON object.

The boto3 client is created on the first call, not at import or construction, so a
function that imports this module pays for boto3 only if it calls. Its own retries are
turned off: this module decides what is retried. A client passed in as ``lambda_client``
keeps its own retry settings, which then add to these.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

__all__ = [
    "InvalidResponse",
    "LambdaCallError",
    "LambdaServiceClient",
    "RemoteError",
    "ServiceThrottled",
    "ServiceTimeout",
    "TransportError",
]

log = logging.getLogger(__name__)

# Invoke API errors worth another try: the request was refused before the function ran
# (429) or Lambda itself failed. Most 502s name a configuration fault of the function
# (KMS key, subnet, ENI limit, zip file) that no retry fixes: only these 502s are transient.
THROTTLING_CODES = frozenset({"TooManyRequestsException"})
TRANSIENT_CODES = frozenset(
    {"ServiceException", "EC2ThrottledException", "ResourceNotReadyException"}
)
TRANSIENT_STATUSES = frozenset({500, 503, 504})

# Older runtimes report a timeout with no errorType, only this message.
_TIMED_OUT = re.compile(r"Task timed out after [0-9.]+ seconds")
TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"


class LambdaCallError(Exception):
    """Base of everything :meth:`LambdaServiceClient.call` raises."""

    def __init__(self, message: str, *, function_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.function_name = function_name


class RemoteError(LambdaCallError):
    """The called function raised ``type`` with ``message``.

    ``stack`` is the stack trace the runtime reported (lines of text), ``request_id`` the
    called function's request id (search its logs for it). ``str(error)`` is the message.
    Subclass it per error type of a service's contract and map the type names to the
    subclasses with ``error_types``.
    """

    def __init__(
        self,
        type: str,
        message: str,
        stack: Sequence[str] | None = None,
        *,
        function_name: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, function_name=function_name)
        self.type = type
        self.stack = list(stack) if stack is not None else None
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(type={self.type!r}, message={self.message!r})"


class TransportError(LambdaCallError):
    """The function gave no answer: the Invoke call itself failed.

    ``code`` is the Invoke API's error code (``TooManyRequestsException``,
    ``ResourceNotFoundException``...) or None for a network failure; ``status`` its HTTP
    status; ``attempts`` how many times the call was tried.
    """

    def __init__(
        self,
        message: str,
        *,
        function_name: str | None = None,
        code: str | None = None,
        status: int | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, function_name=function_name)
        self.code = code
        self.status = status
        self.attempts = attempts


class ServiceThrottled(TransportError):
    """Lambda refused every attempt with 429: the function's concurrency is used up.

    ``reason`` is Lambda's, e.g. ``ReservedFunctionConcurrentInvocationLimitExceeded``.
    """

    def __init__(
        self,
        message: str,
        *,
        function_name: str | None = None,
        reason: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(
            message,
            function_name=function_name,
            code="TooManyRequestsException",
            status=429,
            attempts=attempts,
        )
        self.reason = reason


class ServiceTimeout(TransportError):
    """The function ran out of time, or its answer did not arrive within ``read_timeout``."""


class InvalidResponse(LambdaCallError):
    """The function returned something that is not a JSON object."""


class LambdaServiceClient:
    """A synchronous internal API on a Lambda function: ``call(action, payload) -> dict``.

    ``function_name``: name, ARN or partial ARN, optionally with ``:alias``/``:version``.
    ``error_types``: the service's error type names mapped to exception classes.
    ``max_attempts``: tries per call when Lambda throttles or fails transiently (>= 1).
    ``backoff_base`` / ``backoff_cap``: seconds; the n-th retry waits a random time up to
    ``min(cap, base * 2**(n-1))``, and at least Lambda's ``retryAfterSeconds`` (capped).
    ``read_timeout``: seconds to wait for the answer (botocore's 60 when None); keep it
    above the called function's Timeout. Used only for the client this creates.
    """

    def __init__(
        self,
        function_name: str,
        *,
        lambda_client: LambdaClient | None = None,
        error_types: Mapping[str, type[Exception]] | None = None,
        max_attempts: int = 3,
        backoff_base: float = 0.1,
        backoff_cap: float = 2.0,
        read_timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not function_name:
            raise ValueError("function_name must not be empty")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if backoff_base < 0 or backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must not be negative")
        self.function_name = function_name
        self.error_types: dict[str, type[Exception]] = dict(error_types or {})
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.read_timeout = read_timeout
        self._client = lambda_client
        self._sleep = sleep
        self._jitter = jitter

    @property
    def lambda_client(self) -> LambdaClient:
        """The boto3 Lambda client, created on first use and then reused."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            options: dict[str, Any] = {"retries": {"total_max_attempts": 1}}
            if self.read_timeout is not None:
                options["read_timeout"] = self.read_timeout
            self._client = boto3.client("lambda", config=Config(**options))
        return self._client

    def call(
        self,
        action: str,
        payload: Mapping[str, Any],
        version: int = 1,
        *,
        correlation_id: str | None = None,
    ) -> dict[str, Any]:
        """Invoke the service with ``{"action", "version", "payload"}``; return its answer.

        Raises the mapped exception, :class:`RemoteError`, :class:`TransportError` (and its
        :class:`ServiceThrottled` / :class:`ServiceTimeout`) or :class:`InvalidResponse`;
        see the module docstring for which and when.
        """
        request: dict[str, Any] = {"action": action, "version": version, "payload": payload}
        if correlation_id is not None:
            request["correlation_id"] = correlation_id
        body = json.dumps(request, separators=(",", ":")).encode()
        response = self._invoke(body)
        raw = response["Payload"].read()
        request_id = _request_id(response)
        if response.get("FunctionError"):
            raise self._function_error(raw, request_id)
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = raw
        if not isinstance(answer, dict):
            raise InvalidResponse(
                f"{self.function_name} returned {_preview(raw)}, not a JSON object",
                function_name=self.function_name,
            )
        return answer

    # -- the Invoke call and its retries ---------------------------------------------------

    def _invoke(self, body: bytes) -> Mapping[str, Any]:
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                return self.lambda_client.invoke(
                    FunctionName=self.function_name,
                    InvocationType="RequestResponse",
                    Payload=body,
                )
            except ClientError as error:
                failure = self._transport_error(error, attempt)
                retryable = _retryable(failure)
                retry_after = _retry_after(error)
            except ConnectionError as error:
                # Connecting failed (or timed out): the request never reached Lambda.
                failure = self._network_error(error, attempt)
                retryable = True
            except HTTPClientError as error:
                # The request was sent and the answer lost (read timeout, connection closed):
                # the function may have run, so it is not repeated.
                failure = self._network_error(error, attempt)
                retryable = False
            if not retryable or attempt == self.max_attempts:
                raise failure
            delay = self._delay(attempt, retry_after)
            log.warning(
                "invoke of %s failed (%s), retry %d of %d in %.2fs",
                self.function_name,
                failure.code or type(failure.__cause__).__name__,
                attempt,
                self.max_attempts - 1,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _network_error(self, error: Exception, attempt: int) -> TransportError:
        from botocore.exceptions import ReadTimeoutError

        failure: TransportError
        if isinstance(error, ReadTimeoutError):
            failure = ServiceTimeout(
                f"no answer from {self.function_name} within the read timeout",
                function_name=self.function_name,
                attempts=attempt,
            )
        else:
            failure = TransportError(
                f"could not invoke {self.function_name}: {error}",
                function_name=self.function_name,
                attempts=attempt,
            )
        failure.__cause__ = error
        return failure

    def _transport_error(self, error: Any, attempt: int) -> TransportError:
        response = error.response
        code = str(response.get("Error", {}).get("Code") or "") or None
        message = str(response.get("Error", {}).get("Message") or "") or str(error)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        failure: TransportError
        if code in THROTTLING_CODES or status == 429:
            reason = response.get("Reason")
            failure = ServiceThrottled(
                f"{self.function_name} is throttled ({reason or message}) "
                f"after {attempt} attempt{'s' if attempt > 1 else ''}",
                function_name=self.function_name,
                reason=str(reason) if reason else None,
                attempts=attempt,
            )
        else:
            failure = TransportError(
                f"invoke of {self.function_name} failed: {code}: {message}",
                function_name=self.function_name,
                code=code,
                status=status if isinstance(status, int) else None,
                attempts=attempt,
            )
        failure.__cause__ = error
        return failure

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter (AWS Architecture Blog), never shorter than Lambda's Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        delay = ceiling * self._jitter()
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        return delay

    # -- function errors -------------------------------------------------------------------

    def _function_error(self, raw: bytes, request_id: str | None) -> Exception:
        try:
            details = json.loads(raw)
        except ValueError:
            details = None
        if not isinstance(details, dict):
            details = {"errorMessage": raw.decode("utf-8", "replace")}
        error_type = str(details.get("errorType") or "")
        message = str(details.get("errorMessage") or "")
        stack = details.get("stackTrace")
        stack_lines = [str(line) for line in stack] if isinstance(stack, list) else None
        request_id = str(details.get("requestId") or "") or request_id
        if error_type == TIMEOUT_ERROR_TYPE or (not error_type and _TIMED_OUT.search(message)):
            return ServiceTimeout(
                f"{self.function_name} timed out: {message}",
                function_name=self.function_name,
                code=TIMEOUT_ERROR_TYPE,
            )
        error_type = error_type or "UnknownError"
        remote = RemoteError(
            error_type,
            message,
            stack_lines,
            function_name=self.function_name,
            request_id=request_id,
        )
        mapped = self.error_types.get(error_type)
        if mapped is None:
            return remote
        if issubclass(mapped, RemoteError):
            return mapped(
                error_type,
                message,
                stack_lines,
                function_name=self.function_name,
                request_id=request_id,
            )
        error = mapped(message)
        error.__cause__ = remote
        return error


def _retryable(failure: TransportError) -> bool:
    if isinstance(failure, ServiceThrottled):
        return True
    return failure.code in TRANSIENT_CODES or failure.status in TRANSIENT_STATUSES


def _retry_after(error: Any) -> float | None:
    """Lambda's ``retryAfterSeconds`` (the Retry-After header) of a 429, in seconds."""
    response = error.response
    raw = response.get("retryAfterSeconds")
    if raw is None:
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        raw = headers.get("retry-after")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def _request_id(response: Mapping[str, Any]) -> str | None:
    metadata = response.get("ResponseMetadata")
    if isinstance(metadata, Mapping):
        value = metadata.get("RequestId")
        return str(value) if value else None
    return None


def _preview(raw: bytes, limit: int = 80) -> str:
    text = raw.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")
