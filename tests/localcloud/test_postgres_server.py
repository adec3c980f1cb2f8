"""The local cloud's PostgreSQL server: started when needed, never left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from stack_testing import wait_for

from localcloud.datastores import postgres
from localcloud.datastores.postgres import (
    MISSING_BINARIES,
    PostgresUnavailable,
    find_bin_dir,
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


_LIFECYCLE_SCRIPT = r"""
import json, sys
from pathlib import Path

import boto3

from localcloud import rds
from localcloud.server import LocalCloud

cloud = LocalCloud(state_dir=Path(sys.argv[1]))
cloud.start()
service = rds.get_service()
lazy = service.postgres.started is None
session = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
client = lambda name: session.client(name, endpoint_url=cloud.endpoint_url)
cluster = client("rds").create_db_cluster(
    DBClusterIdentifier="lifecycle", Engine="aurora-postgresql", MasterUsername="owner",
    MasterUserPassword="lifecycle-password", DatabaseName="app", EnableHttpEndpoint=True,
)["DBCluster"]
client("rds").create_db_instance(
    DBInstanceIdentifier="lifecycle-1", DBClusterIdentifier="lifecycle",
    Engine="aurora-postgresql", DBInstanceClass="db.serverless",
)
credentials = {"username": "owner", "password": "lifecycle-password"}
secret = client("secretsmanager").create_secret(
    Name="lifecycle", SecretString=json.dumps(credentials)
)["ARN"]
client("rds-data").execute_statement(
    resourceArn=cluster["DBClusterArn"], secretArn=secret, database="app", sql="SELECT 1"
)
server = service.postgres.started
pids = [server.pid, *server.backend_pids()]
cloud.stop()
state = Path(sys.argv[1]) / "postgres"
print(json.dumps({"lazy": lazy, "pids": pids, "left": sorted(p.name for p in state.iterdir())}))
"""


def test_server_starts_with_the_first_cluster_and_stops_with_the_local_cloud(tmp_path):
    """No PostgreSQL runs until a cluster needs one; LocalCloud.stop() stops the server and
    every backend process it had (checked by PID), and removes its data.

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
    assert len(pids) >= 2, "the server and at least one backend were running"
    wait_for(
        lambda: all(_gone(pid) for pid in pids),
        timeout=10,
        interval=0.05,
        description=f"PostgreSQL processes {pids} gone",
    )
    assert report["left"] == []


_ABANDON_SCRIPT = r"""
import json, os, sys
from pathlib import Path

from localcloud.datastores.postgres import PostgresServer

server = PostgresServer(Path(sys.argv[1]))
server.start()
print(json.dumps({"pid": server.pid}), flush=True)
os._exit(0)  # dies without stopping its server, as after kill -9
"""


def test_server_left_by_a_dead_local_cloud_is_stopped_before_a_new_one(tmp_path):
    """A local cloud that died hard leaves its PostgreSQL running; the next one started on
    the same state directory stops it (found through the recorded PID) before starting."""
    finished = subprocess.run(
        [sys.executable, "-c", _ABANDON_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    pid = json.loads(finished.stdout.strip().splitlines()[-1])["pid"]
    try:
        assert not _gone(pid), "the abandoned server is still running"

        stop_stale_server(tmp_path)

        wait_for(lambda: _gone(pid), timeout=10, interval=0.05, description="stale server gone")
        assert not (tmp_path / "server.json").exists()
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_missing_server_binaries_fail_loudly(tmp_path, monkeypatch):
    """Without initdb and postgres the local cloud says what to install, instead of failing
    later in some obscure way."""
    monkeypatch.setenv(postgres.BIN_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(postgres, "_DEBIAN_ROOT", tmp_path / "no-postgresql")

    with pytest.raises(PostgresUnavailable) as raised:
        find_bin_dir()

    assert str(raised.value) == MISSING_BINARIES
    assert "install Debian package postgresql" in MISSING_BINARIES
