"""Where the local cloud's RDS and Data API meet moto (moto 5.2.5; each patch says why).

- ``moto.rdsdata.urls.url_paths``: moto routes only ``/Execute`` to a backend that returns
  canned results; every Data API path (``/Execute``, ``/BatchExecute``, ``/BeginTransaction``,
  ``/CommitTransaction``, ``/RollbackTransaction``) goes to :class:`.responses.DataApiResponse`
  instead, which runs the SQL.
- ``RDSBackend.create_db_cluster`` / ``delete_db_cluster`` / ``modify_db_cluster``: an
  ``aurora-postgresql`` cluster gets its databases on the local PostgreSQL server when it is
  created (by the API or CloudFormation), loses them when deleted, and a new master password
  reaches its role.
- ``DBCluster.enable_http_endpoint``: moto keeps the HTTP endpoint only for Serverless v1
  (``EngineMode: serverless``) engine versions and silently turns it off otherwise; Aurora
  PostgreSQL has the Data API for provisioned and Serverless v2 clusters too, so the flag
  stays as requested for ``aurora-postgresql``.
- ``DBCluster.endpoint`` / ``reader_endpoint``: a cluster with a local database answers with
  the local server's address (its ``Port`` is the server's port too), not a made-up DNS name.
- ``MasterUserSecret._generate_secret_string``: with ``ManageMasterUserPassword`` moto writes
  ``{"username": "admin", "password": "P@55w0rd!"}`` whatever the cluster's master user is;
  RDS stores the cluster's ``MasterUsername`` and a generated password.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
from collections.abc import Callable
from typing import Any

from localcloud.cloudformation._patching import replace

log = logging.getLogger("localcloud.rds")

DATA_API_PATHS = (
    "Execute",
    "BatchExecute",
    "BeginTransaction",
    "CommitTransaction",
    "RollbackTransaction",
)
# What RDS leaves out of generated master passwords (not allowed in them: / @ " and space).
_PASSWORD_ALPHABET = "".join(
    c
    for c in string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"
    if c not in '/@" '
)

StoreGetter = Callable[[], Any]

_applied = False


def _generated_password(length: int = 28) -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def apply(store: StoreGetter) -> None:
    """Install the patches once; ``store()`` is the running :class:`ClusterStore` or None."""
    global _applied
    if _applied:
        return
    _applied = True
    import moto.rdsdata.urls as rdsdata_urls
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import DBCluster, MasterUserSecret, RDSBackend

    from localcloud.rds.clusters import ENGINE
    from localcloud.rds.responses import DataApiResponse

    # moto.rdsdata.urls.url_paths: one dict moto reads when it builds the rds-data app.
    rdsdata_urls.url_paths.clear()
    for path in DATA_API_PATHS:
        rdsdata_urls.url_paths[f"{{0}}/{path}$"] = DataApiResponse.dispatch

    original_create = RDSBackend.__dict__["create_db_cluster"]
    original_delete = RDSBackend.__dict__["delete_db_cluster"]
    original_modify = RDSBackend.__dict__["modify_db_cluster"]

    def create_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
        cluster = original_create(self, kwargs)
        current = store()
        if cluster.engine == ENGINE and current is not None:
            try:
                current.provision(cluster)
            except Exception as exc:
                # The cluster cannot be honoured: it must not exist half-made.
                self.clusters.pop(cluster.db_cluster_identifier, None)
                if cluster.manage_master_user_password:
                    cluster.master_user_secret.delete_secret()
                log.exception("cannot create the database of %s", cluster.db_cluster_identifier)
                raise RDSClientError("InternalFailure", str(exc)) from exc
        return cluster

    def delete_db_cluster(
        self: RDSBackend, cluster_identifier: str, snapshot_name: str | None = None
    ) -> DBCluster:
        cluster = original_delete(self, cluster_identifier, snapshot_name)
        current = store()
        if current is not None:
            current.deprovision(cluster)
        return cluster

    def modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
        # moto pops keys from kwargs: decide before calling it.
        new_password = bool(
            kwargs.get("master_user_password") or kwargs.get("manage_master_user_password")
        )
        cluster = original_modify(self, kwargs)
        current = store()
        if current is not None and new_password:
            current.set_master_password(self.clusters[cluster.db_cluster_identifier])
        return cluster

    replace(RDSBackend, "create_db_cluster", create_db_cluster, "clusters get a real database")
    replace(RDSBackend, "delete_db_cluster", delete_db_cluster, "a deleted cluster's data goes")
    replace(RDSBackend, "modify_db_cluster", modify_db_cluster, "a new master password applies")

    http_endpoint = DBCluster.__dict__["enable_http_endpoint"]

    def set_http_endpoint(self: DBCluster, value: bool | None) -> None:
        http_endpoint.fset(self, value)
        if self.engine == ENGINE and value is not None:
            self._enable_http_endpoint = bool(value)

    replace(
        DBCluster,
        "enable_http_endpoint",
        property(http_endpoint.fget, set_http_endpoint),
        "Aurora PostgreSQL provisioned and Serverless v2 clusters have the Data API",
    )

    def local_address(original: property) -> property:
        def address(self: DBCluster) -> str:
            current = store()
            server = None if current is None else current.postgres.started
            if server is not None and current.record(self) is not None:
                return str(server.host)
            return str(original.fget(self))  # type: ignore[misc]

        return property(address)

    for name in ("endpoint", "reader_endpoint"):
        replace(
            DBCluster,
            name,
            local_address(DBCluster.__dict__[name]),
            "DescribeDBClusters gives the address of the local server, as Fn::GetAtt does",
        )

    def secret_string(self: MasterUserSecret) -> str:
        username = getattr(self.resource, "master_username", None) or "postgres"
        return json.dumps({"username": username, "password": _generated_password()})

    replace(
        MasterUserSecret,
        "_generate_secret_string",
        secret_string,
        "RDS stores the master user name and a generated password in the managed secret",
    )
