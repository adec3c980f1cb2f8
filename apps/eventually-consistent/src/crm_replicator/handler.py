"""DynamoDB stream batches of the accounts table -> the PostgreSQL copy.

Invoked by the event source mapping, one batch per shard at a time and at most the reserved
concurrency of batches overall, so the database sees a bounded load. A record that can
never become a row is parked in the dead-letter queue with the reason; any other failure
raises and the mapping retries, bisects, and finally records what it gave up on in the same
queue. Returns the batch's tally (the mapping ignores it; a person replaying a record with
``aws lambda invoke`` reads it).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics

from crm_replicator import replication
from crm_replicator.read_model import DataApiReadModel

# Created at import so warm invocations reuse the connection pools (and the schema check).
_model = DataApiReadModel(
    boto3.client("rds-data"),
    cluster_arn=os.environ["DATABASE_CLUSTER_ARN"],
    secret_arn=os.environ["DATABASE_SECRET_ARN"],
    database=os.environ["DATABASE_NAME"],
)
_dead_letters = replication.SqsDeadLetters(boto3.client("sqs"), os.environ["DEAD_LETTER_QUEUE_URL"])


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tally = replication.replicate_batch(
        event.get("Records") or [], model=_model, dead_letters=_dead_letters
    )
    for name, value in (
        ("RecordsApplied", tally.applied),
        ("RecordsStale", tally.stale),
        ("RecordsSuperseded", tally.superseded),
        ("RowsPurged", tally.purged),
        ("RecordsParked", tally.parked),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("batch replicated", extra=tally.to_json())
    return tally.to_json()
