"""``WebhookStore`` on Aurora PostgreSQL through the RDS Data API.

The Data API is an HTTPS endpoint in front of the cluster: the function needs no VPC, no
driver and no connection pool, and the database sees a bounded number of statements at a
time (the consumer's maximum concurrency), never a storm of new connections.

Schema: created by the consumer itself, once per execution environment, before its first
batch (``ensure_schema``). The migration is one idempotent statement under an advisory
lock, so cold starts racing each other cannot fail on ``CREATE TABLE IF NOT EXISTS``
(PostgreSQL does not make that statement safe against a concurrent twin).

Tables:

- ``webhook_events``: one row per event id (``INSERT ... ON CONFLICT (event_id) DO
  NOTHING``), whatever SQS or the sender delivers twice.
- ``webhook_batches``: one row per batch the consumer ran, started and finished by the
  database's clock, with how its messages ended: how far behind the consumer is, how long
  batches take, and how many ran at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError
from common_layer.observability import logger, traced

from webhook_consumer.ingest import BatchTally, Webhook

# Any fixed number: the key of the advisory lock that serialises migrations.
MIGRATION_LOCK = 7_235_164_112

MIGRATION = f"""
DO $$
BEGIN
    PERFORM pg_advisory_xact_lock({MIGRATION_LOCK});
    CREATE TABLE IF NOT EXISTS webhook_events (
        event_id    uuid PRIMARY KEY,
        source      text NOT NULL,
        delivery_id text,
        event_type  text NOT NULL,
        occurred_at timestamptz,
        received_at timestamptz NOT NULL,
        payload     jsonb NOT NULL,
        batch_id    uuid NOT NULL,
        stored_at   timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX IF NOT EXISTS webhook_events_by_source
        ON webhook_events (source, received_at);
    CREATE TABLE IF NOT EXISTS webhook_batches (
        batch_id      uuid PRIMARY KEY,
        request_id    text NOT NULL,
        records       integer NOT NULL,
        started_at    timestamptz NOT NULL,
        finished_at   timestamptz,
        stored        integer,
        duplicates    integer,
        dead_lettered integer,
        failed        integer
    );
    CREATE INDEX IF NOT EXISTS webhook_batches_by_start ON webhook_batches (started_at);
END
$$
"""

# Casts rather than Data API type hints: plain strings in, PostgreSQL does the parsing.
INSERT_EVENT = """
INSERT INTO webhook_events
    (event_id, source, delivery_id, event_type, occurred_at, received_at, payload, batch_id)
VALUES
    (CAST(:event_id AS uuid), :source, :delivery_id, :event_type,
     CAST(:occurred_at AS timestamptz), CAST(:received_at AS timestamptz),
     CAST(:payload AS jsonb), CAST(:batch_id AS uuid))
ON CONFLICT (event_id) DO NOTHING
"""

BEGIN_BATCH = """
INSERT INTO webhook_batches (batch_id, request_id, records, started_at)
VALUES (CAST(:batch_id AS uuid), :request_id, :records, clock_timestamp())
"""

FINISH_BATCH = """
UPDATE webhook_batches
SET finished_at = clock_timestamp(), stored = :stored, duplicates = :duplicates,
    dead_lettered = :dead_lettered, failed = :failed
WHERE batch_id = CAST(:batch_id AS uuid)
"""

# Seconds to wait before each retry while an auto-paused instance resumes (the Data API
# answers DatabaseResumingException meanwhile). 15 s in all fits the 30 s timeout; if the
# database is still not back, the batch fails and SQS delivers it again later.
RESUME_BACKOFF = (1.0, 2.0, 4.0, 8.0)

Parameter = dict[str, Any]


def string(name: str, value: str | None) -> Parameter:
    """A Data API string parameter (SQL NULL for None)."""
    if value is None:
        return {"name": name, "value": {"isNull": True}}
    return {"name": name, "value": {"stringValue": value}}


def long(name: str, value: int) -> Parameter:
    return {"name": name, "value": {"longValue": value}}


class DataApiWebhookStore:
    """``WebhookStore`` on an Aurora cluster with the Data API (HTTP endpoint) enabled."""

    def __init__(
        self,
        client: Any,
        cluster_arn: str,
        secret_arn: str,
        database: str,
        *,
        resume_backoff: Sequence[float] = RESUME_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._target = {"resourceArn": cluster_arn, "secretArn": secret_arn, "database": database}
        self._resume_backoff = tuple(resume_backoff)
        self._sleep = sleep
        self._schema_ready = False

    def execute(self, sql: str, parameters: Iterable[Parameter] = ()) -> dict[str, Any]:
        """Run one statement; wait out a resuming database a few times, then give up."""
        retries = iter(self._resume_backoff)
        while True:
            try:
                response: dict[str, Any] = self._client.execute_statement(
                    **self._target, sql=sql, parameters=list(parameters)
                )
                return response
            except ClientError as error:
                delay = next(retries, None)
                if error.response.get("Error", {}).get("Code") != "DatabaseResumingException":
                    raise
                if delay is None:
                    raise
                logger.info("database is resuming; retrying", extra={"delay_s": delay})
                self._sleep(delay)

    @traced
    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        self.execute(MIGRATION)
        self._schema_ready = True

    def begin_batch(self, batch_id: str, request_id: str, records: int) -> None:
        self.execute(
            BEGIN_BATCH,
            [
                string("batch_id", batch_id),
                string("request_id", request_id),
                long("records", records),
            ],
        )

    def insert(self, webhook: Webhook, batch_id: str) -> bool:
        response = self.execute(
            INSERT_EVENT,
            [
                string("event_id", webhook.event_id),
                string("source", webhook.source),
                string("delivery_id", webhook.delivery_id),
                string("event_type", webhook.event_type),
                string("occurred_at", webhook.occurred_at),
                string("received_at", webhook.received_at),
                string("payload", webhook.payload_json()),
                string("batch_id", batch_id),
            ],
        )
        # 1: this call stored it; 0: the event id was stored before (a redelivery).
        return int(response.get("numberOfRecordsUpdated", 0)) == 1

    def finish_batch(self, batch_id: str, tally: BatchTally) -> None:
        self.execute(
            FINISH_BATCH,
            [
                string("batch_id", batch_id),
                long("stored", tally.stored),
                long("duplicates", tally.duplicates),
                long("dead_lettered", tally.dead_lettered),
                long("failed", tally.failed),
            ],
        )
