"""CloudWatch Logs subscription (asynchronous invoke) -> order events on the service's topic.

Lambda retries a failed invocation twice, then sends the invocation record (the original
batch, the error) to the on-failure destination. Lines that cannot become an event do not
fail the invocation: they are parked in the rejected-lines queue with the reason.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics

from orderfeed_trigger import adapters, feed

# Created at import so warm invocations reuse the connections.
_publisher = adapters.SnsPublisher(boto3.client("sns"), os.environ["TOPIC_ARN"])
_rejections = adapters.SqsRejectedLines(boto3.client("sqs"), os.environ["REJECTED_LINES_QUEUE_URL"])


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    batch = feed.decode_awslogs(event)
    triggered = feed.trigger(batch, _publisher, _rejections)
    metrics.add_metric(name="OrderEventPublished", unit=MetricUnit.Count, value=triggered.published)
    if triggered.rejected:
        metrics.add_metric(name="LogLineRejected", unit=MetricUnit.Count, value=triggered.rejected)
    logger.info(
        "log batch translated",
        extra={"log_group": batch.log_group, "log_stream": batch.log_stream, **triggered.as_dict()},
    )
    return triggered.as_dict()
