"""common_layer.observability: logs, metrics and traces from one decorator."""

from __future__ import annotations

import json
import socket
import textwrap
import warnings
from typing import Any

import pytest
from common_layer.observability import (
    MetricUnit,
    annotate,
    correlation_id_of,
    instrument,
    logger,
    metrics,
    traced,
)
from layer_helpers import (
    emf_blobs,
    metric_names,
    python_env,
    rest_event,
    run_python,
    sqs_event,
    sqs_record,
)

SNS_EVENT = {
    "Records": [
        {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "Sns": {
                "Type": "Notification",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
                "Message": "{}",
            },
        }
    ]
}


def test_logs_are_json_with_the_api_gateway_request_id_as_correlation_id(log_lines, lambda_context):
    @instrument
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("creating order", extra={"order_id": "o-1"})
        return {"statusCode": 201}

    handler(rest_event("POST", "/orders", request_id="req-abc-123"), lambda_context)

    (line,) = [line for line in log_lines() if line["message"] == "creating order"]
    assert line["correlation_id"] == "req-abc-123"
    assert line["order_id"] == "o-1"
    assert line["level"] == "INFO"
    assert line["function_request_id"] == lambda_context.aws_request_id
    assert line["function_name"] == "orders-fn"
    assert "cold_start" in line


def test_an_sqs_event_of_one_message_uses_its_message_id(log_lines, lambda_context):
    @instrument
    def handler(event: dict[str, Any], context: Any) -> None:
        logger.info("consumed")

    handler(sqs_event(sqs_record("{}", message_id="msg-0001")), lambda_context)

    (line,) = [line for line in log_lines() if line["message"] == "consumed"]
    assert line["correlation_id"] == "msg-0001"


def test_a_correlation_id_never_leaks_into_the_next_invocation(log_lines, lambda_context):
    @instrument
    def handler(event: dict[str, Any], context: Any) -> None:
        logger.info("handled")

    handler(rest_event(request_id="first"), lambda_context)
    handler({"no": "id here"}, lambda_context)

    first, second = [line for line in log_lines() if line["message"] == "handled"]
    assert first["correlation_id"] == "first"
    assert "correlation_id" not in second


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (rest_event(request_id="rest-1"), "rest-1"),
        ({"version": "2.0", "requestContext": {"requestId": "http-1", "http": {}}}, "http-1"),
        (sqs_event(sqs_record("{}", message_id="m-1")), "m-1"),
        (SNS_EVENT, "95df01b4-ee98-5cb9-9903-4c221d41eb5e"),
        ({"id": "eb-1", "detail-type": "OrderPlaced", "source": "shop", "detail": {}}, "eb-1"),
        # A batch has no single id: process_sqs_batch sets one per message.
        (sqs_event(sqs_record("{}"), sqs_record("{}")), None),
        ({"orderId": "o-1"}, None),
        (["not", "a", "mapping"], None),
    ],
)
def test_correlation_id_rule(event, expected):
    assert correlation_id_of(event) == expected


def test_metrics_are_flushed_as_emf_when_the_invocation_ends(capsys, lambda_context):
    @instrument
    def handler(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="OrderPlaced", unit=MetricUnit.Count, value=1)

    handler({}, lambda_context)

    blobs = emf_blobs(capsys.readouterr().out)
    placed = [blob for blob in blobs if "OrderPlaced" in metric_names(blob)]
    assert len(placed) == 1
    assert placed[0]["OrderPlaced"] == [1.0]


def test_metrics_are_flushed_even_when_the_handler_fails(capsys, lambda_context):
    @instrument
    def handler(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="PaymentFailed", unit=MetricUnit.Count, value=1)
        raise RuntimeError("card declined")

    with pytest.raises(RuntimeError, match="card declined"):
        handler({}, lambda_context)

    blobs = emf_blobs(capsys.readouterr().out)
    assert any("PaymentFailed" in metric_names(blob) for blob in blobs)


EMPTY_METRICS_WARNING = "No application metrics to publish"


def test_an_invocation_that_adds_no_metric_does_not_warn(lambda_context):
    @instrument
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200}

    with warnings.catch_warnings(record=True) as caught:
        handler(rest_event("GET", "/items"), lambda_context)
        handler(rest_event("GET", "/items"), lambda_context)
    assert [str(w.message) for w in caught if EMPTY_METRICS_WARNING in str(w.message)] == []


