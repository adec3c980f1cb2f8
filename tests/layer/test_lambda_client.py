"""common_layer.lambda_client: a synchronous internal API over Lambda Invoke, typed errors.

Most tests drive the client through a fake Lambda client (the port); botocore's Stubber
and moto check that the real client's responses and errors are read the same way.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from common_layer.lambda_client import (
    InvalidResponse,
    LambdaCallError,
    LambdaServiceClient,
    RemoteError,
    ServiceThrottled,
    ServiceTimeout,
    TransportError,
)
from layer_helpers import python_env, run_python
from moto import mock_aws

FUNCTION = "pricing-service"
STACK = ['  File "/var/task/pricing/handler.py", line 12, in lambda_handler\n']


class NotFound(RemoteError):
    """A contract error type as a RemoteError subclass."""


class ValidationFailed(RemoteError):
    pass


class PlainNotFound(LookupError):
    """A caller's own exception class, not derived from RemoteError."""


class FakeLambda:
    """Plays the Invoke API: each call takes the next outcome (a response or an exception)."""

    def __init__(self, *outcomes: dict[str, Any] | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def sent(self, n: int = 0) -> dict[str, Any]:
        return json.loads(self.calls[n]["Payload"])


def answer(body: Any, *, raw: bytes | None = None, request_id: str = "req-1") -> dict[str, Any]:
    """A RequestResponse invoke that returned ``body``."""
    payload = raw if raw is not None else json.dumps(body).encode()
    return {
        "StatusCode": 200,
        "Payload": io.BytesIO(payload),
        "ExecutedVersion": "$LATEST",
        "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": 200},
    }


def function_error(error_type: str | None, message: str, **extra: Any) -> dict[str, Any]:
    """What Invoke returns when the handler raised: FunctionError and the runtime's payload."""
    body: dict[str, Any] = {"errorMessage": message, **extra}
    if error_type is not None:
        body["errorType"] = error_type
    response = answer(body)
    response["FunctionError"] = "Unhandled"
    return response


def client_error(code: str, status: int, message: str = "", **fields: Any) -> ClientError:
    """An Invoke API error as botocore raises it (modeled fields at the top level)."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": message or code},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
            **fields,
        },
        "Invoke",
    )


def throttle(reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded") -> ClientError:
    return client_error(
        "TooManyRequestsException", 429, "Rate Exceeded.", Reason=reason, Type="User"
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Callable[..., LambdaServiceClient]:
    """A client on a fake Lambda whose backoff sleeps are recorded, not slept."""

    def make(fake: FakeLambda, **options: Any) -> LambdaServiceClient:
        options.setdefault("jitter", lambda: 1.0)
        return LambdaServiceClient(FUNCTION, lambda_client=fake, sleep=sleeps.append, **options)

    return make


# --- the request and a successful answer ----------------------------------------------------


def test_call_sends_the_versioned_envelope_as_a_request_response_invoke(make_client):
    fake = FakeLambda(answer({"total_cents": 2500}))

    result = make_client(fake).call("quote", {"items": [{"sku": "MUG", "quantity": 2}]})

    assert result == {"total_cents": 2500}
    assert fake.calls[0]["FunctionName"] == FUNCTION
    assert fake.calls[0]["InvocationType"] == "RequestResponse"
    assert fake.sent() == {
        "action": "quote",
        "version": 1,
        "payload": {"items": [{"sku": "MUG", "quantity": 2}]},
    }


def test_version_and_correlation_id_travel_in_the_envelope(make_client):
    fake = FakeLambda(answer({}), answer({}))
    client = make_client(fake)

    client.call("quote", {}, version=2, correlation_id="corr-9")
    client.call("quote", {})

    assert fake.sent(0) == {
        "action": "quote",
        "version": 2,
        "payload": {},
        "correlation_id": "corr-9",
    }
    assert "correlation_id" not in fake.sent(1)


@pytest.mark.parametrize("raw", [b"null", b"[1, 2]", b'"text"', b"42", b"not json", b""], ids=repr)
def test_an_answer_that_is_not_a_json_object_is_invalid_response(make_client, raw):
    """The contract is JSON object in, JSON object out; anything else is a broken service."""
    fake = FakeLambda(answer(None, raw=raw))

    with pytest.raises(InvalidResponse) as raised:
        make_client(fake).call("quote", {})

    assert FUNCTION in str(raised.value)
    assert isinstance(raised.value, LambdaCallError)
    assert len(fake.calls) == 1


# --- function errors: typed, never retried --------------------------------------------------


def test_a_function_error_becomes_the_mapped_remote_error_subclass(make_client):
    """Lambda reports a raised exception as FunctionError Unhandled with errorType set to the
    exception's class name; the client raises the class mapped to that name."""
    fake = FakeLambda(
        function_error("NotFound", "unknown sku 'MUG'", stackTrace=STACK, requestId="req-42")
    )
    client = make_client(fake, error_types={"NotFound": NotFound})

    with pytest.raises(NotFound) as raised:
        client.call("quote", {})

    error = raised.value
    assert str(error) == "unknown sku 'MUG'"
    assert error.message == "unknown sku 'MUG'"
    assert error.type == "NotFound"
    assert error.stack == STACK
    assert error.request_id == "req-42"
    assert error.function_name == FUNCTION


