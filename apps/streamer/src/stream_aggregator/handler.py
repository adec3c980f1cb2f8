"""Kinesis event source -> ``aggregates.aggregate_batch`` with the DynamoDB store."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics

from stream_aggregator.aggregates import Outcome, aggregate_batch
from stream_aggregator.store import DynamoDbAggregateStore

# Created at import so warm invocations reuse the HTTPS connection.
_store = DynamoDbAggregateStore(boto3.client("dynamodb"), os.environ["AGGREGATES_TABLE"])

_METRICS = {
    Outcome.COUNTED: "EventCounted",
    Outcome.DUPLICATE: "DuplicateRecordIgnored",
    Outcome.UNREADABLE: "UnreadableRecord",
}


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response, outcomes = aggregate_batch(event, context, _store)
    for outcome, name in _METRICS.items():
        if outcomes[outcome]:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=outcomes[outcome])
    logger.info(
        "stream batch done",
        extra={
            "received": len(event.get("Records", [])),
            "failed": len(response.get("batchItemFailures", [])),
            **{outcome.value: outcomes[outcome] for outcome in Outcome},
        },
    )
    return response
