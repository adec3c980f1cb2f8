"""Helpers of the Aurora PostgreSQL / RDS Data API tests (imported by the test modules).

``aurora_template()`` is the stack an app declares for an Aurora Serverless v2 PostgreSQL
database reached through the Data API: a generated secret, the cluster (credentials from the
secret by dynamic reference, HTTP endpoint on), one ``db.serverless`` instance, and the
secret's target attachment. ``deploy_aurora()`` creates such a stack and returns its
:class:`Aurora` (what a test needs to call the Data API).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import create, outputs, unique


@dataclass(frozen=True)
class Aurora:
    """A deployed cluster: what the Data API needs, and its stack."""

    stack_name: str
    cluster_id: str
    cluster_arn: str
    secret_arn: str
    database: str
    address: str
    port: int

    def args(self, **extra: Any) -> dict[str, Any]:
        """The common Data API arguments (``resourceArn``, ``secretArn``, ``database``)."""
        return {
            "resourceArn": self.cluster_arn,
            "secretArn": self.secret_arn,
            "database": self.database,
            **extra,
        }


def aurora_template(
    *,
    database: str = "appdb",
    username: str = "app_admin",
    http_endpoint: bool = True,
    with_instance: bool = True,
    managed_password: bool = False,
) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "DatabaseSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "GenerateSecretString": {
                    "SecretStringTemplate": json.dumps({"username": username}),
                    "GenerateStringKey": "password",
                    "ExcludeCharacters": "\"@/\\'",
                    "PasswordLength": 24,
                }
            },
        },
        "Cluster": {
            "Type": "AWS::RDS::DBCluster",
            "Properties": {
                "Engine": "aurora-postgresql",
                "EngineVersion": "16.4",
                "DatabaseName": database,
                "EnableHttpEndpoint": http_endpoint,
                "ServerlessV2ScalingConfiguration": {
                    "MinCapacity": 0,
                    "MaxCapacity": 2,
                    "SecondsUntilAutoPause": 300,
                },
                "StorageEncrypted": True,
            },
        },
    }
    cluster = resources["Cluster"]["Properties"]
    if managed_password:
        cluster["MasterUsername"] = username
        cluster["ManageMasterUserPassword"] = True
        del resources["DatabaseSecret"]
        secret_arn: Any = {"Fn::GetAtt": ["Cluster", "MasterUserSecret.SecretArn"]}
    else:
        cluster["MasterUsername"] = {
            "Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:username}}"
        }
        cluster["MasterUserPassword"] = {
            "Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"
        }
        resources["SecretAttachment"] = {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            "Properties": {
                "SecretId": {"Ref": "DatabaseSecret"},
                "TargetId": {"Ref": "Cluster"},
                "TargetType": "AWS::RDS::DBCluster",
            },
        }
        secret_arn = {"Ref": "DatabaseSecret"}
    if with_instance:
        resources["Writer"] = {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "Engine": "aurora-postgresql",
                "DBClusterIdentifier": {"Ref": "Cluster"},
                "DBInstanceClass": "db.serverless",
            },
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": resources,
        "Outputs": {
            "ClusterId": {"Value": {"Ref": "Cluster"}},
            "ClusterArn": {"Value": {"Fn::GetAtt": ["Cluster", "DBClusterArn"]}},
            "SecretArn": {"Value": secret_arn},
            "Address": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}},
            "Port": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Port"]}},
        },
    }


def aurora_from_stack(stack: Mapping[str, Any], database: str = "appdb") -> Aurora:
    values = outputs(stack)
    return Aurora(
        stack_name=str(stack["StackName"]),
        cluster_id=values["ClusterId"],
        cluster_arn=values["ClusterArn"],
        secret_arn=values["SecretArn"],
        database=database,
        address=values["Address"],
        port=int(values["Port"]),
    )


def deploy_aurora(aws: Callable[..., Any], prefix: str = "aurora", **template: Any) -> Aurora:
    """Create a stack from :func:`aurora_template` and wait for it; it must succeed."""
    cfn = aws("cloudformation")
    name = unique(prefix)
    stack = create(cfn, name, aurora_template(**template))
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return aurora_from_stack(stack, database=template.get("database", "appdb"))


def rows(response: Mapping[str, Any]) -> list[list[Any]]:
    """The records of an ExecuteStatement response as plain values."""

    def value(field: Mapping[str, Any]) -> Any:
        if field.get("isNull"):
            return None
        ((_kind, item),) = field.items()
        return item

    return [[value(field) for field in record] for record in response.get("records", [])]
