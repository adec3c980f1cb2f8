"""Synchronous invokes run the real handler in an awslambdaric process, as on Lambda."""

from __future__ import annotations

import base64
import json
import os
import re
import sys

from stack_testing import wait_for

ECHO = """
    import os

    invocations = 0  # module state lives as long as the execution environment

    def handler(event, context):
        global invocations
        invocations += 1
        return {
            "event": event,
            "pid": os.getpid(),
            "invocations": invocations,
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "log_group": context.log_group_name,
            "log_stream": context.log_stream_name,
            "client_context": (
                context.client_context.custom if context.client_context else None
            ),
            "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        }
"""


def test_invoke_returns_the_handler_result(make_function, invoke):
    """Invoke (RequestResponse) answers 200 with the handler's return value as payload."""
    name = make_function(ECHO)

    result = invoke(name, {"order": 42})

    assert result.status == 200
    assert result.function_error is None
    assert result.payload["event"] == {"order": 42}
    assert result.executed_version == "$LATEST"


def test_context_describes_the_function_and_the_deadline(make_function, invoke):
    """The context object carries the function's identity and the time left before Timeout."""
    name = make_function(ECHO, timeout=5, memory_size=256)

    result = invoke(name, {})

    payload = result.payload
    assert payload["function_name"] == name
    assert payload["function_version"] == "$LATEST"
    assert payload["invoked_arn"].endswith(f":function:{name}")
    assert payload["memory_limit_in_mb"] == "256"
    assert 0 < payload["remaining_ms"] <= 5000
    assert payload["log_group"] == f"/aws/lambda/{name}"
    assert payload["log_stream"].split("]")[0].endswith("[$LATEST")
    # The runtime sets the X-Ray trace header of each invocation in the environment.
    assert re.match(
        r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$", payload["trace"]
    )


def test_client_context_reaches_the_handler(make_function, invoke):
    """ClientContext (base64 JSON) is passed to the function's context on sync invokes."""
    name = make_function(ECHO)
    client_context = base64.b64encode(json.dumps({"custom": {"tenant": "t-1"}}).encode())

    result = invoke(name, {}, ClientContext=client_context.decode())

    assert result.payload["client_context"] == {"tenant": "t-1"}


def test_environment_variables_of_the_configuration_are_visible(make_function, invoke):
    """The function's Environment.Variables and Lambda's reserved variables are set."""
    name = make_function(
        """
        import os

        def handler(event, context):
            return {k: os.environ.get(k) for k in event["names"]}
        """,
        environment={"TABLE_NAME": "orders", "STAGE": "test"},
        memory_size=256,
    )
    names = [
        "TABLE_NAME",
        "STAGE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "_HANDLER",
        "TZ",
        "LAMBDA_TASK_ROOT",
        "AWS_EXECUTION_ENV",
        "AWS_ACCESS_KEY_ID",
        "VIRTUAL_ENV",
        "PATH",
        "AWS_CONFIG_FILE",
    ]

    env = invoke(name, {"names": names}).payload

    assert env["TABLE_NAME"] == "orders"
    assert env["STAGE"] == "test"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["LAMBDA_TASK_ROOT"]
    assert env["AWS_ACCESS_KEY_ID"]  # fake credentials, as Lambda always provides some
    # Nothing leaks from the developer's shell: no virtualenv, no ~/.aws configuration.
    assert env["VIRTUAL_ENV"] is None
    assert sys.prefix not in env["PATH"]
    assert env["AWS_CONFIG_FILE"] == os.devnull


def test_second_invoke_reuses_the_warm_environment(make_function, invoke):
    """An idle execution environment is reused: same process, module state kept."""
    name = make_function(ECHO)

    first = invoke(name, {}).payload
    second = invoke(name, {}).payload

    assert second["pid"] == first["pid"]
    assert (first["invocations"], second["invocations"]) == (1, 2)
    assert second["request_id"] != first["request_id"]


def test_code_update_starts_a_new_environment(aws, make_function, invoke, zip_files):
    """UpdateFunctionCode retires the old environments: the next invoke runs the new code."""
    name = make_function(ECHO)
    before = invoke(name, {}).payload
    new_code = 'import os\ndef handler(event, context):\n    return {"v": 2, "pid": os.getpid()}\n'

    aws("lambda").update_function_code(FunctionName=name, ZipFile=zip_files({"app.py": new_code}))
    after = invoke(name, {}).payload

    assert after["v"] == 2
    assert after["pid"] != before["pid"]


def test_configuration_update_starts_a_new_environment(aws, make_function, invoke):
    """UpdateFunctionConfiguration (new environment variables) replaces the environments."""
    name = make_function(
        """
        import os

        def handler(event, context):
            return {"colour": os.environ.get("COLOUR"), "pid": os.getpid()}
        """,
        environment={"COLOUR": "blue"},
    )
    before = invoke(name, {}).payload

    aws("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"COLOUR": "green"}}
    )
    after = invoke(name, {}).payload

    assert before["colour"] == "blue"
    assert after["colour"] == "green"
    assert after["pid"] != before["pid"]


def test_published_version_runs_its_own_code(aws, make_function, invoke, zip_files):
    """A published version keeps the code it was published with; Qualifier selects it."""
    name = make_function('def handler(event, context):\n    return "v1"\n')
    version = aws("lambda").publish_version(FunctionName=name)["Version"]
    aws("lambda").update_function_code(
        FunctionName=name,
        ZipFile=zip_files({"app.py": 'def handler(event, context):\n    return "v2"\n'}),
    )

    published = invoke(name, {}, Qualifier=version)
    latest = invoke(name, {})

    assert (published.payload, published.executed_version) == ("v1", version)
    assert (latest.payload, latest.executed_version) == ("v2", "$LATEST")


def test_dry_run_does_not_run_the_function(make_function, invoke):
    """InvocationType=DryRun only validates the request: 204, the handler does not run."""
    name = make_function(ECHO)

    dry = invoke(name, {}, InvocationType="DryRun")
    first_real = invoke(name, {}).payload

    assert dry.status == 204
    assert first_real["invocations"] == 1


def test_event_invoke_is_accepted_at_once_and_runs_in_the_background(
    make_function, invoke, tmp_path
):
    """InvocationType=Event answers 202 with an empty body; the function runs afterwards."""
    name = make_function(
        """
        import os
        import time

        def handler(event, context):
            while not os.path.exists(event["go"]):  # still waiting when the API answered
                time.sleep(0.01)
            with open(event["done"], "w") as done:
                done.write(context.aws_request_id)
        """,
        timeout=20,
    )
    go, done = tmp_path / "go", tmp_path / "done"

    accepted = invoke(name, {"go": str(go), "done": str(done)}, InvocationType="Event")
    go.touch()

    assert accepted.status == 202
    assert accepted.payload is None
    assert wait_for(lambda: done.exists() and done.read_text(), description="event handled")


def test_the_invoke_response_carries_the_invocation_request_id(make_function, aws):
    """Lambda answers Invoke with x-amzn-RequestId equal to the aws_request_id the function
    sees: synchronously, and for an Event invoke (whose invocation record on failure carries
    the same requestId)."""
    name = make_function(
        "def handler(event, context):\n    return {'id': context.aws_request_id}\n"
    )
    client = aws("lambda")
    response = client.invoke(FunctionName=name, Payload=b"{}")
    seen = json.loads(response["Payload"].read())["id"]
    assert response["ResponseMetadata"]["RequestId"] == seen
    accepted = client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert accepted["StatusCode"] == 202
    assert len(accepted["ResponseMetadata"]["RequestId"]) == 36  # a uuid, not moto's 52 chars
