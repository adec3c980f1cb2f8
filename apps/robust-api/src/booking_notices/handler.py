"""Lambda entry point of the notices service (asynchronous invokes only).

An error fails the invocation: Lambda retries it (EventInvokeConfig) and then hands the
invocation record to the on-failure destination, the failed-notices queue.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics

from booking_notices import notices

_outbox = notices.DynamoDBOutbox(boto3.resource("dynamodb").Table(os.environ["NOTICES_TABLE_NAME"]))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        notice, stored = notices.record_notice(_outbox, event, request_id=context.aws_request_id)
    except (notices.InvalidEvent, notices.DeliveryFailed) as error:
        logger.error(
            "notice failed", extra={"error_type": type(error).__name__, "reason": str(error)}
        )
        metrics.add_metric(name="NoticeFailed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(
        name="NoticeRecorded" if stored else "NoticeRepeated", unit=MetricUnit.Count, value=1
    )
    logger.info(
        "notice", extra={"booking_id": notice.booking_id, "kind": notice.kind, "new": stored}
    )
    return {"booking_id": notice.booking_id, "kind": notice.kind, "stored": stored}