def test_a_function_error_mapped_to_a_plain_exception_keeps_the_details_as_its_cause(
    make_client,
):
    fake = FakeLambda(function_error("NotFound", "unknown sku 'MUG'", stackTrace=STACK))
    client = make_client(fake, error_types={"NotFound": PlainNotFound})

    with pytest.raises(PlainNotFound) as raised:
        client.call("quote", {})

    assert str(raised.value) == "unknown sku 'MUG'"
    cause = raised.value.__cause__
    assert isinstance(cause, RemoteError)
    assert (cause.type, cause.stack) == ("NotFound", STACK)


def test_an_unmapped_error_type_is_a_remote_error_naming_the_type(make_client):
    fake = FakeLambda(function_error("KeyError", "'price'", stackTrace=STACK))
    client = make_client(fake, error_types={"NotFound": NotFound})

    with pytest.raises(RemoteError) as raised:
        client.call("quote", {})

    assert type(raised.value) is RemoteError
    assert raised.value.type == "KeyError"
    assert raised.value.message == "'price'"
    assert raised.value.request_id == "req-1"  # from the response when the payload has none


@pytest.mark.parametrize(
    "error_type", ["ValidationFailed", "Unavailable", "Runtime.ExitError", "Exception"]
)
def test_function_errors_are_never_retried(make_client, sleeps, error_type):
    """The function ran and answered: trying again would repeat its work for the same answer."""
    fake = FakeLambda(function_error(error_type, "no"), answer({"ok": True}))
    client = make_client(fake, error_types={"ValidationFailed": ValidationFailed})

    with pytest.raises(RemoteError):
        client.call("quote", {})

    assert len(fake.calls) == 1
    assert sleeps == []


def test_a_handled_function_error_is_treated_like_an_unhandled_one(make_client):
    response = function_error("NotFound", "gone")
    response["FunctionError"] = "Handled"

    with pytest.raises(NotFound):
        make_client(FakeLambda(response), error_types={"NotFound": NotFound}).call("q", {})


def test_an_error_payload_that_is_not_json_is_still_a_remote_error(make_client):
    response = answer(None, raw=b"Internal failure")
    response["FunctionError"] = "Unhandled"

    with pytest.raises(RemoteError) as raised:
        make_client(FakeLambda(response)).call("quote", {})

    assert raised.value.type == "UnknownError"
    assert raised.value.message == "Internal failure"


# --- timeouts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "message"),
    [
        ("Sandbox.Timedout", "RequestId: 3f1c Error: Task timed out after 5.00 seconds"),
        (None, "2026-11-23T10:00:00.000Z 3f1c Task timed out after 5.01 seconds"),
    ],
    ids=["errorType", "message-only"],
)
def test_a_function_timeout_is_a_service_timeout_and_not_retried(
    make_client, sleeps, error_type, message
):
    """A function past its Timeout is stopped by Lambda, which reports Sandbox.Timedout
    (older runtimes: only the "Task timed out after" message) as an Unhandled error."""
    fake = FakeLambda(function_error(error_type, message), answer({}))

    with pytest.raises(ServiceTimeout) as raised:
        make_client(fake).call("quote", {})

    assert isinstance(raised.value, TransportError)
    assert "Task timed out after" in str(raised.value)
    assert len(fake.calls) == 1
    assert sleeps == []