def test_without_the_layers_filter_powertools_would_warn_and_the_filter_is_targeted(
    lambda_context,
):
    # Powertools itself still warns: the check above is not passing by accident.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics.log_metrics(lambda event, context: None)({}, lambda_context)
    assert any(str(w.message).startswith(EMPTY_METRICS_WARNING) for w in caught)
    # The same words warned from anywhere but Powertools' metrics still show.
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn(f"{EMPTY_METRICS_WARNING}: from the app", UserWarning, stacklevel=1)
        warnings.warn("another warning", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [
        f"{EMPTY_METRICS_WARNING}: from the app",
        "another warning",
    ]


NO_METRICS_SCRIPT = textwrap.dedent(
    """
    import warnings
    from types import SimpleNamespace
    from common_layer.observability import instrument

    @instrument
    def handler(event, context):
        return "ok"

    context = SimpleNamespace(
        function_name="fn", memory_limit_in_mb=128, aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
    )
    for _ in range(3):
        handler({"requestContext": {"requestId": "abc"}}, context)
    warnings.warn("canary", UserWarning)
    """
)


def test_a_function_that_adds_no_metric_logs_no_warning():
    # As in Lambda: the layer is imported at init, and Python shows every warning.
    result = run_python(NO_METRICS_SCRIPT, python_env(PYTHONWARNINGS="always"))
    assert "UserWarning: canary" in result.stderr
    assert EMPTY_METRICS_WARNING not in result.stderr + result.stdout
    assert sum("ColdStart" in metric_names(blob) for blob in emf_blobs(result.stdout)) == 1


COLD_START_SCRIPT = textwrap.dedent(
    """
    from types import SimpleNamespace
    from common_layer.observability import MetricUnit, instrument, logger, metrics

    @instrument
    def handler(event, context):
        logger.info("hello")
        metrics.add_metric(name="Hit", unit=MetricUnit.Count, value=1)
        return "ok"

    context = SimpleNamespace(
        function_name="fn", memory_limit_in_mb=128, aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
    )
    for _ in range(3):
        handler({"requestContext": {"requestId": "abc"}}, context)
    """
)


def test_the_cold_start_metric_is_emitted_once_per_execution_environment():
    env = python_env(POWERTOOLS_SERVICE_NAME="orders", POWERTOOLS_METRICS_NAMESPACE="Shop")
    out = run_python(COLD_START_SCRIPT, env).stdout

    blobs = emf_blobs(out)
    cold = [blob for blob in blobs if "ColdStart" in metric_names(blob)]
    assert len(cold) == 1
    assert cold[0]["function_name"] == "fn"
    assert cold[0]["service"] == "orders"
    assert cold[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop"
    assert sum("Hit" in metric_names(blob) for blob in blobs) == 3
    logs = [json.loads(line) for line in out.splitlines() if '"message":"hello"' in line]
    assert [line["cold_start"] for line in logs] == [True, False, False]


def test_without_a_namespace_metrics_fall_back_to_the_service_name():
    env = python_env(POWERTOOLS_SERVICE_NAME="orders")
    out = run_python(COLD_START_SCRIPT, env).stdout
    (cold,) = [blob for blob in emf_blobs(out) if "ColdStart" in metric_names(blob)]
    assert cold["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "orders"


TRACING_OFF_SCRIPT = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace
    from common_layer.observability import annotate, instrument, traced, tracing_enabled

    def work(x):
        return x * 2

    assert traced(work) is work
    assert traced(capture_response=False)(work) is work
    annotate("order_id", "o-1")

    @instrument
    def handler(event, context):
        annotate("order_id", "o-1")
        return traced(work)(21)

    context = SimpleNamespace(
        function_name="fn", memory_limit_in_mb=128, aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
    )
    print("RESULT", handler({}, context), tracing_enabled(), "aws_xray_sdk" in sys.modules)
    """
)


@pytest.mark.parametrize(
    "env_vars",
    [
        pytest.param({}, id="outside-lambda"),
        pytest.param(
            {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},
            id="disabled-in-lambda",
        ),
        pytest.param({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, id="sam-local"),
    ],
)
def test_with_tracing_off_traced_and_annotate_cost_nothing_and_xray_is_never_imported(env_vars):
    out = run_python(TRACING_OFF_SCRIPT, python_env(**env_vars)).stdout
    assert "RESULT 42 False False" in out


def test_traced_in_process_runs_the_function_and_keeps_its_metadata():
    @traced
    def double(x: int) -> int:
        """Double it."""
        return 2 * x

    @traced(capture_response=False)
    def triple(x: int) -> int:
        return 3 * x

    assert double(4) == 8
    assert triple(4) == 12
    assert double.__name__ == "double"
    assert double.__doc__ == "Double it."
    annotate("key", "value")  # outside any trace: a no-op, never an error


TRACING_ON_SCRIPT = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace

    import boto3
    from botocore.stub import Stubber

    from common_layer.observability import annotate, instrument, traced, tracing_enabled

    ddb = boto3.client("dynamodb", region_name="us-east-1")

    @traced
    def save(order_id):
        with Stubber(ddb) as stub:
            stub.add_response("list_tables", {"TableNames": ["orders"]})
            return ddb.list_tables()["TableNames"]

    @instrument
    def handler(event, context):
        annotate("order_id", "o-42")
        return save("o-42")

    context = SimpleNamespace(
        function_name="fn", memory_limit_in_mb=128, aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
    )
    assert tracing_enabled()
    assert handler({}, context) == ["orders"]
    assert "requests" not in sys.modules, "the tracer must not import what the app does not"
    import requests
    print("REQUESTS_PATCHED", type(vars(requests.Session)["request"]).__name__)
    """
)


def test_with_tracing_on_the_handler_functions_and_boto3_calls_are_traced():
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    port = receiver.getsockname()[1]
    env = python_env(
        LAMBDA_TASK_ROOT="/var/task",
        AWS_LAMBDA_FUNCTION_NAME="fn",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        POWERTOOLS_SERVICE_NAME="orders",
        POWERTOOLS_METRICS_NAMESPACE="Shop",
        AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{port}",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    )
    try:
        out = run_python(TRACING_ON_SCRIPT, env).stdout
        # The emitter sent its datagrams before the process exited: they wait in the buffer.
        receiver.setblocking(False)
        documents = []
        while True:
            try:
                datagram = receiver.recv(65536)
            except BlockingIOError:
                break
            header, _, body = datagram.decode().partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))
    finally:
        receiver.close()

    by_name = {doc["name"]: doc for doc in documents}
    handler_segment = by_name["## handler"]
    assert handler_segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert handler_segment["annotations"]["ColdStart"] is True
    assert handler_segment["annotations"]["Service"] == "orders"
    assert handler_segment["annotations"]["order_id"] == "o-42"
    save_segment = next(doc for name, doc in by_name.items() if name.endswith(".save"))
    assert save_segment["parent_id"] == handler_segment["id"]
    dynamodb = by_name["dynamodb"]  # X-Ray names AWS calls by endpoint prefix
    assert dynamodb["namespace"] == "aws"
    assert dynamodb["aws"]["operation"] == "ListTables"
    assert dynamodb["parent_id"] == save_segment["id"]
    # requests was imported after the tracer started, and was patched then.
    assert "REQUESTS_PATCHED FunctionWrapper" in out


def test_an_unknown_module_to_patch_fails_the_init_with_a_clear_message():
    env = python_env(LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACER_PATCH="boto3,kafka")
    code = (
        "try:\n"
        "    import common_layer.observability\n"
        "except ValueError as error:\n"
        "    print('ERROR', error)\n"
    )
    out = run_python(code, env).stdout
    assert (
        "ERROR POWERTOOLS_TRACER_PATCH names modules the X-Ray SDK cannot patch: ['kafka']" in out
    )


def test_patching_can_be_turned_off():
    env = python_env(
        LAMBDA_TASK_ROOT="/var/task", AWS_REGION="us-east-1", POWERTOOLS_TRACER_PATCH="none"
    )
    code = (
        "import common_layer.observability as o, botocore.client\n"
        "print('PATCHED', o.tracing_enabled(), type(botocore.client.BaseClient._make_api_call))\n"
    )
    out = run_python(code, env).stdout
    assert "PATCHED True <class 'function'>" in out
