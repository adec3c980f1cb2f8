"""ElastiCache (Redis OSS / Valkey) on the local cloud: one real Redis server per cache.

``install(settings)`` (in the server process, before moto serves) patches moto's ElastiCache
backend (:mod:`.moto_patch`) and returns the hook that stops every server it started:

- a ``redis`` or ``valkey`` replication group or cache cluster created by the API or by
  CloudFormation gets its own ``redis-server`` process on loopback (started when the cache is
  created, stopped when it is deleted); DescribeReplicationGroups and DescribeCacheClusters
  (``ShowCacheNodeInfo``) give that server's address and port as the endpoints;
- ``AWS::ElastiCache::ServerlessCache`` (moto has no serverless caches) is modelled by
  :mod:`localcloud.cloudformation.models.elasticache` on the same servers (:func:`get_caches`).

Every endpoint (primary, reader, configuration) of a cache is its one server: there is no
replication locally, so a replica reads what the primary wrote at once.

Transport: AWS serverless caches accept TLS connections only, and replication groups do with
``TransitEncryptionEnabled``. The local servers speak plain TCP; apps make TLS a setting their
template sets (``REDIS_TLS=true`` on AWS, from a template parameter), so the same code path
runs, only without encryption, on the local cloud.

Settings from the environment: ``LOCALCLOUD_REDIS_SERVER`` (the server binary; by default
``redis-server``, then ``valkey-server`` on PATH).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from localcloud.datastores.redis import RedisServer, RedisServers, RedisUnavailable
from localcloud.settings import CloudSettings

__all__ = ["ENGINES", "CacheServers", "RedisUnavailable", "get_caches", "install"]

log = logging.getLogger("localcloud.elasticache")

# Engines a local Redis server stands in for (memcached is left to moto, with no server).
ENGINES = frozenset({"redis", "valkey"})


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int


class CacheServers:
    """The servers of one local cloud's caches, keyed by ``kind:account:region:id``."""

    def __init__(self, servers: RedisServers) -> None:
        self.servers = servers

    @staticmethod
    def key(kind: str, account_id: str, region_name: str, cache_id: str) -> str:
        return f"{kind}-{account_id}-{region_name}-{cache_id}"

    def provision(self, key: str) -> Endpoint:
        """Start (or find) the server of cache ``key``; its endpoint."""
        server = self.servers.start(key)
        return Endpoint(server.host, server.port)

    def server(self, key: str) -> RedisServer | None:
        return self.servers.get(key)

    def release(self, key: str) -> None:
        """Stop the server of a deleted cache (its data goes with it, as on AWS)."""
        self.servers.stop(key)

    def stop(self) -> None:
        self.servers.stop_all()


# moto's state is global to the process: the most recently installed local cloud still
# running serves it (a test may start a second local cloud briefly).
_installed: list[CacheServers] = []
_lock = threading.Lock()


def get_caches() -> CacheServers:
    """The running local cloud's cache servers; raises when none is installed."""
    with _lock:
        if not _installed:
            raise RedisUnavailable("the local cloud's ElastiCache service is not running")
        return _installed[-1]


def install(settings: CloudSettings) -> Callable[[], None]:
    """Serve ElastiCache caches from real Redis servers; returns the stop hook."""
    from localcloud.elasticache.moto_patch import apply as apply_patches

    caches = CacheServers(RedisServers(settings.state_dir / "redis"))
    with _lock:
        _installed.append(caches)
    apply_patches(get_caches)

    def shutdown() -> None:
        with _lock:
            if caches in _installed:
                _installed.remove(caches)
        caches.stop()

    return shutdown
