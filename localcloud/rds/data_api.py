"""The RDS Data API, for real: statements run on the cluster's PostgreSQL database.

Each call is checked the way the service checks it, in this order:

1. ``resourceArn`` names an existing DB cluster of the local cloud whose HTTP endpoint is
   enabled, else ``HttpEndpointNotEnabledException`` ("HttpEndpoint is not enabled for
   resource <arn>"), the answer the service gives for an unknown cluster too;
2. the cluster has a DB instance, else ``DatabaseNotFoundException``;
3. ``secretArn`` is a Secrets Manager secret that can be read (``SecretsErrorException``)
   holding a JSON object with ``username`` and ``password`` (``InvalidSecretException``);
4. the credentials are valid: the cluster's master user must give the cluster's master
   password, any other user is checked by PostgreSQL itself; a wrong password fails as the
   database does: ``DatabaseErrorException`` 'FATAL: password authentication failed for user
   "x"; SQLState: 28P01';
5. ``database`` (default: the user name, as PostgreSQL does) is one of the cluster's
   databases, else 'ERROR: database "x" does not exist; SQLState: 3D000'.

Then the SQL runs as that user (a pooled superuser connection switched with ``SET SESSION
AUTHORIZATION``), one statement per call. Without ``transactionId`` the statement is committed
at once (a batch is all or nothing: its parameter sets run in one implicit transaction, like
a JDBC batch in autocommit mode); with one, it runs in that transaction. A transaction ends with
CommitTransaction ("Transaction Committed"), RollbackTransaction ("Rollback Complete"), an
error in one of its statements (the service rolls it back), or three minutes without a call
(``transaction_timeout``); afterwards its id answers ``TransactionNotFoundException`` naming
the cause. A statement runs at most ``statement_timeout`` seconds (45 by default, as the
service) unless ``continueAfterTimeout`` is set; past it, ``StatementTimeoutException``.
``schema`` is accepted and ignored: the service documents it as not supported.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql as pgsql

from localcloud.rds import errors
from localcloud.rds.clusters import ENGINE, ClusterDatabases, ClusterStore, master_credentials
from localcloud.rds.errors import DataApiError, bad_request, database_error
from localcloud.rds.statements import TranslatedSql, translate
from localcloud.rds.values import (
    ColumnInfo,
    ResultOptions,
    build_adapters,
    column_metadata,
    describe_columns,
    formatted_records,
    parameter_value,
    to_field,
)

log = logging.getLogger("localcloud.rds")

TRANSACTION_TIMEOUT_ENV = "LOCALCLOUD_RDS_TRANSACTION_TIMEOUT"
DEFAULT_TRANSACTION_TIMEOUT = 180.0  # "a transaction times out ... in three minutes"
DEFAULT_STATEMENT_TIMEOUT = 45.0  # "a call times out ... in 45 seconds"

_CLUSTER_ARN = re.compile(r"^arn:[^:]+:rds:(?P<region>[^:]+):(?P<account>\d+):cluster:(?P<id>.+)$")
_SECRET_ARN = re.compile(r"^arn:[^:]+:secretsmanager:(?P<region>[^:]+):(?P<account>\d+):secret:")
_UPDATE_COMMANDS = {"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"}
_MAX_IDLE_PER_KEY = 8
_MAX_ENDED = 10_000
_AUTH_CACHE_SECONDS = 5.0

CAUSE_EXPIRED = "Transaction may be expired"
CAUSE_ENDED = "One previous call resulted in a termination of your transaction"
CAUSE_ABORTED = "Transaction has been aborted due to an error from a previous call"
CAUSE_CLUSTER_DELETED = "Transaction has been aborted because its DB cluster was deleted"

_ADAPTERS = build_adapters()


@dataclass
class _Target:
    """Where a call runs: the cluster, its databases, the server database and the user."""

    cluster: Any
    record: ClusterDatabases
    physical_database: str
    user: str


@dataclass
class _Transaction:
    transaction_id: str
    cluster_arn: str
    target: _Target
    conn: psycopg.Connection[Any]
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Pool:
    """Idle superuser connections per (server database, user), already switched to the user."""

    def __init__(self, store: ClusterStore) -> None:
        self._store = store
        self._idle: dict[tuple[str, str], list[psycopg.Connection[Any]]] = {}
        self._lock = threading.Lock()
        self._timeouts: dict[int, float] = {}

    def acquire(self, database: str, user: str) -> psycopg.Connection[Any]:
        with self._lock:
            idle = self._idle.get((database, user))
            while idle:
                conn = idle.pop()
                if not conn.closed:
                    return conn
        try:
            conn = self._store.server().connect(database, context=_ADAPTERS)
        except psycopg.Error as exc:
            raise errors.from_postgres(exc) from exc
        try:
            conn.execute(pgsql.SQL("SET SESSION AUTHORIZATION {}").format(pgsql.Identifier(user)))
        except psycopg.Error as exc:
            self.discard(conn)
            raise errors.from_postgres(exc) from exc
        return conn

    def release(self, conn: psycopg.Connection[Any], database: str, user: str) -> None:
        reusable = (
            not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        )
        if reusable:
            with self._lock:
                idle = self._idle.setdefault((database, user), [])
                if len(idle) < _MAX_IDLE_PER_KEY:
                    idle.append(conn)
                    return
        self.discard(conn)

    def discard(self, conn: psycopg.Connection[Any]) -> None:
        self._timeouts.pop(id(conn), None)
        with contextlib.suppress(Exception):
            conn.close()

    def set_statement_timeout(self, conn: psycopg.Connection[Any], seconds: float) -> None:
        if self._timeouts.get(id(conn)) == seconds:
            return
        conn.execute(
            pgsql.SQL("SET statement_timeout = {}").format(pgsql.Literal(int(seconds * 1000)))
        )
        self._timeouts[id(conn)] = seconds

    def forget_databases(self, databases: Collection[str]) -> None:
        """Close the idle connections to ``databases`` (about to be dropped)."""
        with self._lock:
            keys = [key for key in self._idle if key[0] in databases]
            closing = [conn for key in keys for conn in self._idle.pop(key)]
        for conn in closing:
            self.discard(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                self.discard(conn)


def _required(request: Mapping[str, Any], name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{name} is required")
    return value


def _connect_error(exc: psycopg.Error) -> DataApiError:
    """A connection refused by PostgreSQL (authentication) as the service reports it."""
    text = str(exc)
    match = re.search(r"FATAL:\s+(.*)", text)
    message = f"FATAL: {match.group(1).strip()}" if match else text.strip()
    sqlstate = getattr(exc, "sqlstate", None)
    if not sqlstate:
        if "password authentication failed" in message:
            sqlstate = "28P01"
        elif "permission denied" in message:
            sqlstate = "42501"
        elif "does not exist" in message:
            sqlstate = "3D000"
        else:
            sqlstate = "08006"
    return database_error(message, sqlstate)


def _records_updated(status: str | None) -> int:
    parts = (status or "").split()
    if parts and parts[0] in _UPDATE_COMMANDS and parts[-1].isdigit():
        return int(parts[-1])
    return 0


class DataApi:
    """ExecuteStatement, BatchExecuteStatement and transactions on the local clusters."""

    def __init__(
        self,
        store: ClusterStore,
        *,
        transaction_timeout: float | None = None,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> None:
        self.store = store
        configured = os.environ.get(TRANSACTION_TIMEOUT_ENV)
        self.transaction_timeout = transaction_timeout or float(
            configured or DEFAULT_TRANSACTION_TIMEOUT
        )
        self.statement_timeout = statement_timeout
        self._pool = _Pool(store)
        self._transactions: dict[str, _Transaction] = {}
        self._ended: dict[str, str] = {}
        self._lock = threading.Lock()
        self._auth_cache: dict[tuple[str, str, str], float] = {}
        self._stopping = threading.Event()
        store.drop_listeners.append(self._databases_dropped)
        self._reaper = threading.Thread(
            target=self._reap_loop, name="localcloud-rds-data-transactions", daemon=True
        )
        self._reaper.start()

    # -- the operations ------------------------------------------------------------------

    def execute_statement(
        self, account_id: str, region: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        sql_text = _required(request, "sql")
        parameters = list(request.get("parameters") or [])
        options = ResultOptions.parse(request.get("resultSetOptions"))
        as_json = request.get("formatRecordsAs", "NONE") == "JSON"
        metadata = bool(request.get("includeResultMetadata"))
        timeout = 0.0 if request.get("continueAfterTimeout") else self.statement_timeout
        translated, values = self._prepare(sql_text, parameters)
        with self._session(account_id, region, request) as conn:
            if not request.get("transactionId"):
                # (A SET inside a transaction would be undone with it: set at BEGIN instead.)
                self._pool.set_statement_timeout(conn, timeout)
            return self._run(conn, translated, values, options, metadata, as_json)

    def batch_execute_statement(
        self, account_id: str, region: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        sql_text = _required(request, "sql")
        parameter_sets = list(request.get("parameterSets") or [])
        prepared = [self._prepare(sql_text, list(s)) for s in parameter_sets] or [
            self._prepare(sql_text, [])
        ]
        in_transaction = bool(request.get("transactionId"))
        with self._session(account_id, region, request) as conn:
            if not in_transaction:
                self._pool.set_statement_timeout(conn, self.statement_timeout)
                conn.execute(b"BEGIN")
            try:
                for translated, values in prepared:
                    self._execute(conn, translated, values).close()
                if not in_transaction:
                    conn.execute(b"COMMIT")
            except BaseException:
                if not in_transaction and not conn.closed:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute(b"ROLLBACK")
                raise
        return {"updateResults": [{"generatedFields": []} for _ in parameter_sets]}

    def begin_transaction(
        self, account_id: str, region: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        cluster_arn = _required(request, "resourceArn")
        target = self._target(account_id, region, request)
        conn = self._pool.acquire(target.physical_database, target.user)
        try:
            self._pool.set_statement_timeout(conn, self.statement_timeout)
            conn.execute(b"BEGIN")
        except psycopg.Error as exc:
            self._pool.discard(conn)
            raise errors.from_postgres(exc) from exc
        transaction_id = base64.b64encode(os.urandom(96)).decode("ascii")
        with self._lock:
            self._transactions[transaction_id] = _Transaction(
                transaction_id, cluster_arn, target, conn, time.monotonic()
            )
        return {"transactionId": transaction_id}

    def commit_transaction(
        self, account_id: str, region: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._end_transaction(account_id, region, request, b"COMMIT")
        return {"transactionStatus": "Transaction Committed"}

    def rollback_transaction(
        self, account_id: str, region: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._end_transaction(account_id, region, request, b"ROLLBACK")
        return {"transactionStatus": "Rollback Complete"}

    def close(self) -> None:
        """Roll back open transactions and close every connection (the cloud is stopping)."""
        self._stopping.set()
        with self._lock:
            transactions, self._transactions = self._transactions, {}
        for transaction in transactions.values():
            self._pool.discard(transaction.conn)
        self._pool.close()

    def _databases_dropped(self, databases: list[str]) -> None:
        """The cluster owning ``databases`` was deleted: end its transactions and sessions."""
        with self._lock:
            doomed = [
                t for t in self._transactions.values() if t.target.physical_database in databases
            ]
        for transaction in doomed:
            self._abort(transaction, CAUSE_CLUSTER_DELETED)
        self._pool.forget_databases(databases)

    def transaction_ids(self) -> list[str]:
        with self._lock:
            return list(self._transactions)

    # -- resolving a call ----------------------------------------------------------------

    def _cluster(self, account_id: str, region: str, resource_arn: str) -> Any:
        from moto.rds.models import rds_backends

        match = _CLUSTER_ARN.match(resource_arn)
        if match is None:
            raise errors.http_endpoint_not_enabled(resource_arn)
        try:
            backend = rds_backends[match["account"]][match["region"]]
        except KeyError:
            raise errors.http_endpoint_not_enabled(resource_arn) from None
        cluster = backend.clusters.get(match["id"].lower())
        if (
            cluster is None
            or cluster.db_cluster_arn != resource_arn
            or cluster.engine != ENGINE
            or not cluster.enable_http_endpoint
        ):
            raise errors.http_endpoint_not_enabled(resource_arn)
        return cluster

    def _secret(self, cluster: Any, secret_arn: str) -> tuple[str, str]:
        from moto.secretsmanager.models import secretsmanager_backends

        match = _SECRET_ARN.match(secret_arn)
        account, region = (
            (match["account"], match["region"]) if match else (cluster.account_id, cluster.region)
        )
        secrets: Any = secretsmanager_backends[account][region]
        try:
            value = secrets.get_secret_value(secret_arn, None, "AWSCURRENT")
        except Exception as exc:
            reason = getattr(exc, "message", None) or str(exc)
            raise DataApiError(
                "SecretsErrorException", f"Error fetching secret {secret_arn} : {reason}"
            ) from None
        try:
            document = json.loads(value.get("SecretString") or "")
            username, password = document["username"], document["password"]
            if not isinstance(username, str) or not isinstance(password, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise DataApiError(
                "InvalidSecretException",
                f"The secret {secret_arn} must be a JSON object with username and password",
            ) from None
        return username, password

    def _authenticate(
        self, cluster: Any, physical_database: str, username: str, password: str
    ) -> None:
        master_user, master_password = master_credentials(cluster)
        if username == master_user:
            if password != master_password:
                raise database_error(
                    f'FATAL: password authentication failed for user "{username}"', "28P01"
                )
            return
        key = (physical_database, username, password)
        if self._auth_cache.get(key, 0.0) > time.monotonic():
            return
        try:
            with self.store.server().connect(physical_database, user=username, password=password):
                pass
        except psycopg.Error as exc:
            raise _connect_error(exc) from exc
        self._auth_cache[key] = time.monotonic() + _AUTH_CACHE_SECONDS

    def _target(self, account_id: str, region: str, request: Mapping[str, Any]) -> _Target:
        resource_arn = _required(request, "resourceArn")
        secret_arn = _required(request, "secretArn")
        cluster = self._cluster(account_id, region, resource_arn)
        if not cluster.members:
            raise DataApiError(
                "DatabaseNotFoundException",
                f"The DB cluster {cluster.db_cluster_identifier} doesn't have a DB instance",
            )
        record = self.store.record(cluster)
        if record is None:
            raise DataApiError(
                "DatabaseUnavailableException",
                f"The DB cluster {cluster.db_cluster_identifier} has no local database "
                "(it was created while the local cloud's PostgreSQL was not running)",
            )
        username, password = self._secret(cluster, secret_arn)
        database = request.get("database") or username
        try:
            physical = self.store.physical_name(record, str(database))
        except psycopg.Error as exc:
            raise errors.from_postgres(exc) from exc
        if physical is None:
            raise database_error(f'ERROR: database "{database}" does not exist', "3D000")
        self._authenticate(cluster, physical, username, password)
        return _Target(cluster, record, physical, username)

    # -- running statements --------------------------------------------------------------

    @staticmethod
    def _prepare(
        sql_text: str, parameters: Sequence[Mapping[str, Any]]
    ) -> tuple[TranslatedSql, list[Any]]:
        by_name: dict[str, Any] = {}
        for parameter in parameters:
            name = parameter.get("name")
            if not name:
                raise bad_request("Parameter name is required")
            by_name[str(name)] = parameter_value(parameter)
        translated = translate(sql_text, by_name.keys())
        if translated.statements > 1:
            raise database_error(
                "ERROR: cannot insert multiple commands into a prepared statement", "42601"
            )
        return translated, [by_name[name] for name in translated.names]

    @contextlib.contextmanager
    def _session(
        self, account_id: str, region: str, request: Mapping[str, Any]
    ) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one call: the call's transaction, or a pooled autocommit one."""
        transaction_id = request.get("transactionId")
        if transaction_id:
            transaction = self._transaction(account_id, region, request)
            with transaction.lock:
                try:
                    yield transaction.conn
                except DataApiError as exc:
                    if exc.code in ("DatabaseErrorException", "StatementTimeoutException"):
                        self._abort(transaction, CAUSE_ABORTED)
                    raise
                except psycopg.Error as exc:
                    self._abort(transaction, CAUSE_ABORTED)
                    raise errors.from_postgres(exc) from exc
                finally:
                    transaction.last_used = time.monotonic()
            return
        target = self._target(account_id, region, request)
        conn = self._pool.acquire(target.physical_database, target.user)
        try:
            yield conn
        except psycopg.Error as exc:
            self._pool.release(conn, target.physical_database, target.user)
            raise errors.from_postgres(exc) from exc
        except BaseException:
            self._pool.release(conn, target.physical_database, target.user)
            raise
        self._pool.release(conn, target.physical_database, target.user)

    def _execute(
        self, conn: psycopg.Connection[Any], translated: TranslatedSql, values: list[Any]
    ) -> psycopg.Cursor[Any]:
        cursor = conn.cursor()
        if translated.has_placeholders:
            cursor.execute(translated.text.encode(), values)
        else:
            # No placeholders: the text goes as it is ("%" needs no escaping then).
            cursor.execute(translated.text.replace("%%", "%").encode())
        return cursor

    def _run(
        self,
        conn: psycopg.Connection[Any],
        translated: TranslatedSql,
        values: list[Any],
        options: ResultOptions,
        metadata: bool,
        as_json: bool,
    ) -> dict[str, Any]:
        with self._execute(conn, translated, values) as cursor:
            updated = _records_updated(cursor.statusmessage)
            description = cursor.description
            if description is None:
                return {"numberOfRecordsUpdated": updated, "generatedFields": []}
            rows = cursor.fetchall()
            result = cursor.pgresult
            columns = [
                ColumnInfo(
                    label=column.name,
                    type_oid=int(column.type_code),
                    type_modifier=result.fmod(index) if result is not None else -1,
                    table_oid=result.ftable(index) if result is not None else 0,
                    table_column=result.ftablecol(index) if result is not None else 0,
                )
                for index, column in enumerate(description)
            ]
        oids = [column.type_oid for column in columns]
        response: dict[str, Any] = {"numberOfRecordsUpdated": updated}
        if as_json:
            labels = [column.label for column in columns]
            response["formattedRecords"] = formatted_records(labels, oids, rows, options)
            return response
        response["records"] = [
            [to_field(value, oid, options) for value, oid in zip(row, oids, strict=True)]
            for row in rows
        ]
        if metadata:
            describe_columns(conn, columns)
            response["columnMetadata"] = [column_metadata(column) for column in columns]
        return response

    # -- transactions --------------------------------------------------------------------

    def _transaction(
        self, account_id: str, region: str, request: Mapping[str, Any]
    ) -> _Transaction:
        transaction_id = _required(request, "transactionId")
        resource_arn = _required(request, "resourceArn")
        secret_arn = _required(request, "secretArn")
        cluster = self._cluster(account_id, region, resource_arn)
        with self._lock:
            transaction = self._transactions.get(transaction_id)
            cause = self._ended.get(transaction_id)
        if transaction is None or transaction.cluster_arn != resource_arn:
            raise errors.transaction_not_found(transaction_id, cause)
        username, _password = self._secret(cluster, secret_arn)
        if username != transaction.target.user:
            raise errors.transaction_not_found(transaction_id)
        return transaction

    def _forget(self, transaction: _Transaction, cause: str) -> bool:
        with self._lock:
            if self._transactions.pop(transaction.transaction_id, None) is None:
                return False
            self._ended[transaction.transaction_id] = cause
            while len(self._ended) > _MAX_ENDED:
                self._ended.pop(next(iter(self._ended)))
        return True

    def _abort(self, transaction: _Transaction, cause: str) -> None:
        if self._forget(transaction, cause):
            with contextlib.suppress(psycopg.Error):
                transaction.conn.execute(b"ROLLBACK")
            target = transaction.target
            self._pool.release(transaction.conn, target.physical_database, target.user)

    def _end_transaction(
        self, account_id: str, region: str, request: Mapping[str, Any], command: bytes
    ) -> None:
        transaction = self._transaction(account_id, region, request)
        with transaction.lock:
            if not self._forget(transaction, CAUSE_ENDED):
                raise errors.transaction_not_found(
                    transaction.transaction_id, self._ended.get(transaction.transaction_id)
                )
            target = transaction.target
            try:
                transaction.conn.execute(command)
            except psycopg.Error as exc:
                self._pool.discard(transaction.conn)
                raise errors.from_postgres(exc) from exc
            self._pool.release(transaction.conn, target.physical_database, target.user)

    def _reap_loop(self) -> None:
        while not self._stopping.wait(min(1.0, max(self.transaction_timeout / 4, 0.05))):
            self.expire_idle_transactions()

    def expire_idle_transactions(self) -> None:
        """Roll back transactions idle for longer than ``transaction_timeout``."""
        deadline = time.monotonic() - self.transaction_timeout
        with self._lock:
            idle = [t for t in self._transactions.values() if t.last_used < deadline]
        for transaction in idle:
            # Skip one a call is using right now; it is no longer idle.
            if transaction.lock.acquire(blocking=False):
                try:
                    if transaction.last_used < deadline:
                        log.info("transaction %s expired", transaction.transaction_id[:12])
                        self._abort(transaction, CAUSE_EXPIRED)
                finally:
                    transaction.lock.release()
