"""Aurora PostgreSQL clusters as databases of the local cloud's PostgreSQL server.

An ``aurora-postgresql`` DB cluster created in moto (by CreateDBCluster or CloudFormation)
gets, on the one local server (started by the first cluster):

- a login role named after its ``MasterUsername``, with its master password (roles are
  server-wide: clusters sharing a master user name share the role, and the most recent
  password wins for direct connections; the Data API checks each cluster's own password);
- a database for ``DatabaseName``, owned by that role, and on first use a database standing
  for the cluster's own ``postgres`` database.

A database keeps the cluster's name for it when that name is free on the server, so a direct
connection to ``Endpoint.Address``/``Endpoint.Port`` with ``DatabaseName`` works; a second
cluster with the same ``DatabaseName`` (and every cluster's ``postgres``) gets a name with
the cluster's suffix. Deleting the cluster drops its databases.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcloud.datastores.postgres import LazyPostgres, PostgresServer

log = logging.getLogger("localcloud.rds")

ENGINE = "aurora-postgresql"
_RESERVED = {"postgres", "template0", "template1"}
_MAX_IDENTIFIER = 63


@dataclass
class ClusterDatabases:
    """The local databases of one cluster (keyed by its stable resource id)."""

    resource_id: str
    master_username: str
    default_database: str | None
    databases: dict[str, str] = field(default_factory=dict)  # cluster's name -> server's name
    lock: threading.Lock = field(default_factory=threading.Lock)


def master_credentials(cluster: Any) -> tuple[str, str]:
    """The cluster's master user name and password (from its managed secret if it has one)."""
    username = str(cluster.master_username)
    if getattr(cluster, "manage_master_user_password", False) and hasattr(
        cluster, "master_user_secret"
    ):
        secret = cluster.master_user_secret
        value = secret.secretsmanager.get_secret_value(secret.secret_arn, None, "AWSCURRENT")
        document = json.loads(value["SecretString"])
        return str(document.get("username", username)), str(document["password"])
    return username, str(getattr(cluster, "_master_user_password", ""))


def _suffix(resource_id: str) -> str:
    return hashlib.sha1(resource_id.encode()).hexdigest()[:8]


class ClusterStore:
    """Creates, finds and drops the databases of clusters on the local server."""

    def __init__(self, postgres: LazyPostgres) -> None:
        self.postgres = postgres
        self._records: dict[str, ClusterDatabases] = {}
        self._lock = threading.Lock()
        # Called with the server's names of databases about to be dropped (to close sessions).
        self.drop_listeners: list[Callable[[list[str]], None]] = []

    def server(self) -> PostgresServer:
        return self.postgres.server()

    def record(self, cluster: Any) -> ClusterDatabases | None:
        with self._lock:
            return self._records.get(str(cluster.db_cluster_resource_id))

    def provision(self, cluster: Any) -> ClusterDatabases:
        """Create the role and the ``DatabaseName`` database of a new cluster."""
        server = self.server()
        username, password = master_credentials(cluster)
        server.ensure_role(username, password)
        record = ClusterDatabases(
            resource_id=str(cluster.db_cluster_resource_id),
            master_username=username,
            default_database=cluster.database_name or None,
        )
        if record.default_database:
            self._create(server, record, record.default_database)
        # Connections go to the local server: DescribeDBClusters tells its port.
        cluster.port = server.port
        with self._lock:
            self._records[record.resource_id] = record
        log.info("cluster %s: databases %s", cluster.db_cluster_identifier, record.databases)
        return record

    def physical_name(self, record: ClusterDatabases, database: str) -> str | None:
        """The server's name of the cluster's ``database``; None when the cluster has none.

        The cluster's ``postgres`` database is created on first use.
        """
        with record.lock:
            if database in record.databases:
                return record.databases[database]
            if database != "postgres":
                return None
            return self._create(self.server(), record, database)

    def _create(self, server: PostgresServer, record: ClusterDatabases, database: str) -> str:
        name = database
        if name in _RESERVED or server.database_exists(name):
            tail = f"_{_suffix(record.resource_id)}"
            name = database.encode()[: _MAX_IDENTIFIER - len(tail)].decode(errors="ignore") + tail
        server.create_database(name, record.master_username)
        record.databases[database] = name
        return name

    def set_master_password(self, cluster: Any) -> None:
        record = self.record(cluster)
        if record is not None:
            username, password = master_credentials(cluster)
            self.server().ensure_role(username, password)

    def deprovision(self, cluster: Any) -> None:
        """Drop the databases of a deleted cluster."""
        with self._lock:
            record = self._records.pop(str(cluster.db_cluster_resource_id), None)
        server = self.postgres.started
        if record is None or server is None:
            return
        names = list(record.databases.values())
        for listener in self.drop_listeners:
            listener(names)
        for name in names:
            try:
                server.drop_database(name)
            except Exception:  # the cluster is gone either way; leave nothing half-done unseen
                log.exception("could not drop database %s", name)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
