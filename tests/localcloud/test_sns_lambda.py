"""SNS -> Lambda: asynchronous delivery with AWS's event, filter policies, retries and DLQ.

AWS rules ("Invoking Lambda functions with Amazon SNS notifications", "Amazon SNS message
filtering"): SNS invokes a subscribed function asynchronously with an event holding one
record (EventSource aws:sns, the subscription ARN, the notification with its TopicArn,
MessageId, Subject, Message, Timestamp, signature fields and MessageAttributes); a
subscription's filter policy keeps non-matching messages from the function; Lambda's
asynchronous retries and dead-letter queue apply to the invocation.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
from _async_helpers import (
    EVENT_RECORDER,
    fast_async_fixture,  # noqa: F401
    json_lines,
    make_queue_fixture,  # noqa: F401
    make_topic_fixture,  # noqa: F401
    pending,
    receive,
    wait_idle,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _subscribe(aws, topic: str, function_name: str, **attributes: str) -> str:
    arn = aws("lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    response = aws("sns").subscribe(
        TopicArn=topic, Protocol="lambda", Endpoint=arn, Attributes=attributes
    )
    return str(response["SubscriptionArn"])


def _events(log: Path, count: int) -> list[dict]:
    return wait_for(
        lambda: (records := json_lines(log)) and len(records) >= count and records,
        timeout=20,
        interval=0.05,
        description=f"{count} SNS event(s) delivered",
    )


def test_publish_invokes_the_subscribed_function_with_the_aws_event(
    aws, make_function, make_topic, tmp_path
):
    """The function receives Records[0] with EventSource aws:sns, EventVersion 1.0, the real
    subscription ARN, and Sns: Type Notification, the MessageId Publish returned, the real
    TopicArn, Subject, Message, Timestamp, SignatureVersion, Signature, SigningCertUrl,
    UnsubscribeUrl and MessageAttributes as {name: {Type, Value}} (binary values base64)."""
    log = tmp_path / "events"
    name = make_function(EVENT_RECORDER, environment={"LOG": str(log)})
    topic = make_topic()
    subscription = _subscribe(aws, topic, name)

    published = aws("sns").publish(
        TopicArn=topic,
        Subject="greetings",
        Message="hello from SNS",
        MessageAttributes={
            "color": {"DataType": "String", "StringValue": "red"},
            "size": {"DataType": "Number", "StringValue": "42"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    [delivered] = _events(log, 1)

    [record] = delivered["event"]["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == subscription
    sns = record["Sns"]
    assert sns["Type"] == "Notification"
    assert sns["MessageId"] == published["MessageId"]
    assert sns["TopicArn"] == topic
    assert sns["Subject"] == "greetings"
    assert sns["Message"] == "hello from SNS"
    assert TIMESTAMP.match(sns["Timestamp"])
    assert sns["SignatureVersion"] in ("1", "2")
    assert sns["Signature"]
    assert sns["SigningCertUrl"].startswith("https://sns.us-east-1.amazonaws.com/")
    assert sns["UnsubscribeUrl"].endswith(f"SubscriptionArn={subscription}")
    assert sns["MessageAttributes"] == {
        "color": {"Type": "String", "Value": "red"},
        "size": {"Type": "Number", "Value": "42"},
        "blob": {"Type": "Binary", "Value": "AAE="},
    }


def test_publish_returns_before_the_function_runs(aws, make_function, make_topic, tmp_path):
    """SNS invokes the function asynchronously: Publish does not wait for the handler (here a
    handler that cannot finish until the test lets it)."""
    gate = tmp_path / "go"
    log = tmp_path / "events"
    name = make_function(
        """
        import json, os, time

        def handler(event, context):
            while not os.path.exists(os.environ["GATE"]):
                time.sleep(0.01)
            with open(os.environ["LOG"], "a") as log:
                log.write(json.dumps(event) + "\\n")
        """,
        environment={"GATE": str(gate), "LOG": str(log)},
        timeout=20,
    )
    topic = make_topic()
    _subscribe(aws, topic, name)

    aws("sns").publish(TopicArn=topic, Message="later")
    assert pending(name) == 1  # Publish returned while the event is in Lambda's queue
    assert not log.exists()
    gate.touch()

    [event] = _events(log, 1)
    assert event["Records"][0]["Sns"]["Message"] == "later"
    assert event["Records"][0]["Sns"]["Subject"] is None


def test_filter_policy_on_message_attributes_keeps_other_messages_away(
    aws, make_function, make_topic, tmp_path
):
    """With a filter policy (scope MessageAttributes, the default), only messages whose
    attributes match reach the function; the others never invoke it."""
    log = tmp_path / "events"
    name = make_function(EVENT_RECORDER, environment={"LOG": str(log)})
    topic = make_topic()
    _subscribe(aws, topic, name, FilterPolicy=json.dumps({"color": ["red"]}))
    sns = aws("sns")

    for color in ("blue", "green"):
        sns.publish(
            TopicArn=topic,
            Message=color,
            MessageAttributes={"color": {"DataType": "String", "StringValue": color}},
        )
    sns.publish(TopicArn=topic, Message="no attributes")
    sns.publish(
        TopicArn=topic,
        Message="red",
        MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}},
    )
    _events(log, 1)
    wait_idle(name)  # nothing else is queued: the others were never sent to Lambda

    assert [e["event"]["Records"][0]["Sns"]["Message"] for e in json_lines(log)] == ["red"]


def test_filter_policy_on_the_message_body(aws, make_function, make_topic, tmp_path):
    """FilterPolicyScope MessageBody applies the policy to the JSON message itself."""
    log = tmp_path / "events"
    name = make_function(EVENT_RECORDER, environment={"LOG": str(log)})
    topic = make_topic()
    _subscribe(
        aws,
        topic,
        name,
        FilterPolicy=json.dumps({"order": {"total": [{"numeric": [">", 100]}]}}),
        FilterPolicyScope="MessageBody",
    )
    sns = aws("sns")

    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"total": 20}}))
    sns.publish(TopicArn=topic, Message="not json")
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"total": 250}}))
    _events(log, 1)
    wait_idle(name)

    [delivered] = json_lines(log)
    assert json.loads(delivered["event"]["Records"][0]["Sns"]["Message"]) == {
        "order": {"total": 250}
    }


def test_message_structure_json_delivers_the_lambda_message(
    aws, make_function, make_topic, tmp_path
):
    """With MessageStructure=json, a Lambda subscriber gets the "lambda" message, or the
    "default" one when there is none for its protocol."""
    log = tmp_path / "events"
    name = make_function(EVENT_RECORDER, environment={"LOG": str(log)})
    topic = make_topic()
    _subscribe(aws, topic, name)
    sns = aws("sns")

    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "for everyone", "lambda": "for functions"}),
    )
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "only"}))

    messages = {e["event"]["Records"][0]["Sns"]["Message"] for e in _events(log, 2)}
    assert messages == {"for functions", "only"}


def test_failing_subscriber_is_retried_then_dead_lettered(
    aws, make_function, make_topic, make_queue, tmp_path, fast_async
):
    """SNS hands the event to Lambda's asynchronous queue: a failing subscriber is retried
    twice (three attempts under one request id), then its dead-letter queue gets the SNS
    event it was invoked with."""
    log = tmp_path / "events"
    name = make_function(EVENT_RECORDER, environment={"LOG": str(log), "FAIL": "1"})
    dlq = make_queue()
    aws("lambda").update_function_configuration(
        FunctionName=name, DeadLetterConfig={"TargetArn": dlq.arn}
    )
    topic = make_topic()
    subscription = _subscribe(aws, topic, name)

    aws("sns").publish(TopicArn=topic, Message="poison")
    [dead_letter] = receive(aws("sqs"), dlq)
    wait_idle(name)

    attempts = json_lines(log)
    assert len(attempts) == 3
    assert len({attempt["requestId"] for attempt in attempts}) == 1
    assert dead_letter.body == attempts[0]["event"]
    assert dead_letter.body["Records"][0]["EventSubscriptionArn"] == subscription
    assert dead_letter.attributes["ErrorMessage"]["StringValue"] == "subscriber failed on purpose"


def test_other_protocols_keep_their_delivery(aws, make_topic, make_queue):
    """Only Lambda subscriptions change: an SQS subscriber still gets the JSON notification."""
    topic = make_topic()
    queue = make_queue()
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue.arn)

    aws("sns").publish(TopicArn=topic, Message="to the queue")
    [message] = receive(aws("sqs"), queue)

    assert message.body["Type"] == "Notification"
    assert message.body["TopicArn"] == topic
    assert message.body["Message"] == "to the queue"
