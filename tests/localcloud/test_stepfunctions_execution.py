"""Step Functions state machines really execute on the local cloud (what apps/state-machine needs).

Each test states the AWS rule it checks. The Lambda functions are real functions of the
local cloud; the state machines run in moto's ASL interpreter, switched on by
:mod:`localcloud.stepfunctions`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from stack_testing import wait_for

from ._cfn_helpers import create, delete, outputs, unique, upload_zip

SFN_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

# Fails with TransientError on the first ``fail_first`` attempts (counted by the state
# machine in $$.State.RetryCount), with PermanentError when asked, else echoes its input.
STEP = """
    class TransientError(Exception):
        pass

    class PermanentError(Exception):
        pass

    def handler(event, context):
        if event.get("permanent"):
            raise PermanentError("card declined for " + str(event.get("order")))
        if event.get("attempt", 0) < event.get("fail_first", 0):
            raise TransientError("attempt " + str(event.get("attempt")))
        return {"order": event.get("order"), "attempt": event.get("attempt", 0), "ok": True}
"""


@pytest.fixture(scope="module")
def sfn_role(aws: Callable[..., Any]) -> str:
    name = unique("sfn-role")
    role = aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(SFN_TRUST))
    return str(role["Role"]["Arn"])


@pytest.fixture
def make_state_machine(
    aws: Callable[..., Any], sfn_role: str
) -> Iterator[Callable[[Mapping[str, Any]], str]]:
    created: list[str] = []

    def make(definition: Mapping[str, Any]) -> str:
        arn = aws("stepfunctions").create_state_machine(
            name=unique("sm"), definition=json.dumps(definition), roleArn=sfn_role
        )["stateMachineArn"]
        created.append(arn)
        return str(arn)

    yield make
    for arn in created:
        aws("stepfunctions").delete_state_machine(stateMachineArn=arn)


def run(aws: Callable[..., Any], arn: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Start an execution and return DescribeExecution once it has left RUNNING."""
    sfn = aws("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(payload)
    )["executionArn"]

    def finished() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=execution)
        return None if described["status"] == "RUNNING" else dict(described)

    return wait_for(finished, timeout=60, interval=0.1, description="execution end")


def history(aws: Callable[..., Any], execution_arn: str) -> list[dict[str, Any]]:
    pages = aws("stepfunctions").get_paginator("get_execution_history")
    return [e for page in pages.paginate(executionArn=execution_arn) for e in page["events"]]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["type"]) for e in events]


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        str(e["stateEnteredEventDetails"]["name"])
        for e in events
        if "stateEnteredEventDetails" in e
    ]


def test_lambda_invoke_integration_returns_the_invoke_response(
    aws: Callable[..., Any],
    make_function: Callable[..., str],
    make_state_machine: Callable[..., str],
) -> None:
    """``arn:aws:states:::lambda:invoke`` runs the function synchronously; the task result is
    the Invoke response, the function's return value under ``Payload``; ResultSelector and
    ResultPath place it in the state's output."""
    fn = make_function(STEP)
    arn = make_state_machine(
        {
            "StartAt": "Step",
            "States": {
                "Step": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": fn, "Payload": {"order.$": "$.order"}},
                    "ResultSelector": {"result.$": "$.Payload", "code.$": "$.StatusCode"},
                    "ResultPath": "$.step",
                    "End": True,
                }
            },
        }
    )
    done = run(aws, arn, {"order": "o-1"})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {
        "order": "o-1",
        "step": {"result": {"order": "o-1", "attempt": 0, "ok": True}, "code": 200},
    }
    assert "TaskSucceeded" in types(history(aws, done["executionArn"]))


def test_plain_function_arn_task_returns_the_function_result(
    aws: Callable[..., Any],
    make_function: Callable[..., str],
    make_state_machine: Callable[..., str],
) -> None:
    """A Task whose Resource is the function ARN passes the state input as the event and
    outputs the function's return value itself."""
    fn = make_function(STEP)
    fn_arn = aws("lambda").get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    arn = make_state_machine(
        {"StartAt": "Step", "States": {"Step": {"Type": "Task", "Resource": fn_arn, "End": True}}}
    )
    done = run(aws, arn, {"order": "o-2"})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"order": "o-2", "attempt": 0, "ok": True}


def retrying_task(fn: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": fn,
            "Payload": {
                "order.$": "$.order",
                "fail_first.$": "$.fail_first",
                "permanent.$": "$.permanent",
                "attempt.$": "$$.State.RetryCount",
            },
        },
        "OutputPath": "$.Payload",
        "Retry": [
            {
                "ErrorEquals": ["TransientError"],
                "IntervalSeconds": 1,
                "MaxAttempts": 2,
                "BackoffRate": 2.0,
            }
        ],
        **extra,
    }


def test_retry_reruns_a_failed_task_with_backoff(
    aws: Callable[..., Any],
    make_function: Callable[..., str],
    make_state_machine: Callable[..., str],
) -> None:
    """A function error's name is the ``errorType`` the function raised; a Retrier whose
    ErrorEquals names it re-runs the task up to MaxAttempts more times, waiting
    IntervalSeconds, then IntervalSeconds * BackoffRate, ...; ``$$.State.RetryCount`` counts
    the retries."""
    fn = make_function(STEP)
    arn = make_state_machine({"StartAt": "Step", "States": {"Step": retrying_task(fn, End=True)}})
    done = run(aws, arn, {"order": "o-3", "fail_first": 2, "permanent": False})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"order": "o-3", "attempt": 2, "ok": True}
    events = history(aws, done["executionArn"])
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["TransientError"] * 2
    scheduled = [e["timestamp"] for e in events if e["type"] == "TaskScheduled"]
    assert len(scheduled) == 3
    # The waits between attempts: 1 s, then 1 s * 2.0.
    assert scheduled[1] - scheduled[0] >= timedelta(seconds=1)
    assert scheduled[2] - scheduled[1] >= timedelta(seconds=2)


