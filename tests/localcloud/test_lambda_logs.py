"""Function output lands where Lambda puts it: CloudWatch Logs and the LogResult tail."""

from __future__ import annotations

import re
import uuid

from stack_testing import wait_for

PRINTER = """
    import logging

    print("imported")  # Init-phase output belongs to the first invocation's log

    def handler(event, context):
        print(event["message"])
        logging.getLogger().warning("logged %s", event["message"])
        if event.get("fail"):
            raise RuntimeError("boom")
        return "ok"
"""

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


def _events(aws, group: str) -> list[dict]:
    streams = aws("logs").describe_log_streams(logGroupName=group)["logStreams"]
    events: list[dict] = []
    for stream in streams:
        events += aws("logs").get_log_events(
            logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
    return events


def test_log_type_tail_returns_the_end_of_the_execution_log(make_function, invoke):
    """LogType=Tail: X-Amz-Log-Result holds the last 4 KB of the log, base64-encoded, with
    the START, END and REPORT lines."""
    name = make_function(PRINTER)
    message = f"hello-{uuid.uuid4()}"

    result = invoke(name, {"message": message}, log_type="Tail")

    assert message in result.log
    assert re.search(r"^START RequestId: [0-9a-f-]{36} Version: \$LATEST$", result.log, re.M)
    assert re.search(r"^END RequestId: [0-9a-f-]{36}$", result.log, re.M)
    report = re.search(r"^REPORT RequestId: .*$", result.log, re.M)
    assert report is not None
    assert "Duration: " in report.group(0)
    assert "Billed Duration: " in report.group(0)
    assert "Memory Size: 128 MB" in report.group(0)
    assert "Init Duration: " in report.group(0)  # first invocation: a cold start


def test_no_log_result_without_tail(make_function, invoke):
    """Without LogType=Tail the response carries no LogResult."""
    name = make_function(PRINTER)

    result = invoke(name, {"message": "quiet"})

    assert "LogResult" not in result.raw


def test_tail_is_at_most_4_kb(make_function, invoke):
    """The tail is capped at 4 KB even when the function prints much more."""
    name = make_function(
        """
        def handler(event, context):
            for i in range(500):
                print(f"line {i:04d} " + "x" * 40)
            return "ok"
        """
    )

    result = invoke(name, {}, log_type="Tail")

    assert len(result.log.encode()) <= 4096
    assert "line 0499" in result.log
    assert "line 0000" not in result.log


def test_output_lands_in_cloudwatch_logs_group_of_the_function(aws, make_function, invoke):
    """Output goes to /aws/lambda/<function>, one stream per execution environment named
    YYYY/MM/DD/[$LATEST]<id>, framed by START, END and REPORT lines."""
    name = make_function(PRINTER)
    message = f"to-cloudwatch-{uuid.uuid4()}"
    request = invoke(name, {"message": message})
    group = f"/aws/lambda/{name}"

    wait_for(
        lambda: any(e["message"].startswith("REPORT") for e in _events(aws, group)),
        timeout=10,
        description=f"REPORT line in {group}",
    )

    events = _events(aws, group)
    messages = [event["message"] for event in events]
    streams = aws("logs").describe_log_streams(logGroupName=group)["logStreams"]
    assert request.function_error is None
    assert len(streams) == 1
    assert STREAM_NAME.match(streams[0]["logStreamName"])
    start = next(i for i, m in enumerate(messages) if m.startswith("START RequestId: "))
    end = next(i for i, m in enumerate(messages) if m.startswith("END RequestId: "))
    report = next(i for i, m in enumerate(messages) if m.startswith("REPORT RequestId: "))
    printed = messages.index(message)
    assert messages.index("imported") < start < printed < end < report
    assert any(m.startswith("[WARNING]") and f"logged {message}" in m for m in messages)
    timestamps = [event["timestamp"] for event in events]
    assert timestamps == sorted(timestamps)


def test_error_report_is_one_multi_line_event(aws, make_function, invoke):
    """The runtime's error report (type, message, traceback) is one log event, as on Lambda."""
    name = make_function(PRINTER)
    invoke(name, {"message": "failing", "fail": True})
    group = f"/aws/lambda/{name}"

    error_event = wait_for(
        lambda: next(
            (e for e in _events(aws, group) if e["message"].startswith("[ERROR] RuntimeError")),
            None,
        ),
        timeout=10,
        description="the [ERROR] event",
    )

    assert "boom" in error_event["message"]
    assert "Traceback (most recent call last):" in error_event["message"]
    assert "\n" in error_event["message"]
