"""Aurora PostgreSQL on the local cloud: real PostgreSQL behind RDS and the RDS Data API.

``install(settings)`` (in the server process, before moto serves) patches moto
(:mod:`.moto_patch`) and returns the hook that stops everything it started:

- an ``aurora-postgresql`` DB cluster created by CreateDBCluster or CloudFormation gets real
  databases (:mod:`.clusters`) on one PostgreSQL server of the local cloud
  (:mod:`localcloud.datastores.postgres`), started by the first cluster; deleting the cluster
  drops them;
- the RDS Data API (``boto3.client("rds-data")``: ExecuteStatement, BatchExecuteStatement,
  BeginTransaction, CommitTransaction, RollbackTransaction) runs the SQL on the cluster's
  database, with the service's checks, types and errors (:mod:`.data_api`, :mod:`.values`,
  :mod:`.errors`), so functions reach the database over HTTPS with no VPC, the same code as
  on AWS.

Other parts reach the running pieces with :func:`get_store` (clusters and the server) and
:func:`get_data_api`.

Settings from the environment: ``LOCALCLOUD_RDS_TRANSACTION_TIMEOUT`` (seconds a Data API
transaction may stay idle before it is rolled back, default 180 as on AWS) and
``LOCALCLOUD_POSTGRES_BIN`` (where ``initdb`` and ``postgres`` are).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from localcloud.datastores.postgres import LazyPostgres
from localcloud.rds.clusters import ClusterStore
from localcloud.rds.data_api import DataApi
from localcloud.settings import CloudSettings

__all__ = ["DataApi", "RdsService", "get_data_api", "get_service", "get_store", "install"]

log = logging.getLogger("localcloud.rds")


@dataclass
class RdsService:
    """What one installed local cloud runs for RDS."""

    postgres: LazyPostgres
    store: ClusterStore
    data_api: DataApi

    def stop(self) -> None:
        self.data_api.close()
        self.store.clear()
        self.postgres.stop()


# moto's state is global to the process: the most recently installed service still running
# serves it (a test may start a second local cloud briefly).
_services: list[RdsService] = []
_lock = threading.Lock()


def get_service() -> RdsService | None:
    with _lock:
        return _services[-1] if _services else None


def get_store() -> ClusterStore | None:
    service = get_service()
    return None if service is None else service.store


def get_data_api() -> DataApi | None:
    service = get_service()
    return None if service is None else service.data_api


def install(settings: CloudSettings) -> Callable[[], None]:
    """Serve RDS clusters and the Data API from real PostgreSQL; returns the stop hook."""
    from localcloud.rds import moto_patch

    postgres = LazyPostgres(settings.state_dir / "postgres")
    store = ClusterStore(postgres)
    service = RdsService(postgres, store, DataApi(store))
    with _lock:
        _services.append(service)
    moto_patch.apply(get_store)

    def shutdown() -> None:
        with _lock:
            if service in _services:
                _services.remove(service)
        service.stop()

    return shutdown
