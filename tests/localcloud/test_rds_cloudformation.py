"""Aurora PostgreSQL declared in CloudFormation: clusters, instances, secrets, real databases."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import psycopg
import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, delete, events, unique, update
from _rds_helpers import aurora_from_stack, aurora_template, deploy_aurora, rows

from localcloud.rds import get_store


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


def _failure_reasons(cfn, stack_name):
    return [
        event.get("ResourceStatusReason", "")
        for event in events(cfn, stack_name)
        if event["ResourceStatus"] == "CREATE_FAILED"
    ]


def test_stack_with_cluster_secret_and_serverless_instance_deploys(aws, stacks):
    """An Aurora Serverless v2 PostgreSQL stack deploys as on AWS: the cluster takes its master
    credentials from the generated secret (dynamic references), the db.serverless instance
    joins it as writer, Endpoint.Address/Port are a real PostgreSQL server that accepts the
    secret's credentials for DatabaseName, and the target attachment adds the connection
    fields (engine, host, port, dbClusterIdentifier) to the secret."""
    aurora = deploy_aurora(aws)
    stacks.append(aurora.stack_name)

    cluster = aws("rds").describe_db_clusters(DBClusterIdentifier=aurora.cluster_id)["DBClusters"][
        0
    ]
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["HttpEndpointEnabled"] is True
    assert cluster["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0.0,
        "MaxCapacity": 2.0,
        "SecondsUntilAutoPause": 300,
    }
    assert cluster["MasterUsername"] == "app_admin"
    assert cluster["DBClusterArn"] == aurora.cluster_arn
    assert (cluster["Endpoint"], cluster["Port"]) == (aurora.address, aurora.port)
    [member] = cluster["DBClusterMembers"]
    assert member["IsClusterWriter"] is True
    instance = aws("rds").describe_db_instances(DBInstanceIdentifier=member["DBInstanceIdentifier"])
    assert instance["DBInstances"][0]["DBInstanceClass"] == "db.serverless"

    secret = json.loads(
        aws("secretsmanager").get_secret_value(SecretId=aurora.secret_arn)["SecretString"]
    )
    assert secret["username"] == "app_admin"
    assert len(secret["password"]) == 24
    assert secret["engine"] == "postgres"
    assert (secret["host"], secret["port"]) == (aurora.address, aurora.port)
    assert secret["dbClusterIdentifier"] == aurora.cluster_id

    with psycopg.connect(
        host=secret["host"],
        port=secret["port"],
        dbname=aurora.database,
        user=secret["username"],
        password=secret["password"],
        connect_timeout=5,
    ) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == (
            "app_admin",
            "appdb",
        )


def test_managed_master_password_is_a_secret_rds_creates(aws, stacks):
    """With ManageMasterUserPassword RDS creates the master secret itself (username and a
    generated password), Fn::GetAtt MasterUserSecret.SecretArn names it, and the Data API
    accepts it for the cluster."""
    aurora = deploy_aurora(aws, managed_password=True, database="ledger", username="owner")
    stacks.append(aurora.stack_name)

    secret = json.loads(
        aws("secretsmanager").get_secret_value(SecretId=aurora.secret_arn)["SecretString"]
    )
    assert secret["username"] == "owner"
    assert len(secret["password"]) >= 16

    result = aws("rds-data").execute_statement(
        sql="SELECT current_user, current_database()", **aurora.args()
    )
    assert rows(result) == [["owner", "ledger"]]


def test_stack_delete_drops_the_database(aws, cfn):
    """Deleting the stack deletes the cluster (instance first) and its data with it: the
    database is gone from the server, and the cluster's ARN no longer reaches the Data API."""
    aurora = deploy_aurora(aws)
    data = aws("rds-data")
    data.execute_statement(sql="CREATE TABLE kept (id int)", **aurora.args())
    store = get_store()
    assert store is not None
    server = store.server()
    assert server.database_exists(aurora.database)

    delete(cfn, aurora.stack_name)

    assert not server.database_exists(aurora.database)
    with pytest.raises(ClientError) as raised:
        aws("rds").describe_db_clusters(DBClusterIdentifier=aurora.cluster_id)
    assert raised.value.response["Error"]["Code"] == "DBClusterNotFoundFault"
    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql="SELECT 1", **aurora.args())
    assert raised.value.response["Error"]["Code"] == "HttpEndpointNotEnabledException"


