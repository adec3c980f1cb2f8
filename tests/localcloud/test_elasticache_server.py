"""The local cloud's Redis servers: one per cache, started when needed, never left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from stack_testing import wait_for

from localcloud.datastores import redis as redis_store
from localcloud.datastores.redis import (
    MISSING_BINARY,
    RedisServer,
    RedisServers,
    RedisUnavailable,
    find_server_binary,
    stop_stale_server,
)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (exited, not yet reaped by its parent) is gone too.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_each_cache_gets_its_own_server_with_no_persistence(tmp_path):
    """ElastiCache caches are separate: a key written to one cache is not in another, and
    flushing one leaves the other's data alone. Locally each cache is its own redis-server
    process, bound to 127.0.0.1 only, with no RDB snapshots or AOF (nothing is kept)."""
    servers = RedisServers(tmp_path)
    try:
        first, second = servers.start("first"), servers.start("second")
        assert first.pid != second.pid
        assert first.port != second.port
        assert servers.start("first") is first, "asking again finds the running server"
        a = redis.Redis(host=first.host, port=first.port, socket_timeout=5)
        b = redis.Redis(host=second.host, port=second.port, socket_timeout=5)
        a.set("k", "in-first")
        assert a.get("k") == b"in-first"
        assert b.get("k") is None
        b.set("k", "in-second")
        b.flushall()
        assert a.get("k") == b"in-first"
        assert a.config_get("save")["save"] == ""
        assert a.config_get("appendonly")["appendonly"] == "no"
        assert a.config_get("bind")["bind"] == "127.0.0.1"
        assert a.config_get("protected-mode")["protected-mode"] == "no"
    finally:
        servers.stop_all()


def test_stopping_a_cache_stops_only_its_server(tmp_path):
    """Deleting a cache ends its server (checked by PID) and removes its directory; the
    other caches keep running."""
    servers = RedisServers(tmp_path)
    try:
        doomed, kept = servers.start("doomed"), servers.start("kept")
        pid, directory = doomed.pid, doomed.work_dir
        assert pid is not None
        assert directory.is_dir()
        servers.stop("doomed")
        wait_for(lambda: _gone(pid), timeout=10, interval=0.02, description="server gone")
        assert not directory.exists()
        assert servers.get("doomed") is None
        assert kept.running
        assert redis.Redis(port=kept.port, socket_timeout=5).ping()
    finally:
        servers.stop_all()
    with pytest.raises(RedisUnavailable, match="stopping"):
        servers.start("late")


_LIFECYCLE_SCRIPT = r"""
import json, sys
from pathlib import Path

import boto3, redis

from localcloud import elasticache
from localcloud.server import LocalCloud

cloud = LocalCloud(state_dir=Path(sys.argv[1]))
cloud.start()
caches = elasticache.get_caches()
lazy = caches.servers.names() == []
session = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
client = session.client("elasticache", endpoint_url=cloud.endpoint_url)
group = client.create_replication_group(
    ReplicationGroupId="lifecycle", ReplicationGroupDescription="lifecycle", Engine="redis",
    CacheNodeType="cache.t4g.micro",
)["ReplicationGroup"]
client.create_cache_cluster(
    CacheClusterId="solo", Engine="valkey", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
)
primary = group["NodeGroups"][0]["PrimaryEndpoint"]
redis.Redis(host=primary["Address"], port=primary["Port"]).set("k", "v")
pids = [caches.servers.get(name).pid for name in caches.servers.names()]
cloud.stop()
state = Path(sys.argv[1]) / "redis"
print(json.dumps({"lazy": lazy, "pids": pids, "left": sorted(p.name for p in state.iterdir())}))
"""


def test_servers_start_with_the_first_cache_and_stop_with_the_local_cloud(tmp_path):
    """No redis-server runs until a cache needs one; LocalCloud.stop() stops every cache's
    server (checked by PID) and removes their directories.

    Run in a separate process: a second local cloud must not share this session's moto.
    """
    finished = subprocess.run(
        [sys.executable, "-c", _LIFECYCLE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = json.loads(finished.stdout.strip().splitlines()[-1])

    assert report["lazy"] is True
    pids = report["pids"]
    assert len(pids) == 2, "the replication group's and the cache cluster's servers ran"
    wait_for(
        lambda: all(_gone(pid) for pid in pids),
        timeout=10,
        interval=0.05,
        description=f"redis-server processes {pids} gone",
    )
    assert report["left"] == []


_ABANDON_SCRIPT = r"""
import json, os, sys
from pathlib import Path

from localcloud.datastores.redis import RedisServer

server = RedisServer(Path(sys.argv[1]))
server.start()
print(json.dumps({"pid": server.pid}), flush=True)
os._exit(0)  # dies without stopping its server, as after kill -9
"""


def test_server_left_by_a_dead_local_cloud_is_stopped_before_a_new_one(tmp_path):
    """A local cloud that died hard leaves its redis-server running; the next one using the
    same directory stops it (found through the recorded PID) before starting its own."""
    work_dir = tmp_path / "cache"
    finished = subprocess.run(
        [sys.executable, "-c", _ABANDON_SCRIPT, str(work_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    pid = json.loads(finished.stdout.strip().splitlines()[-1])["pid"]
    try:
        assert not _gone(pid), "the abandoned server is still running"
        stop_stale_server(work_dir)
        wait_for(lambda: _gone(pid), timeout=10, interval=0.05, description="stale server gone")
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_missing_server_binary_fails_loudly(tmp_path, monkeypatch):
    """Without a redis-server (or valkey-server) binary no cache can be created: the error
    says what to install instead of a cache that silently does not work."""
    monkeypatch.delenv(redis_store.BINARY_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RedisUnavailable) as raised:
        find_server_binary()
    assert str(raised.value) == MISSING_BINARY
    assert MISSING_BINARY == (
        "redis-server not found: install Debian package redis-server (make system-deps)"
    )
    with pytest.raises(RedisUnavailable, match="redis-server not found"):
        RedisServer(tmp_path / "cache").start()
    assert not (tmp_path / "cache").exists()
