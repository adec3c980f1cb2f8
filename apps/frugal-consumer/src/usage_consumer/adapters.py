"""The consumer's ports on AWS: PostgreSQL through the RDS Data API, and the SQS DLQ.

``DataApiUsageStore`` keeps two tables:

- ``usage_records``: every record once, keyed by (producer, record_id); the ledger the
  totals can be rebuilt from, and the idempotency record. ``duplicate_deliveries`` counts
  how often a record arrived again (SQS redelivery or a producer's retry).
- ``daily_usage``: quantity and record count per (customer_id, meter, usage_date).

One statement inserts the record and adds it to its total: PostgreSQL runs it as one
transaction, so a record is either in both tables or in neither, and a second delivery of it
(even a concurrent one: the insert waits for the first to commit) finds the ledger row and
adds nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError
from common_layer.failures import dlq_envelope

from usage_consumer.usage import InvalidUsageRecord, MessageAttribute, QueueMessage, UsageRecord

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

# Concurrent cold starts create the schema at the same moment, and CREATE TABLE IF NOT EXISTS
# can still collide in PostgreSQL's catalog; a transaction-scoped advisory lock serialises
# them. One DO block is one statement, hence one Data API call and one transaction.
SCHEMA_SQL = """
DO $schema$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('usage_consumer.schema'));
    CREATE TABLE IF NOT EXISTS usage_records (
        producer text NOT NULL,
        record_id text NOT NULL,
        customer_id text NOT NULL,
        meter text NOT NULL,
        usage_date date NOT NULL,
        quantity bigint NOT NULL,
        occurred_at timestamptz NOT NULL,
        sqs_message_id text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        duplicate_deliveries integer NOT NULL DEFAULT 0,
        PRIMARY KEY (producer, record_id)
    );
    CREATE INDEX IF NOT EXISTS usage_records_by_customer_day
        ON usage_records (customer_id, usage_date);
    CREATE TABLE IF NOT EXISTS daily_usage (
        customer_id text NOT NULL,
        meter text NOT NULL,
        usage_date date NOT NULL,
        quantity bigint NOT NULL,
        record_count integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (customer_id, meter, usage_date)
    );
END
$schema$
"""

# The outer INSERT reports one row when the ledger insert happened, none for a duplicate.
ADD_RECORD_SQL = """
WITH fresh AS (
    INSERT INTO usage_records
        (producer, record_id, customer_id, meter, usage_date, quantity, occurred_at,
         sqs_message_id)
    VALUES
        (:producer, :record_id, :customer_id, :meter, CAST(:usage_date AS date), :quantity,
         CAST(:occurred_at AS timestamptz), :message_id)
    ON CONFLICT (producer, record_id) DO NOTHING
    RETURNING customer_id, meter, usage_date, quantity
)
INSERT INTO daily_usage AS total (customer_id, meter, usage_date, quantity, record_count)
SELECT customer_id, meter, usage_date, quantity, 1 FROM fresh
ON CONFLICT (customer_id, meter, usage_date) DO UPDATE
SET quantity = total.quantity + EXCLUDED.quantity,
    record_count = total.record_count + 1,
    updated_at = now()
"""

COUNT_DUPLICATE_SQL = """
UPDATE usage_records SET duplicate_deliveries = duplicate_deliveries + 1
WHERE producer = :producer AND record_id = :record_id
"""

# Aurora Serverless v2 at 0 ACUs pauses when idle. The Data API then answers
# DatabaseResumingException and starts the resume, which takes about 15 seconds: waiting
# here (the function's timeout leaves room) beats failing the batch and burning a receive.
RESUMING_ERROR = "DatabaseResumingException"
DEFAULT_RESUME_WAIT_SECONDS = 40.0


class DataApiClient(Protocol):
    """The part of boto3's ``rds-data`` client this module uses."""

    def execute_statement(self, **kwargs: Any) -> Mapping[str, Any]: ...


SqlParameter = dict[str, Any]


def _parameter(name: str, value: str | int) -> SqlParameter:
    typed = {"longValue": value} if isinstance(value, int) else {"stringValue": value}
    return {"name": name, "value": typed}


class DataApiUsageStore:
    """``UsageStore`` on Aurora PostgreSQL through the RDS Data API (no driver, no VPC).

    The schema is created on first use in each execution environment.
    """

    def __init__(
        self,
        client: DataApiClient,
        *,
        cluster_arn: str,
        secret_arn: str,
        database: str,
        resume_wait_seconds: float = DEFAULT_RESUME_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._target = {"resourceArn": cluster_arn, "secretArn": secret_arn, "database": database}
        self._resume_wait_seconds = resume_wait_seconds
        self._sleep = sleep
        self._monotonic = monotonic
        self._schema_ready = False

    def add(self, record: UsageRecord, message_id: str) -> bool:
        self._ensure_schema()
        key = [_parameter("producer", record.producer), _parameter("record_id", record.record_id)]
        response = self._execute(
            ADD_RECORD_SQL,
            [
                *key,
                _parameter("customer_id", record.customer_id),
                _parameter("meter", record.meter),
                _parameter("usage_date", record.usage_date.isoformat()),
                _parameter("quantity", record.quantity),
                _parameter("occurred_at", record.occurred_at.isoformat()),
                _parameter("message_id", message_id),
            ],
        )
        if response.get("numberOfRecordsUpdated", 0) > 0:
            return True
        # Not atomic with the check above, and need not be: the count is for people
        # (how often producers or SQS repeat themselves); the totals never depend on it.
        self._execute(COUNT_DUPLICATE_SQL, key)
        return False

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            self._execute(SCHEMA_SQL, [])
            self._schema_ready = True

    def _execute(self, sql: str, parameters: Sequence[SqlParameter]) -> Mapping[str, Any]:
        deadline = self._monotonic() + self._resume_wait_seconds
        pause = 1.0
        while True:
            try:
                return self._client.execute_statement(
                    **self._target, sql=sql, parameters=list(parameters)
                )
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code != RESUMING_ERROR or self._monotonic() + pause > deadline:
                    raise
            self._sleep(pause)
            pause = min(pause * 2, 5.0)


class SqsDeadLetterQueue:
    """``DeadLetters`` on an SQS queue: the common layer's envelope as the body, the
    producer's message attributes kept, so a redrive after the fix replays the message as
    it was sent."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def park(self, message: QueueMessage, reason: InvalidUsageRecord) -> None:
        envelope = dlq_envelope(message.body, reason, message.receive_count, message.source)
        attributes = {
            name: _sqs_attribute(attribute) for name, attribute in message.attributes.items()
        }
        self._client.send_message(
            QueueUrl=self._queue_url, MessageBody=json.dumps(envelope), MessageAttributes=attributes
        )


def _sqs_attribute(attribute: MessageAttribute) -> MessageAttributeValueTypeDef:
    if attribute.binary_value is not None:
        return {"DataType": attribute.data_type, "BinaryValue": attribute.binary_value}
    return {"DataType": attribute.data_type, "StringValue": attribute.string_value or ""}