def test_a_read_timeout_is_a_service_timeout_and_not_retried(make_client, sleeps):
    """The request reached Lambda, so the function may be running: no second invoke."""
    fake = FakeLambda(ReadTimeoutError(endpoint_url="https://lambda"), answer({}))

    with pytest.raises(ServiceTimeout):
        make_client(fake).call("quote", {})

    assert len(fake.calls) == 1
    assert sleeps == []


# --- throttling and transient failures: bounded retries with backoff -----------------------


def test_throttled_calls_are_retried_with_growing_backoff_until_one_succeeds(make_client, sleeps):
    """Lambda answers 429 TooManyRequestsException when the function's concurrency is used
    up; nothing ran, so the call is safe to repeat after a wait."""
    fake = FakeLambda(throttle(), throttle(), answer({"total_cents": 10}))

    result = make_client(fake, backoff_base=0.1, backoff_cap=5.0).call("quote", {})

    assert result == {"total_cents": 10}
    assert len(fake.calls) == 3
    assert sleeps == pytest.approx([0.1, 0.2])
    assert fake.sent(0) == fake.sent(2)


def test_throttling_on_every_attempt_raises_service_throttled_with_lambdas_reason(
    make_client, sleeps
):
    fake = FakeLambda(*(throttle() for _ in range(4)))

    with pytest.raises(ServiceThrottled) as raised:
        make_client(fake, max_attempts=4).call("quote", {})

    error = raised.value
    assert error.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert (error.code, error.status, error.attempts) == ("TooManyRequestsException", 429, 4)
    assert isinstance(error.__cause__, ClientError)
    assert len(fake.calls) == 4
    assert len(sleeps) == 3


def test_backoff_is_capped_and_jittered(sleeps):
    draws = iter([0.5, 0.25, 1.0, 1.0])
    fake = FakeLambda(*(throttle() for _ in range(5)))
    client = LambdaServiceClient(
        FUNCTION,
        lambda_client=fake,  # type: ignore[arg-type]
        max_attempts=5,
        backoff_base=1.0,
        backoff_cap=3.0,
        sleep=sleeps.append,
        jitter=lambda: next(draws),
    )

    with pytest.raises(ServiceThrottled):
        client.call("quote", {})

    # Ceilings 1, 2, 4->3, 8->3, each times the random draw (full jitter).
    assert sleeps == pytest.approx([0.5, 0.5, 3.0, 3.0])


def test_lambdas_retry_after_is_honoured_up_to_the_cap(make_client, sleeps):
    """A 429 may say how long to wait (retryAfterSeconds, the Retry-After header)."""
    fake = FakeLambda(
        client_error("TooManyRequestsException", 429, retryAfterSeconds="1"),
        client_error("TooManyRequestsException", 429, retryAfterSeconds="30"),
        answer({}),
    )

    make_client(fake, backoff_base=0.01, backoff_cap=2.0).call("quote", {})

    assert sleeps == pytest.approx([1.0, 2.0])


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceException", 500), ("EC2ThrottledException", 502), ("ServiceUnavailable", 503)],
)
def test_lambda_service_failures_are_retried(make_client, code, status):
    fake = FakeLambda(client_error(code, status), answer({"ok": True}))

    assert make_client(fake).call("quote", {}) == {"ok": True}
    assert len(fake.calls) == 2


def test_lambda_service_failures_on_every_attempt_raise_transport_error(make_client):
    fake = FakeLambda(*(client_error("ServiceException", 500) for _ in range(3)))

    with pytest.raises(TransportError) as raised:
        make_client(fake).call("quote", {})

    assert type(raised.value) is TransportError
    assert (raised.value.code, raised.value.status, raised.value.attempts) == (
        "ServiceException",
        500,
        3,
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ResourceNotFoundException", 404),
        ("AccessDeniedException", 403),
        ("RequestTooLargeException", 413),
        ("InvalidRequestContentException", 400),
        ("KMSAccessDeniedException", 502),
    ],
)
def test_errors_retrying_cannot_fix_are_raised_at_once(make_client, sleeps, code, status):
    fake = FakeLambda(client_error(code, status, f"{code} happened"), answer({}))

    with pytest.raises(TransportError) as raised:
        make_client(fake).call("quote", {})

    assert (raised.value.code, raised.value.status) == (code, status)
    assert f"{code} happened" in str(raised.value)
    assert len(fake.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://lambda"),
        ConnectTimeoutError(endpoint_url="https://lambda"),
    ],
    ids=["connection refused", "connect timeout"],
)
def test_failures_to_connect_are_retried(make_client, error):
    """The request never reached Lambda, so nothing ran."""
    fake = FakeLambda(error, answer({"ok": True}))

    assert make_client(fake).call("quote", {}) == {"ok": True}
    assert len(fake.calls) == 2


