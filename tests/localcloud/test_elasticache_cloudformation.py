"""ElastiCache declared in CloudFormation: serverless caches, replication groups and cache
clusters on real local Redis servers, reached by tests and by Lambda functions."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError
from redis.backoff import NoBackoff
from redis.retry import Retry
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, delete, events, outputs, unique, update

from localcloud.elasticache import get_caches


@pytest.fixture
def cfn(aws):
    return aws("cloudformation")


@pytest.fixture
def stacks(cfn):
    """Names of stacks a test creates; deleted afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(ClientError):
            cfn.delete_stack(StackName=name)


def _template(resources: dict[str, Any], outputs_: dict[str, Any]) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": resources,
        "Outputs": {k: {"Value": v} for k, v in outputs_.items()},
    }


def _serverless_template(engine: str = "valkey", **properties: Any) -> dict[str, Any]:
    return _template(
        {
            "Cache": {
                "Type": "AWS::ElastiCache::ServerlessCache",
                "Properties": {"Engine": engine, "MajorEngineVersion": "8", **properties},
            }
        },
        {
            "Name": {"Ref": "Cache"},
            "Arn": {"Fn::GetAtt": ["Cache", "ARN"]},
            "Address": {"Fn::GetAtt": ["Cache", "Endpoint.Address"]},
            "Port": {"Fn::GetAtt": ["Cache", "Endpoint.Port"]},
            "ReaderAddress": {"Fn::GetAtt": ["Cache", "ReaderEndpoint.Address"]},
            "ReaderPort": {"Fn::GetAtt": ["Cache", "ReaderEndpoint.Port"]},
        },
    )


def _client(address: str, port: str) -> redis.Redis:
    # No retries: a refused connection must fail at once, not after redis-py's backoff.
    return redis.Redis(host=address, port=int(port), socket_timeout=5, retry=Retry(NoBackoff(), 0))


def _deploy_serverless(cfn: Any, stacks: list[str], engine: str = "valkey") -> dict[str, str]:
    name = unique("cache")
    stacks.append(name)
    stack = create(cfn, name, _serverless_template(engine))
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cfn, name)
    return outputs(stack)


def _server_pid(out: dict[str, str]) -> int:
    """The PID of the local server listening on the endpoint's port."""
    for name in get_caches().servers.names():
        server = get_caches().servers.get(name)
        if server is not None and server.port == int(out["Port"]) and server.pid:
            return server.pid
    raise AssertionError(f"no local server on port {out['Port']}")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_serverless_cache_endpoint_is_a_live_server(cfn, stacks):
    """AWS::ElastiCache::ServerlessCache: Ref is the cache name, Fn::GetAtt Endpoint.Address
    and Endpoint.Port (a string) are where clients connect, ReaderEndpoint the read-only
    endpoint (the same data). Locally both are one real server that answers SET/GET."""
    out = _deploy_serverless(cfn, stacks)
    assert out["Arn"].endswith(f":serverlesscache:{out['Name']}")
    assert out["Address"] == "127.0.0.1"
    assert out["Port"].isdigit()
    writer = _client(out["Address"], out["Port"])
    assert writer.set("greeting", "hello") is True
    reader = _client(out["ReaderAddress"], out["ReaderPort"])
    assert reader.get("greeting") == b"hello"


def test_two_caches_are_isolated(cfn, stacks):
    """Two caches are two independent stores: a key written in one is absent from the other,
    and FLUSHALL on one does not touch the other."""
    first, second = _deploy_serverless(cfn, stacks), _deploy_serverless(cfn, stacks, "redis")
    assert first["Port"] != second["Port"]
    a, b = _client(first["Address"], first["Port"]), _client(second["Address"], second["Port"])
    a.set("shared-name", "first")
    assert b.get("shared-name") is None
    b.set("other", "second")
    b.flushall()
    assert a.get("shared-name") == b"first"


def test_keys_expire_after_their_ttl(cfn, stacks):
    """Redis EXPIRE: a key with a 1 second time to live is readable before and gone after
    (the cache evicts it on its own; nothing deletes it)."""
    out = _deploy_serverless(cfn, stacks)
    cache = _client(out["Address"], out["Port"])
    cache.set("short-lived", "value")
    assert cache.expire("short-lived", 1) is True
    assert cache.get("short-lived") == b"value"
    assert 0 < cache.pttl("short-lived") <= 1000
    wait_for(
        lambda: cache.get("short-lived") is None,
        timeout=5,
        interval=0.05,
        description="key expired",
    )
    assert cache.exists("short-lived") == 0