def test_retries_exhausted_fail_the_execution_with_the_function_error(
    aws: Callable[..., Any],
    make_function: Callable[..., str],
    make_state_machine: Callable[..., str],
) -> None:
    """After MaxAttempts retries the error goes on; uncaught, the execution ends FAILED with
    the error name and a cause holding the function's error document."""
    fn = make_function(STEP)
    arn = make_state_machine({"StartAt": "Step", "States": {"Step": retrying_task(fn, End=True)}})
    done = run(aws, arn, {"order": "o-4", "fail_first": 9, "permanent": False})
    assert done["status"] == "FAILED", done
    assert done["error"] == "TransientError"
    assert json.loads(done["cause"])["errorMessage"] == "attempt 2"
    events = history(aws, done["executionArn"])
    assert types(events).count("TaskScheduled") == 3
    assert types(events)[-1] == "ExecutionFailed"


def test_catch_runs_the_compensation_path_then_fail_state(
    aws: Callable[..., Any],
    make_function: Callable[..., str],
    make_state_machine: Callable[..., str],
) -> None:
    """An error no Retrier matches goes straight to the first Catcher that matches it, with
    the error (Error, Cause) placed at its ResultPath; a Fail state ends the execution FAILED
    with its Error and Cause."""
    fn = make_function(STEP)
    undo = make_function(STEP)
    arn = make_state_machine(
        {
            "StartAt": "Step",
            "States": {
                "Step": retrying_task(
                    fn,
                    Catch=[
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Undo"}
                    ],
                    End=True,
                ),
                "Undo": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": undo, "Payload": {"order.$": "$.order"}},
                    "ResultPath": "$.undone",
                    "Next": "Failed",
                },
                "Failed": {"Type": "Fail", "Error": "OrderFailed", "Cause": "step compensated"},
            },
        }
    )
    done = run(aws, arn, {"order": "o-5", "fail_first": 0, "permanent": True})
    assert done["status"] == "FAILED", done
    assert (done["error"], done["cause"]) == ("OrderFailed", "step compensated")
    events = history(aws, done["executionArn"])
    assert entered(events) == ["Step", "Undo", "Failed"]
    assert types(events).count("TaskScheduled") == 2  # no retry of PermanentError
    undo_input = json.loads(
        next(e for e in events if e.get("stateEnteredEventDetails", {}).get("name") == "Undo")[
            "stateEnteredEventDetails"
        ]["input"]
    )
    assert undo_input["error"]["Error"] == "PermanentError"
    assert json.loads(undo_input["error"]["Cause"])["errorMessage"] == "card declined for o-5"


def test_wait_and_choice_states(
    aws: Callable[..., Any], make_state_machine: Callable[..., str]
) -> None:
    """A Wait state with SecondsPath holds the execution that many seconds (WaitStateEntered
    to WaitStateExited in the history); a Choice state takes the first rule that matches,
    else its Default."""
    arn = make_state_machine(
        {
            "StartAt": "Pause",
            "States": {
                "Pause": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Route"},
                "Route": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.kind", "StringEquals": "a", "Next": "A"},
                        {"Variable": "$.kind", "StringEquals": "b", "Next": "B"},
                    ],
                    "Default": "Other",
                },
                "A": {"Type": "Pass", "Result": {"took": "a"}, "End": True},
                "B": {"Type": "Pass", "Result": {"took": "b"}, "End": True},
                "Other": {"Type": "Pass", "Result": {"took": "default"}, "End": True},
            },
        }
    )
    done = run(aws, arn, {"delay": 1, "kind": "b"})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"took": "b"}
    events = history(aws, done["executionArn"])
    wait_in = next(e["timestamp"] for e in events if e["type"] == "WaitStateEntered")
    wait_out = next(e["timestamp"] for e in events if e["type"] == "WaitStateExited")
    assert wait_out - wait_in >= timedelta(seconds=1)
    assert entered(events) == ["Pause", "Route", "B"]
    other = run(aws, arn, {"delay": 0, "kind": "z"})
    assert json.loads(other["output"]) == {"took": "default"}


def test_state_machine_of_a_stack_executes_its_function(aws: Callable[..., Any]) -> None:
    """A state machine created by CloudFormation (SAM's StateMachine, its Definition with
    DefinitionSubstitutions) is the one StartExecution runs, and its Task invokes the stack's
    function."""
    cfn = aws("cloudformation")
    stack_name = unique("sfn-stack")
    code = upload_zip(aws, {"app.py": STEP})
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://{code['S3Bucket']}/{code['S3Key']}",
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                },
            },
            "Machine": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {
                    "Definition": {
                        "StartAt": "Call",
                        "States": {
                            "Call": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": "${Fn}", "Payload.$": "$"},
                                "OutputPath": "$.Payload",
                                "End": True,
                            },
                        },
                    },
                    "DefinitionSubstitutions": {"Fn": {"Fn::GetAtt": ["Fn", "Arn"]}},
                    "Policies": [{"LambdaInvokePolicy": {"FunctionName": {"Ref": "Fn"}}}],
                },
            },
        },
        "Outputs": {"Machine": {"Value": {"Ref": "Machine"}}},
    }
    try:
        created = create(cfn, stack_name, template)
        assert created["StackStatus"] == "CREATE_COMPLETE", created
        done = run(aws, outputs(created)["Machine"], {"order": "o-6"})
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {"order": "o-6", "attempt": 0, "ok": True}
    finally:
        delete(cfn, stack_name)
