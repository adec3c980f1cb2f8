"""The ElastiCache API on the local cloud: caches created and deleted by boto3 calls, as an
application or a script would, get and lose their real Redis servers."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis
from botocore.exceptions import ClientError
from redis.backoff import NoBackoff
from redis.retry import Retry
from stack_testing import wait_for

from localcloud.elasticache import CacheServers, get_caches


def _client(address: str, port: int) -> redis.Redis:
    return redis.Redis(host=address, port=port, socket_timeout=5, retry=Retry(NoBackoff(), 0))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def elasticache(aws):
    return aws("elasticache")


def test_a_replication_group_answers_on_its_described_endpoints_until_deleted(elasticache):
    """CreateReplicationGroup (Redis OSS): DescribeReplicationGroups gives the primary and the
    reader endpoint, where the group's data is. DeleteReplicationGroup answers with the group
    in status "deleting"; once deleted, the group is not found (ReplicationGroupNotFoundFault)
    and its data is gone with it: locally its server has exited."""
    group_id = _name("apigroup")
    created = elasticache.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="api",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=2,
    )["ReplicationGroup"]
    described = elasticache.describe_replication_groups(ReplicationGroupId=group_id)[
        "ReplicationGroups"
    ][0]
    node_group = described["NodeGroups"][0]
    assert node_group["PrimaryEndpoint"] == created["NodeGroups"][0]["PrimaryEndpoint"]
    primary, reader = node_group["PrimaryEndpoint"], node_group["ReaderEndpoint"]
    assert primary["Address"] == "127.0.0.1"
    _client(primary["Address"], primary["Port"]).set("k", "v")
    assert _client(reader["Address"], reader["Port"]).get("k") == b"v"
    key = CacheServers.key("replicationgroup", "123456789012", "us-east-1", group_id)
    server = get_caches().server(key)
    assert server is not None
    assert server.pid is not None
    pid = server.pid

    deleted = elasticache.delete_replication_group(ReplicationGroupId=group_id)
    assert deleted["ReplicationGroup"]["Status"] == "deleting"

    with pytest.raises(ClientError, match="ReplicationGroupNotFound"):
        elasticache.describe_replication_groups(ReplicationGroupId=group_id)
    wait_for(lambda: _gone(pid), timeout=10, interval=0.05, description="group server gone")
    with pytest.raises(redis.ConnectionError):
        _client(primary["Address"], primary["Port"]).ping()


def test_a_cache_cluster_lists_its_node_endpoint_with_show_cache_node_info(elasticache):
    """CreateCacheCluster (Valkey, one node): DescribeCacheClusters with ShowCacheNodeInfo
    lists the node and its endpoint, where clients connect; DeleteCacheCluster ends it."""
    cluster_id = _name("apicluster")
    elasticache.create_cache_cluster(
        CacheClusterId=cluster_id, Engine="valkey", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
    )
    cluster = elasticache.describe_cache_clusters(
        CacheClusterId=cluster_id, ShowCacheNodeInfo=True
    )["CacheClusters"][0]
    endpoint = cluster["CacheNodes"][0]["Endpoint"]
    cache = _client(endpoint["Address"], endpoint["Port"])
    assert cache.set("k", "v", ex=60) is True
    assert cache.get("k") == b"v"

    elasticache.delete_cache_cluster(CacheClusterId=cluster_id)

    with pytest.raises(ClientError, match="CacheClusterNotFound"):
        elasticache.describe_cache_clusters(CacheClusterId=cluster_id)
    wait_for(lambda: not _reachable(cache), timeout=10, interval=0.05, description="cluster gone")


def _reachable(cache: redis.Redis) -> bool:
    try:
        return bool(cache.ping())
    except redis.ConnectionError:
        return False
