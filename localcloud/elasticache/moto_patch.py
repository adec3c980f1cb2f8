"""Where the local cloud's ElastiCache meets moto (moto 5.2.5; each patch says why).

- ``ElastiCacheBackend.create_replication_group`` / ``create_cache_cluster``: moto records a
  cache and makes up DNS names (``master.<id>.xxxxxx.use1.cache.amazonaws.com``) nothing
  answers on. A ``redis`` or ``valkey`` cache gets a real server (one process per cache), and
  its endpoints (primary, reader, configuration, each node's) become that server's address
  and port, so DescribeReplicationGroups / DescribeCacheClusters tell clients where to
  connect, as Fn::GetAtt does. A cache whose server cannot start is not created (the error
  says why, e.g. the missing ``redis-server`` binary).
- ``ElastiCacheBackend.delete_replication_group`` / ``delete_cache_cluster``: moto only sets
  the status to ``deleting`` and keeps the cache forever; the answer still says ``deleting``
  (as AWS's does), then the cache is gone and its server stopped (AWS removes it when the
  deletion finishes; locally it finishes at once). A cache cluster that is a member of a
  replication group shares the group's server and leaves it running.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from localcloud.cloudformation._patching import replace

log = logging.getLogger("localcloud.elasticache")

_applied = False


def _group_key(backend: Any, group_id: str) -> str:
    from localcloud.elasticache import CacheServers

    return CacheServers.key("replicationgroup", backend.account_id, backend.region_name, group_id)


def _cluster_key(backend: Any, cluster_id: str) -> str:
    from localcloud.elasticache import CacheServers

    return CacheServers.key("cluster", backend.account_id, backend.region_name, cluster_id)


def point_group_at(group: Any, address: str, port: int) -> None:
    """Make every endpoint moto reports for ``group`` the local server's."""
    group.port = port
    if group.cluster_mode == "enabled":
        group.configuration_endpoint = {"address": address, "port": port}
    for node_group in group.node_groups:
        node_group["port"] = port
        if group.cluster_mode != "enabled":
            node_group["primary_endpoint_address"] = address
            node_group["reader_endpoint_address"] = address
            node_group["primary_endpoint"] = {"address": address, "port": port}
            node_group["reader_endpoint"] = {"address": address, "port": port}
        for member in node_group["node_group_members"]:
            member["read_endpoint"] = {"address": address, "port": port}


def point_cluster_at(cluster: Any, address: str, port: int) -> None:
    """The cluster's one node (CacheNodes with ``ShowCacheNodeInfo``) is the local server."""
    cluster.port = port
    cluster.cache_nodes = [
        {
            "cache_node_id": "0001",
            "cache_node_status": "available",
            "cache_node_create_time": cluster.cache_cluster_create_time,
            "endpoint": {"address": address, "port": port},
            "parameter_group_status": "in-sync",
            "customer_availability_zone": cluster.preferred_availability_zone or "us-east-1a",
        }
    ]


def apply(caches: Callable[[], Any]) -> None:
    """Install the patches once; ``caches()`` is the running :class:`CacheServers`."""
    global _applied
    if _applied:
        return
    _applied = True
    from moto.elasticache.exceptions import InvalidParameterValueException
    from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup

    from localcloud.elasticache import ENGINES

    original_create_group = ElastiCacheBackend.__dict__["create_replication_group"]
    original_delete_group = ElastiCacheBackend.__dict__["delete_replication_group"]
    original_create_cluster = ElastiCacheBackend.__dict__["create_cache_cluster"]
    original_delete_cluster = ElastiCacheBackend.__dict__["delete_cache_cluster"]

    # Both take some forty keyword arguments, passed on untouched: functools.wraps keeps
    # moto's signature visible (inspect.signature follows __wrapped__).
    @functools.wraps(original_create_group)
    def create_replication_group(
        self: ElastiCacheBackend, *args: Any, **kwargs: Any
    ) -> ReplicationGroup:
        group = original_create_group(self, *args, **kwargs)
        if group.engine not in ENGINES:
            return group
        try:
            endpoint = caches().provision(_group_key(self, group.replication_group_id))
        except Exception as exc:
            # The cache cannot be honoured: it must not exist half-made.
            self.replication_groups.pop(group.replication_group_id, None)
            raise InvalidParameterValueException(str(exc)) from exc
        point_group_at(group, endpoint.address, endpoint.port)
        return group

    def delete_replication_group(
        self: ElastiCacheBackend, replication_group_id: str, retain_primary_cluster: bool | None
    ) -> ReplicationGroup:
        group = original_delete_group(self, replication_group_id, retain_primary_cluster)
        self.replication_groups.pop(replication_group_id, None)
        caches().release(_group_key(self, replication_group_id))
        return group

    @functools.wraps(original_create_cluster)
    def create_cache_cluster(self: ElastiCacheBackend, *args: Any, **kwargs: Any) -> CacheCluster:
        cluster = original_create_cluster(self, *args, **kwargs)
        if cluster.engine not in ENGINES:
            return cluster
        group_id = getattr(cluster, "replication_group_id", None)
        key = (
            _group_key(self, group_id)
            if group_id and group_id in self.replication_groups
            else _cluster_key(self, cluster.cache_cluster_id)
        )
        try:
            endpoint = caches().provision(key)
        except Exception as exc:
            self.cache_clusters.pop(cluster.cache_cluster_id, None)
            raise InvalidParameterValueException(str(exc)) from exc
        point_cluster_at(cluster, endpoint.address, endpoint.port)
        return cluster

    def delete_cache_cluster(self: ElastiCacheBackend, cache_cluster_id: str) -> CacheCluster:
        cluster = original_delete_cluster(self, cache_cluster_id)
        self.cache_clusters.pop(cache_cluster_id, None)
        # A member of a group shares the group's server: only a cluster's own server stops.
        caches().release(_cluster_key(self, cache_cluster_id))
        return cluster

    replace(
        ElastiCacheBackend,
        "create_replication_group",
        create_replication_group,
        "a Redis/Valkey replication group gets a real server and its endpoints",
    )
    replace(
        ElastiCacheBackend,
        "delete_replication_group",
        delete_replication_group,
        "a deleted replication group goes, with its server",
    )
    replace(
        ElastiCacheBackend,
        "create_cache_cluster",
        create_cache_cluster,
        "a Redis/Valkey cache cluster gets a real server and its node endpoint",
    )
    replace(
        ElastiCacheBackend,
        "delete_cache_cluster",
        delete_cache_cluster,
        "a deleted cache cluster goes, with its server",
    )
