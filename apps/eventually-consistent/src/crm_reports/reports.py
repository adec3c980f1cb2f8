"""What the reporting side answers, read from the PostgreSQL copy of the accounts.

The copy is eventually consistent with the write side: a read here shows the newest version
the replicator has applied, which trails DynamoDB by the replication lag (usually about a
second; longer while the database resumes or a batch is retried). Each answer says which
version it is and how far behind the write it was replicated, so a caller can tell.

The database is the ``AccountReports`` port: a fake in unit tests, the RDS Data API
(``DataApiAccountReports``) in Lambda.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

ACCOUNT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class InvalidInput(ValueError):
    """The request breaks a rule; the message names it."""


class NotReplicated(LookupError):
    """The copy has no such account (yet, or any more); the message says which."""


class DatabaseResuming(RuntimeError):
    """The database was paused (no traffic for a while) and is starting: ask again soon."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    account_id: str
    name: str | None
    email: str | None
    plan: str | None
    version: int
    deleted: bool
    updated_at: str
    replicated_at: str
    lag_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "name": self.name,
            "email": self.email,
            "plan": self.plan,
            "version": self.version,
            "updated_at": self.updated_at,
            "replicated_at": self.replicated_at,
            "replication_lag_ms": self.lag_ms,
        }


class AccountReports(Protocol):
    def account(self, account_id: str) -> AccountRow | None:
        """The copy's row (live or tombstone), or None."""
        ...

    def plans(self) -> dict[str, int]:
        """Live accounts per plan."""
        ...


def account_report(reports: AccountReports, account_id: str) -> AccountRow:
    if not ACCOUNT_ID_PATTERN.fullmatch(account_id):
        raise InvalidInput(
            "path parameter 'account_id' must be 1 to 64 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    row = reports.account(account_id)
    if row is None:
        raise NotReplicated(f"account {account_id!r} is not in the reporting copy (yet)")
    if row.deleted:
        raise NotReplicated(f"account {account_id!r} was deleted (version {row.version})")
    return row


_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'

SELECT_ACCOUNT = f"""
SELECT account_id, name, email, plan, version, deleted,
       to_char(updated_at AT TIME ZONE 'UTC', '{_ISO}') AS updated_at,
       to_char(replicated_at AT TIME ZONE 'UTC', '{_ISO}') AS replicated_at,
       CAST(round(extract(epoch FROM replicated_at - updated_at) * 1000) AS bigint) AS lag_ms
FROM accounts WHERE account_id = :account_id
"""

SELECT_PLANS = """
SELECT plan, count(*) AS accounts FROM accounts WHERE NOT deleted GROUP BY plan ORDER BY plan
"""


def _missing_table(error: ClientError) -> bool:
    # Before the replicator's first batch the table does not exist: nothing replicated yet.
    return 'relation "accounts" does not exist' in str(error)


class DataApiAccountReports:
    """``AccountReports`` on the Aurora cluster, through the Data API."""

    def __init__(self, client: Any, cluster_arn: str, secret_arn: str, database: str) -> None:
        self._client = client
        self._target = {"resourceArn": cluster_arn, "secretArn": secret_arn, "database": database}

    def _query(self, sql: str, **params: str) -> list[dict[str, Any]]:
        try:
            response = self._client.execute_statement(
                **self._target,
                sql=sql,
                parameters=[{"name": k, "value": {"stringValue": v}} for k, v in params.items()],
                formatRecordsAs="JSON",
            )
        except ClientError as error:
            if _missing_table(error):
                return []
            if error.response.get("Error", {}).get("Code") == "DatabaseResumingException":
                # A reader should not wait ~15 s inside a request: say so and when to retry.
                raise DatabaseResuming(
                    "the reporting database is resuming after a pause; retry in a few seconds"
                ) from None
            raise
        rows: list[dict[str, Any]] = json.loads(response.get("formattedRecords") or "[]")
        return rows

    def account(self, account_id: str) -> AccountRow | None:
        rows = self._query(SELECT_ACCOUNT, account_id=account_id)
        if not rows:
            return None
        row = rows[0]
        return AccountRow(
            account_id=row["account_id"],
            name=row.get("name"),
            email=row.get("email"),
            plan=row.get("plan"),
            version=int(row["version"]),
            deleted=bool(row["deleted"]),
            updated_at=row["updated_at"],
            replicated_at=row["replicated_at"],
            lag_ms=int(row["lag_ms"]),
        )

    def plans(self) -> dict[str, int]:
        return {str(row["plan"]): int(row["accounts"]) for row in self._query(SELECT_PLANS)}
