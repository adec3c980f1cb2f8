"""``ReadModel`` on Aurora PostgreSQL through the RDS Data API.

The Data API is HTTPS in front of the cluster: the replicator needs no VPC, no driver and
no connection pool, and the database sees at most one statement per running replicator at a
time (its reserved concurrency), never a storm of connections.

Schema: created by the replicator itself, once per execution environment, before its first
batch: one idempotent statement under an advisory lock, so replicators starting together
cannot trip over ``CREATE TABLE IF NOT EXISTS`` (not safe against a concurrent twin).

``accounts`` holds one row per account id: the newest version the copy has heard of, live
or a tombstone (``deleted``), with ``updated_at`` (the write's time on the write side) and
``replicated_at`` (the database's clock when the row was written): the difference is how
far behind the copy was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from botocore.exceptions import ClientError
from common_layer.observability import logger, traced

from crm_replicator.replication import Purge, Upsert

# Any fixed number: the key of the advisory lock that serialises migrations.
MIGRATION_LOCK = 5_318_008_271

MIGRATION = f"""
DO $$
BEGIN
    PERFORM pg_advisory_xact_lock({MIGRATION_LOCK});
    CREATE TABLE IF NOT EXISTS accounts (
        account_id    text PRIMARY KEY,
        name          varchar(200),
        email         varchar(254),
        plan          text,
        version       bigint NOT NULL CHECK (version > 0),
        deleted       boolean NOT NULL DEFAULT false,
        updated_at    timestamptz NOT NULL,
        replicated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CHECK (deleted OR (name IS NOT NULL AND email IS NOT NULL AND plan IS NOT NULL))
    );
    CREATE INDEX IF NOT EXISTS accounts_live_by_plan ON accounts (plan) WHERE NOT deleted;
END
$$
"""

# Newest write wins: a row is only overwritten by a higher version. A replay, a retried
# batch or a late older record finds the WHERE false and changes nothing (0 rows).
# A tombstone is a row like any other, so an older upsert cannot resurrect a deleted account.
UPSERT = """
INSERT INTO accounts AS current
    (account_id, name, email, plan, version, deleted, updated_at, replicated_at)
VALUES
    (:account_id, :name, :email, :plan, :version, :deleted,
     CAST(:updated_at AS timestamptz), clock_timestamp())
ON CONFLICT (account_id) DO UPDATE SET
    name = excluded.name,
    email = excluded.email,
    plan = excluded.plan,
    version = excluded.version,
    deleted = excluded.deleted,
    updated_at = excluded.updated_at,
    replicated_at = excluded.replicated_at
WHERE excluded.version > current.version
"""

# The item left the table at this version: the row goes unless a newer one replicated.
PURGE = """
DELETE FROM accounts
WHERE account_id = :account_id
  AND (CAST(:version AS bigint) IS NULL OR version <= CAST(:version AS bigint))
"""

# Seconds to wait before each retry while an auto-paused instance resumes (the Data API
# answers DatabaseResumingException meanwhile). 15 s in all fits the 60 s timeout; if the
# database is still not back, the batch fails and the event source mapping retries it.
RESUME_BACKOFF = (1.0, 2.0, 4.0, 8.0)

Parameter = dict[str, Any]


def string(name: str, value: str | None) -> Parameter:
    """A Data API string parameter (SQL NULL for None)."""
    if value is None:
        return {"name": name, "value": {"isNull": True}}
    return {"name": name, "value": {"stringValue": value}}


def long(name: str, value: int) -> Parameter:
    return {"name": name, "value": {"longValue": value}}


def boolean(name: str, value: bool) -> Parameter:
    return {"name": name, "value": {"booleanValue": value}}


class DataApiReadModel:
    """``ReadModel`` on an Aurora cluster with the Data API (HTTP endpoint) enabled."""

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
                if error.response.get("Error", {}).get("Code") != "DatabaseResumingException":
                    raise
                delay = next(retries, None)
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

    def upsert(self, change: Upsert) -> bool:
        response = self.execute(
            UPSERT,
            [
                string("account_id", change.account_id),
                string("name", change.name),
                string("email", change.email),
                string("plan", change.plan),
                long("version", change.version),
                boolean("deleted", change.deleted),
                string("updated_at", change.updated_at),
            ],
        )
        # 1: this version won; 0: the copy already had it or a newer one.
        return int(response.get("numberOfRecordsUpdated", 0)) == 1

    def purge(self, change: Purge) -> bool:
        response = self.execute(
            PURGE,
            [
                string("account_id", change.account_id),
                {"name": "version", "value": {"isNull": True}}
                if change.version is None
                else long("version", change.version),
            ],
        )
        return int(response.get("numberOfRecordsUpdated", 0)) == 1