def test_a_connection_lost_after_sending_is_not_retried(make_client):
    fake = FakeLambda(ConnectionClosedError(endpoint_url="https://lambda"), answer({}))

    with pytest.raises(TransportError) as raised:
        make_client(fake).call("quote", {})

    assert type(raised.value) is TransportError
    assert raised.value.code is None
    assert len(fake.calls) == 1


def test_max_attempts_one_means_no_retry(make_client, sleeps):
    fake = FakeLambda(throttle(), answer({}))

    with pytest.raises(ServiceThrottled):
        make_client(fake, max_attempts=1).call("quote", {})

    assert len(fake.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"backoff_base": -1.0}, {"backoff_cap": -1.0}],
)
def test_invalid_settings_are_refused(options):
    with pytest.raises(ValueError, match="must"):
        LambdaServiceClient(FUNCTION, **options)


def test_an_empty_function_name_is_refused():
    with pytest.raises(ValueError, match="function_name"):
        LambdaServiceClient("")


# --- the real boto3 client ------------------------------------------------------------------


def test_importing_and_constructing_loads_no_aws_sdk():
    """The layer is on every cold start: boto3 is imported and the client created only when
    the first call is made."""
    code = (
        "import sys\n"
        "from common_layer.lambda_client import LambdaServiceClient\n"
        "LambdaServiceClient('pricing', error_types={})\n"
        "print('HEAVY', [m for m in ('boto3', 'botocore') if m in sys.modules])\n"
    )
    assert "HEAVY []" in run_python(code, python_env()).stdout


@pytest.fixture
def moto_lambda(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


def test_the_client_it_creates_does_no_retries_of_its_own(moto_lambda):
    client = LambdaServiceClient(FUNCTION, read_timeout=7)

    created = client.lambda_client

    assert created is client.lambda_client  # created once, then reused
    assert created.meta.config.retries["total_max_attempts"] == 1
    assert created.meta.config.read_timeout == 7


def test_invoking_a_function_that_does_not_exist_is_a_transport_error(moto_lambda, sleeps):
    """Invoke of an unknown function: 404 ResourceNotFoundException, which no retry fixes."""
    client = LambdaServiceClient("no-such-function", sleep=sleeps.append)

    with pytest.raises(TransportError) as raised:
        client.call("quote", {})

    assert (raised.value.code, raised.value.status) == ("ResourceNotFoundException", 404)
    assert raised.value.attempts == 1
    assert sleeps == []


def test_a_real_429_is_read_with_its_reason_and_retry_after(aws_env, sleeps):
    """botocore puts the 429's modeled fields (Reason, retryAfterSeconds) at the top level of
    the error response; the client reads them from there."""
    lambda_client = boto3.client("lambda")
    stubber = Stubber(lambda_client)
    for _ in range(2):
        stubber.add_client_error(
            "invoke",
            service_error_code="TooManyRequestsException",
            service_message="Rate Exceeded.",
            http_status_code=429,
            modeled_fields={
                "Reason": "ConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
                "retryAfterSeconds": "0.5",
            },
        )
    client = LambdaServiceClient(
        FUNCTION,
        lambda_client=lambda_client,
        max_attempts=2,
        backoff_base=0.0,
        sleep=sleeps.append,
    )

    with stubber, pytest.raises(ServiceThrottled) as raised:
        client.call("quote", {})

    assert raised.value.reason == "ConcurrentInvocationLimitExceeded"
    assert sleeps == [0.5]
    stubber.assert_no_pending_responses()
