"""Subscription filter patterns (localcloud.logs.filter_patterns).

AWS rule (CloudWatch Logs, "Filter pattern syntax"): a subscription filter delivers only the
log events its pattern matches; an empty pattern matches all; a pattern of terms matches an
event containing every term (case sensitive); a quoted phrase matches as a whole. A pattern
the local cloud cannot evaluate is refused by name, not treated as "match everything".
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
from _async_helpers import EVENT_RECORDER, json_lines, wait_idle

from localcloud.logs.filter_patterns import UnsupportedFilterPattern, matcher


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything at all", True),
        ("   ", "anything at all", True),
        ("ERROR", "[ERROR] payment declined", True),
        ("ERROR", "[error] payment declined", False),  # case sensitive
        ("ERROR payment", "ERROR: the payment was declined", True),  # every term
        ("ERROR refund", "ERROR: the payment was declined", False),
        ('"payment declined"', "ERROR payment declined", True),
        ('"payment declined"', "ERROR payment was declined", False),
        ('ERROR "order 42"', "ERROR for order 42", True),
    ],
)
def test_terms_and_phrases_match_as_cloudwatch_logs_matches_them(
    pattern: str, message: str, expected: bool
) -> None:
    assert matcher(pattern)(message) is expected


@pytest.mark.parametrize(
    "pattern",
    ["?ERROR ?WARN", "-DEBUG", '{ $.level = "ERROR" }', "[ip, user, status=500]", "%err.*%"],
)
def test_patterns_the_local_cloud_does_not_evaluate_are_refused_by_name(pattern: str) -> None:
    with pytest.raises(UnsupportedFilterPattern, match="does not evaluate the filter pattern"):
        matcher(pattern)


def _decode(event: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    return data


def _group_subscribed(aws: Any, function_name: str, pattern: str) -> tuple[str, str]:
    logs = aws("logs")
    group = f"/test/filter-patterns/{uuid.uuid4().hex[:12]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app")
    arn = aws("lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    logs.put_subscription_filter(
        logGroupName=group, filterName="errors", filterPattern=pattern, destinationArn=arn
    )
    return group, "app"


def test_a_subscription_delivers_only_the_events_its_pattern_matches(
    aws: Any, make_function: Any, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    name = make_function(EVENT_RECORDER, environment={"LOG": str(log)})
    group, stream = _group_subscribed(aws, name, "ERROR")
    now = int(time.time() * 1000)

    aws("logs").put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": now, "message": "INFO started"},
            {"timestamp": now, "message": "ERROR payment declined"},
            {"timestamp": now, "message": "INFO done"},
        ],
    )
    aws("logs").put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": "INFO nothing to see"}],
    )
    [attempt] = wait_for(
        lambda: json_lines(log), timeout=20, interval=0.05, description="the matching event"
    )
    wait_idle(name)

    assert [e["message"] for e in _decode(attempt["event"])["logEvents"]] == [
        "ERROR payment declined"
    ]
    assert len(json_lines(log)) == 1  # the batch with no match was not delivered at all


def test_an_unsupported_pattern_is_refused_at_put_subscription_filter(
    aws: Any, make_function: Any, tmp_path: Path
) -> None:
    name = make_function(EVENT_RECORDER, environment={"LOG": str(tmp_path / "events")})

    with pytest.raises(ClientError) as raised:
        _group_subscribed(aws, name, '{ $.level = "ERROR" }')

    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "does not evaluate the filter pattern" in raised.value.response["Error"]["Message"]
