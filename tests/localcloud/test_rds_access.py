"""Who may reach which database through the Data API: clusters, secrets, databases."""

from __future__ import annotations

import contextlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _rds_helpers import Aurora, rows


@pytest.fixture
def data(aws):
    return aws("rds-data")


@pytest.fixture
def make_secret(aws) -> Iterator[Callable[..., str]]:
    """``make_secret(document_or_text) -> ARN``; deleted afterwards."""
    client = aws("secretsmanager")
    created: list[str] = []

    def make(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        arn = client.create_secret(Name=f"rds-test-{uuid.uuid4().hex[:10]}", SecretString=text)[
            "ARN"
        ]
        created.append(arn)
        return str(arn)

    yield make
    for arn in created:
        with contextlib.suppress(ClientError):
            client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def make_cluster(aws, make_secret) -> Iterator[Callable[..., Aurora]]:
    """``make_cluster(...) -> Aurora``: a cluster made with the RDS API (and a secret for its
    master user); deleted afterwards with its instance."""
    rds = aws("rds")
    created: list[tuple[str, str | None]] = []

    def make(
        *,
        http_endpoint: bool = True,
        instance: bool = True,
        database: str = "appdb",
        username: str = "master_user",
        password: str = "correct-horse-battery",
    ) -> Aurora:
        cluster_id = f"rds-test-{uuid.uuid4().hex[:10]}"
        cluster = rds.create_db_cluster(
            DBClusterIdentifier=cluster_id,
            Engine="aurora-postgresql",
            EngineVersion="16.4",
            MasterUsername=username,
            MasterUserPassword=password,
            DatabaseName=database,
            EnableHttpEndpoint=http_endpoint,
            ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 1},
        )["DBCluster"]
        instance_id = None
        if instance:
            instance_id = f"{cluster_id}-writer"
            rds.create_db_instance(
                DBInstanceIdentifier=instance_id,
                DBClusterIdentifier=cluster_id,
                Engine="aurora-postgresql",
                DBInstanceClass="db.serverless",
            )
        created.append((cluster_id, instance_id))
        secret_arn = make_secret({"username": username, "password": password})
        return Aurora(
            stack_name="",
            cluster_id=cluster_id,
            cluster_arn=cluster["DBClusterArn"],
            secret_arn=secret_arn,
            database=database,
            address=cluster["Endpoint"],
            port=int(cluster["Port"]),
        )

    yield make
    for cluster_id, instance_id in created:
        with contextlib.suppress(ClientError):
            if instance_id:
                rds.delete_db_instance(DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True)
            rds.delete_db_cluster(DBClusterIdentifier=cluster_id, SkipFinalSnapshot=True)


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def test_unknown_cluster_is_refused(data, make_cluster):
    """A resourceArn that names no cluster answers HttpEndpointNotEnabledException ("HttpEndpoint
    is not enabled for resource <arn>"), as the service does for a missing cluster."""
    cluster = make_cluster()
    missing = cluster.cluster_arn.rsplit(":", 1)[0] + ":cluster:no-such-cluster"
    with pytest.raises(ClientError) as raised:
        data.execute_statement(
            resourceArn=missing, secretArn=cluster.secret_arn, database="appdb", sql="SELECT 1"
        )
    assert _error(raised) == (
        "HttpEndpointNotEnabledException",
        f"HttpEndpoint is not enabled for resource {missing}",
    )


def test_cluster_without_http_endpoint_is_refused(data, make_cluster):
    """The Data API reaches only clusters whose HTTP endpoint is enabled: a cluster created
    without EnableHttpEndpoint answers HttpEndpointNotEnabledException."""
    cluster = make_cluster(http_endpoint=False)
    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql="SELECT 1", **cluster.args())
    assert _error(raised)[0] == "HttpEndpointNotEnabledException"


def test_http_endpoint_enabled_later_with_modify(aws, data, make_cluster):
    """ModifyDBCluster EnableHttpEndpoint=true opens an existing Aurora PostgreSQL
    (provisioned/Serverless v2) cluster to the Data API."""
    cluster = make_cluster(http_endpoint=False)
    modified = aws("rds").modify_db_cluster(
        DBClusterIdentifier=cluster.cluster_id, EnableHttpEndpoint=True, ApplyImmediately=True
    )
    assert modified["DBCluster"]["HttpEndpointEnabled"] is True
    assert rows(data.execute_statement(sql="SELECT 1", **cluster.args())) == [[1]]