def test_deleting_the_stack_stops_the_cache_server(cfn, stacks):
    """Deleting a cache deletes its data: once the stack is gone its server process has
    exited (checked by PID) and nothing listens on the endpoint."""
    out = _deploy_serverless(cfn, stacks)
    pid = _server_pid(out)
    _client(out["Address"], out["Port"]).set("k", "v")

    delete(cfn, stacks.pop())

    wait_for(lambda: _gone(pid), timeout=10, interval=0.05, description=f"server {pid} gone")
    with pytest.raises(redis.ConnectionError):
        _client(out["Address"], out["Port"]).ping()


def test_an_update_keeps_the_cache_and_a_new_name_replaces_it(cfn, stacks):
    """A serverless cache is modified in place (description, usage limits: ModifyServerlessCache,
    same endpoint, data kept), while a new ServerlessCacheName requires replacement: a new,
    empty cache, and the old one deleted with its data once the update completes."""
    name = unique("cacheupd")
    stacks.append(name)
    first_name = f"{name}-a"
    stack = create(cfn, name, _serverless_template(ServerlessCacheName=first_name))
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cfn, name)
    before = outputs(stack)
    assert before["Name"] == first_name
    old_pid = _server_pid(before)
    _client(before["Address"], before["Port"]).set("kept", "yes")

    limits = {"DataStorage": {"Maximum": 5, "Unit": "GB"}}
    modified = update(
        cfn,
        name,
        _serverless_template(
            ServerlessCacheName=first_name, Description="reports", CacheUsageLimits=limits
        ),
    )
    assert modified["StackStatus"] == "UPDATE_COMPLETE", events(cfn, name)
    assert outputs(modified) == before
    assert _client(before["Address"], before["Port"]).get("kept") == b"yes"

    renamed = update(cfn, name, _serverless_template(ServerlessCacheName=f"{name}-b"))
    assert renamed["StackStatus"] == "UPDATE_COMPLETE", events(cfn, name)
    after = outputs(renamed)
    assert after["Name"] == f"{name}-b"
    assert after["Port"] != before["Port"]
    assert _client(after["Address"], after["Port"]).get("kept") is None
    wait_for(lambda: _gone(old_pid), timeout=10, interval=0.05, description="old cache gone")


def test_memcached_fails_the_stack_naming_why(cfn, stacks):
    """A cache the local cloud cannot run fails its resource with a reason naming the type
    and the engine, and the stack rolls back, rather than deploying a cache nobody serves."""
    name = unique("memcached")
    stacks.append(name)
    template = _template(
        {
            "Cache": {
                "Type": "AWS::ElastiCache::ServerlessCache",
                "Properties": {"Engine": "memcached"},
            }
        },
        {"Name": {"Ref": "Cache"}},
    )
    stack = create(cfn, name, template)
    assert stack["StackStatus"] in {"ROLLBACK_COMPLETE", "CREATE_FAILED"}
    reasons = [e.get("ResourceStatusReason", "") for e in events(cfn, name)]
    assert any("AWS::ElastiCache::ServerlessCache" in r and "memcached" in r for r in reasons)


