"""Function errors come back in AWS's shapes, with FunctionError set and status 200."""

from __future__ import annotations

import re
import uuid

FAILING = """
    import os
    import signal
    import sys
    import time

    def handler(event, context):
        action = event.get("action")
        if action == "raise":
            raise ValueError("order 42 is not valid")
        if action == "sleep":
            time.sleep(event["seconds"])
        if action == "exit":
            sys.exit(3)
        if action == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        return {"pid": os.getpid()}
"""


def test_unhandled_exception_is_reported_as_unhandled_function_error(make_function, invoke):
    """An exception escaping the handler: FunctionError=Unhandled, payload with errorType,
    errorMessage, requestId and stackTrace (what the Python runtime posts)."""
    name = make_function(FAILING)

    result = invoke(name, {"action": "raise"})

    assert result.status == 200
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "ValueError"
    assert result.payload["errorMessage"] == "order 42 is not valid"
    assert result.payload["requestId"]
    assert any("raise ValueError" in line for line in result.payload["stackTrace"])


def test_environment_survives_a_handler_error(make_function, invoke):
    """A handled invocation error does not reset the execution environment."""
    name = make_function(FAILING)

    first = invoke(name, {}).payload
    invoke(name, {"action": "raise"})
    after = invoke(name, {}).payload

    assert after["pid"] == first["pid"]


def test_import_error_is_runtime_import_module_error(make_function, invoke):
    """A handler module that fails to import: Runtime.ImportModuleError, as an init error."""
    name = make_function("import not_a_module_anywhere\n\ndef handler(event, context):\n    pass\n")

    result = invoke(name, {})

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.ImportModuleError"
    assert result.payload["errorMessage"] == (
        "Unable to import module 'app': No module named 'not_a_module_anywhere'"
    )


def test_missing_handler_function_is_reported(make_function, invoke):
    """A handler name that the module does not define: Runtime.HandlerNotFound."""
    name = make_function("def other(event, context):\n    pass\n")

    result = invoke(name, {})

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_kills_the_environment_and_the_next_invoke_starts_fresh(make_function, invoke):
    """Past its Timeout the invocation ends with Sandbox.Timedout ("Task timed out after
    1.00 seconds"); the environment is reset, so the next invoke is a cold start."""
    name = make_function(FAILING, timeout=1)
    before = invoke(name, {}).payload

    timed_out = invoke(name, {"action": "sleep", "seconds": 30}, log_type="Tail")
    after = invoke(name, {})

    assert timed_out.function_error == "Unhandled"
    assert timed_out.payload["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(
        r"RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds",
        timed_out.payload["errorMessage"],
    )
    assert "Task timed out after 1.00 seconds" in timed_out.log
    assert "Status: timeout" in timed_out.log
    assert after.function_error is None
    assert after.payload["pid"] != before["pid"]


def test_process_exit_is_runtime_exit_error(make_function, invoke):
    """A runtime process that exits mid-invocation: Runtime.ExitError with its exit status."""
    name = make_function(FAILING)

    result = invoke(name, {"action": "exit"})
    after = invoke(name, {})

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert result.payload["errorMessage"].endswith(
        "Error: Runtime exited with error: exit status 3"
    )
    assert after.function_error is None


def test_crash_by_signal_is_runtime_exit_error(make_function, invoke):
    """A runtime killed by a signal (segfault): Runtime.ExitError naming the signal."""
    name = make_function(FAILING)

    result = invoke(name, {"action": "segfault"})

    assert result.payload["errorType"] == "Runtime.ExitError"
    assert result.payload["errorMessage"].endswith(
        "Error: Runtime exited with error: signal: segmentation fault"
    )


def test_unknown_function_is_resource_not_found(aws):
    """Invoking a function that does not exist: 404 ResourceNotFoundException."""
    import pytest
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        aws("lambda").invoke(FunctionName="no-such-function-anywhere")

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_runtime_the_local_cloud_cannot_run_is_an_explicit_error(make_function, invoke):
    """A function on a runtime other than Python is not silently skipped: the invoke fails
    with an init error that says why."""
    name = make_function({"index.js": "exports.handler = async () => 1;\n"}, runtime="nodejs20.x")

    result = invoke(name, {})

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.InvalidRuntime"
    assert "nodejs20.x" in result.payload["errorMessage"]


def test_package_that_is_not_a_zip_is_reported(aws, lambda_role, invoke):
    """A deployment package Lambda could not unzip fails the invoke with
    InvalidZipFileException instead of running nothing."""
    name = f"not-a-zip-{uuid.uuid4().hex[:8]}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": b"this is not a zip archive"},
    )
    try:
        result = invoke(name, {})
    finally:
        aws("lambda").delete_function(FunctionName=name)

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "InvalidZipFileException"