def test_enabling_the_http_endpoint_is_an_in_place_update(aws, cfn, stacks):
    """EnableHttpEndpoint is updated without replacing the cluster: the Data API is refused
    while it is off and works once it is on, on the same cluster with the same data."""
    name = unique("aurora-update")
    stacks.append(name)
    stack = create(cfn, name, aurora_template(http_endpoint=False))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    aurora = aurora_from_stack(stack)
    data = aws("rds-data")
    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql="SELECT 1", **aurora.args())
    assert raised.value.response["Error"]["Code"] == "HttpEndpointNotEnabledException"

    updated = update(cfn, name, aurora_template(http_endpoint=True))

    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert aurora_from_stack(updated).cluster_arn == aurora.cluster_arn
    assert rows(data.execute_statement(sql="SELECT 41 + 1", **aurora.args())) == [[42]]


def test_cluster_placed_in_a_vpc_deploys_and_serves(aws, cfn, stacks):
    """A cluster placed in a VPC with a DBSubnetGroup (subnets in two zones) and a security
    group deploys as on AWS (networking has no local effect), and the Data API, which needs
    no VPC, reaches it."""
    name = unique("aurora-vpc")
    stacks.append(name)
    template = aurora_template()
    template["Resources"].update(
        {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}},
            **{
                f"Subnet{zone.upper()}": {
                    "Type": "AWS::EC2::Subnet",
                    "Properties": {
                        "VpcId": {"Ref": "Vpc"},
                        "CidrBlock": f"10.20.{index}.0/24",
                        "AvailabilityZone": f"us-east-1{zone}",
                    },
                }
                for index, zone in enumerate("ab", start=1)
            },
            "SubnetGroup": {
                "Type": "AWS::RDS::DBSubnetGroup",
                "Properties": {
                    "DBSubnetGroupDescription": "database subnets",
                    "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
                },
            },
            "DatabaseSecurityGroup": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "database", "VpcId": {"Ref": "Vpc"}},
            },
        }
    )
    cluster_properties = template["Resources"]["Cluster"]["Properties"]
    cluster_properties["DBSubnetGroupName"] = {"Ref": "SubnetGroup"}
    cluster_properties["VpcSecurityGroupIds"] = [
        {"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]}
    ]

    stack = create(cfn, name, template)

    assert stack["StackStatus"] == "CREATE_COMPLETE", _failure_reasons(cfn, name)
    aurora = aurora_from_stack(stack)
    cluster = aws("rds").describe_db_clusters(DBClusterIdentifier=aurora.cluster_id)
    [group] = cluster["DBClusters"][0]["VpcSecurityGroups"]
    assert group["VpcSecurityGroupId"].startswith("sg-")
    result = aws("rds-data").execute_statement(sql="SELECT 'in a vpc'", **aurora.args())
    assert rows(result) == [["in a vpc"]]


def test_engine_other_than_aurora_postgresql_fails_the_stack(cfn, stacks):
    """A cluster the local cloud cannot run (Aurora MySQL) fails the stack with a reason that
    names the type and the engine, and the stack rolls back instead of deploying without it."""
    name = unique("aurora-mysql")
    stacks.append(name)
    template = {
        "Resources": {
            "Cluster": {
                "Type": "AWS::RDS::DBCluster",
                "Properties": {
                    "Engine": "aurora-mysql",
                    "MasterUsername": "admin",
                    "MasterUserPassword": "long-enough-password",
                },
            }
        }
    }
    stack = create(cfn, name, template)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    [reason] = _failure_reasons(cfn, name)
    assert "AWS::RDS::DBCluster" in reason
    assert "aurora-mysql" in reason


def test_standalone_db_instance_is_refused(cfn, stacks):
    """A DB instance outside an Aurora PostgreSQL cluster (plain RDS) is not emulated: the
    stack fails naming the type rather than pretending an instance exists."""
    name = unique("rds-instance")
    stacks.append(name)
    template = {
        "Resources": {
            "Db": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "Engine": "postgres",
                    "DBInstanceClass": "db.t4g.micro",
                    "AllocatedStorage": "20",
                    "MasterUsername": "admin",
                    "MasterUserPassword": "long-enough-password",
                },
            }
        }
    }
    stack = create(cfn, name, template)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    [reason] = _failure_reasons(cfn, name)
    assert "AWS::RDS::DBInstance" in reason
    assert "aurora-postgresql" in reason