def test_replication_group_and_cache_cluster_endpoints(aws, cfn, stacks):
    """AWS::ElastiCache::ReplicationGroup: Ref is the group id; PrimaryEndPoint.Address/Port
    and ReaderEndPoint.Address/Port are where writes and reads go, and
    DescribeReplicationGroups reports the same endpoints. AWS::ElastiCache::CacheCluster:
    RedisEndpoint.Address/Port, and DescribeCacheClusters with ShowCacheNodeInfo lists its
    node's endpoint. AWS::ElastiCache::SubnetGroup: Ref is its name, in the backend."""
    name = unique("group")
    stacks.append(name)
    template = _template(
        {
            "Subnets": {
                "Type": "AWS::ElastiCache::SubnetGroup",
                "Properties": {"Description": "cache subnets", "SubnetIds": ["subnet-12345678"]},
            },
            "Group": {
                "Type": "AWS::ElastiCache::ReplicationGroup",
                "Properties": {
                    "ReplicationGroupDescription": "reports cache",
                    "Engine": "valkey",
                    "CacheNodeType": "cache.t4g.micro",
                    "NumCacheClusters": 2,
                    "CacheSubnetGroupName": {"Ref": "Subnets"},
                },
            },
            "Single": {
                "Type": "AWS::ElastiCache::CacheCluster",
                "Properties": {
                    "Engine": "redis",
                    "CacheNodeType": "cache.t4g.micro",
                    "NumCacheNodes": 1,
                },
            },
        },
        {
            "GroupId": {"Ref": "Group"},
            "SubnetGroup": {"Ref": "Subnets"},
            "Primary": {"Fn::GetAtt": ["Group", "PrimaryEndPoint.Address"]},
            "PrimaryPort": {"Fn::GetAtt": ["Group", "PrimaryEndPoint.Port"]},
            "Reader": {"Fn::GetAtt": ["Group", "ReaderEndPoint.Address"]},
            "ReaderPort": {"Fn::GetAtt": ["Group", "ReaderEndPoint.Port"]},
            "ClusterId": {"Ref": "Single"},
            "Single": {"Fn::GetAtt": ["Single", "RedisEndpoint.Address"]},
            "SinglePort": {"Fn::GetAtt": ["Single", "RedisEndpoint.Port"]},
        },
    )
    stack = create(cfn, name, template)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cfn, name)
    out = outputs(stack)

    primary = _client(out["Primary"], out["PrimaryPort"])
    primary.set("report", "ready")
    assert _client(out["Reader"], out["ReaderPort"]).get("report") == b"ready"
    single = _client(out["Single"], out["SinglePort"])
    assert single.get("report") is None, "the cache cluster is a cache of its own"

    elasticache = aws("elasticache")
    group = elasticache.describe_replication_groups(ReplicationGroupId=out["GroupId"])[
        "ReplicationGroups"
    ][0]
    node_group = group["NodeGroups"][0]
    assert node_group["PrimaryEndpoint"] == {
        "Address": out["Primary"],
        "Port": int(out["PrimaryPort"]),
    }
    assert node_group["ReaderEndpoint"]["Port"] == int(out["ReaderPort"])
    cluster = elasticache.describe_cache_clusters(
        CacheClusterId=out["ClusterId"], ShowCacheNodeInfo=True
    )["CacheClusters"][0]
    assert cluster["CacheNodes"][0]["Endpoint"] == {
        "Address": out["Single"],
        "Port": int(out["SinglePort"]),
    }
    subnet_groups = elasticache.describe_cache_subnet_groups(
        CacheSubnetGroupName=out["SubnetGroup"]
    )["CacheSubnetGroups"]
    assert subnet_groups[0]["CacheSubnetGroupDescription"] == "cache subnets"

    delete(cfn, stacks.pop())
    with pytest.raises(ClientError, match="ReplicationGroupNotFound"):
        elasticache.describe_replication_groups(ReplicationGroupId=out["GroupId"])
    with pytest.raises(redis.ConnectionError):
        primary.ping()


_CACHE_HANDLER = """
import os

import redis

cache = redis.Redis(
    host=os.environ["CACHE_ENDPOINT"],
    port=int(os.environ["CACHE_PORT"]),
    ssl=os.environ.get("REDIS_TLS", "false") == "true",
    socket_timeout=2,
)


def handler(event, context):
    if event["op"] == "put":
        cache.set(event["key"], event["value"], ex=event.get("ttl"))
        return {"stored": event["key"]}
    value = cache.get(event["key"])
    return {"value": None if value is None else value.decode()}
"""


def _redis_layer_files() -> dict[str, bytes]:
    """redis-py as a layer (``python/redis/...``), taken from the dev environment."""
    package = Path(redis.__file__).parent
    return {
        f"python/redis/{path.relative_to(package)}": path.read_bytes()
        for path in package.rglob("*.py")
    }


def test_function_reads_and_writes_the_cache_from_its_environment(
    cfn, stacks, make_function, make_layer, invoke
):
    """A Lambda function reaches the cache through the endpoint the template hands it in its
    environment (Fn::GetAtt Endpoint.Address/Port), with redis-py from a layer: what it
    writes, the test reads, and the other way round."""
    out = _deploy_serverless(cfn, stacks)
    layer = make_layer(_redis_layer_files())
    function = make_function(
        _CACHE_HANDLER,
        layers=[layer],
        timeout=10,
        environment={
            "CACHE_ENDPOINT": out["Address"],
            "CACHE_PORT": out["Port"],
            "REDIS_TLS": "false",
        },
    )
    written = invoke(function, {"op": "put", "key": "from-lambda", "value": "42", "ttl": 60})
    assert written.function_error is None, written.payload
    assert written.payload == {"stored": "from-lambda"}
    cache = _client(out["Address"], out["Port"])
    assert cache.get("from-lambda") == b"42"
    assert 0 < cache.ttl("from-lambda") <= 60

    cache.set("from-test", "hello")
    read = invoke(function, {"op": "get", "key": "from-test"})
    assert read.function_error is None, read.payload
    assert read.payload == {"value": "hello"}