def test_cluster_without_instance_has_no_database_to_run_on(data, make_cluster):
    """A cluster with no DB instance cannot run statements: DatabaseNotFoundException."""
    cluster = make_cluster(instance=False)
    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql="SELECT 1", **cluster.args())
    assert _error(raised)[0] == "DatabaseNotFoundException"


def test_wrong_password_in_the_secret_fails_authentication(data, make_cluster, make_secret):
    """The secret's credentials must be the database's: a wrong password fails as PostgreSQL
    does, DatabaseErrorException 'FATAL: password authentication failed for user ...' (28P01)."""
    cluster = make_cluster()
    wrong = make_secret({"username": "master_user", "password": "not-the-password"})
    with pytest.raises(ClientError) as raised:
        data.execute_statement(
            resourceArn=cluster.cluster_arn, secretArn=wrong, database="appdb", sql="SELECT 1"
        )
    assert _error(raised) == (
        "DatabaseErrorException",
        'FATAL: password authentication failed for user "master_user"; SQLState: 28P01',
    )


def test_missing_or_malformed_secret(data, make_cluster, make_secret):
    """A secretArn that names no secret answers SecretsErrorException; a secret without
    username and password answers InvalidSecretException."""
    cluster = make_cluster()
    missing = cluster.secret_arn + "-gone"
    with pytest.raises(ClientError) as raised:
        data.execute_statement(
            resourceArn=cluster.cluster_arn, secretArn=missing, database="appdb", sql="SELECT 1"
        )
    assert _error(raised)[0] == "SecretsErrorException"

    malformed = make_secret("plain text, not credentials")
    with pytest.raises(ClientError) as raised:
        data.execute_statement(
            resourceArn=cluster.cluster_arn, secretArn=malformed, database="appdb", sql="SELECT 1"
        )
    assert _error(raised)[0] == "InvalidSecretException"


def test_other_database_users_are_checked_by_postgresql(data, make_cluster, make_secret):
    """A role created with SQL can use the Data API with its own secret: PostgreSQL checks
    its password, and its statements run as that role (with its privileges)."""
    cluster = make_cluster()
    role = f"reporting_{uuid.uuid4().hex[:8]}"
    data.execute_statement(
        sql=f"CREATE ROLE {role} LOGIN PASSWORD 'reporting-password'", **cluster.args()
    )
    try:
        reporting = make_secret({"username": role, "password": "reporting-password"})
        result = data.execute_statement(
            resourceArn=cluster.cluster_arn,
            secretArn=reporting,
            database="appdb",
            sql="SELECT current_user",
        )
        assert rows(result) == [[role]]

        wrong = make_secret({"username": role, "password": "guess"})
        with pytest.raises(ClientError) as raised:
            data.execute_statement(
                resourceArn=cluster.cluster_arn, secretArn=wrong, database="appdb", sql="SELECT 1"
            )
        code, message = _error(raised)
        assert code == "DatabaseErrorException"
        assert f'password authentication failed for user "{role}"' in message
    finally:
        data.execute_statement(sql=f"DROP ROLE {role}", **cluster.args())


def test_unknown_database_and_default_database(data, make_cluster):
    """``database`` must be one of the cluster's databases ('ERROR: database "x" does not
    exist', 3D000); without it PostgreSQL's default applies: the database named after the
    user, here the cluster's own "postgres" one."""
    cluster = make_cluster(username="postgres")
    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql="SELECT 1", **cluster.args(database="nowhere"))
    assert _error(raised) == (
        "DatabaseErrorException",
        'ERROR: database "nowhere" does not exist; SQLState: 3D000',
    )
    arguments = cluster.args()
    del arguments["database"]
    data.execute_statement(sql="CREATE TABLE in_default (id int)", **arguments)
    in_app = data.execute_statement(
        sql="SELECT count(*) FROM pg_tables WHERE tablename = 'in_default'", **cluster.args()
    )
    assert rows(in_app) == [[0]]


def test_two_clusters_are_isolated_databases(data, make_cluster):
    """Each cluster is its own database: the same table name in two clusters (even with the
    same DatabaseName) holds each cluster's own rows."""
    first = make_cluster(database="shop")
    second = make_cluster(database="shop")
    for cluster, value in ((first, "first"), (second, "second")):
        data.execute_statement(sql="CREATE TABLE items (name text)", **cluster.args())
        data.execute_statement(
            sql="INSERT INTO items VALUES (:v)",
            parameters=[{"name": "v", "value": {"stringValue": value}}],
            **cluster.args(),
        )
    assert rows(data.execute_statement(sql="SELECT name FROM items", **first.args())) == [["first"]]
    assert rows(data.execute_statement(sql="SELECT name FROM items", **second.args())) == [
        ["second"]
    ]
