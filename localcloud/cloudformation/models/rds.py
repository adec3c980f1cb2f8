"""Aurora PostgreSQL resources: ``AWS::RDS::DBCluster``, ``AWS::RDS::DBInstance`` and
``AWS::SecretsManager::SecretTargetAttachment``.

moto has no model for DB clusters at all (they would be skipped), and its DB instance model
ignores ``DBClusterIdentifier``. Here a cluster is created through moto's RDS backend, which
the local cloud has taught (:mod:`localcloud.rds`) to give an ``aurora-postgresql`` cluster real
databases on its PostgreSQL server; its ``Endpoint.Address`` and ``Endpoint.Port`` are that
server's, and with ``EnableHttpEndpoint: true`` the RDS Data API runs SQL on it.

- ``AWS::RDS::DBCluster``: ``Engine`` must be ``aurora-postgresql`` (anything else fails the
  stack, naming what the local cloud can run). ``MasterUsername`` with ``MasterUserPassword``,
  or ``ManageMasterUserPassword: true`` (RDS then creates the secret; ``Fn::GetAtt
  MasterUserSecret.SecretArn``). ``Ref`` is the cluster identifier. Updates modify the cluster
  in place (``EnableHttpEndpoint``, ``MasterUserPassword``, scaling, deletion protection...);
  the properties CloudFormation replaces a cluster for replace it.
- ``AWS::RDS::DBInstance``: an instance of such a cluster (``DBClusterIdentifier``, engine
  ``aurora-postgresql``, e.g. ``DBInstanceClass: db.serverless``) joins the cluster and shares
  its server; a stand-alone instance is not supported locally and fails the stack.
- ``AWS::SecretsManager::SecretTargetAttachment``: adds the connection fields RDS adds to the
  secret (``engine``, ``host``, ``port``, ``dbClusterIdentifier``); ``Ref`` is the secret ARN.

Dynamic references in these resources' properties (``{{resolve:secretsmanager:...}}``,
``{{resolve:ssm:...}}``), the usual way to hand a generated password to ``MasterUserPassword``,
are resolved against the local cloud's Secrets Manager and SSM Parameter Store.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from localcloud.cloudformation.models.base import LocalResource, as_bool, as_int
from localcloud.cloudformation.registry import UnsupportedResourceType, register

ENGINE = "aurora-postgresql"
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(secretsmanager|ssm|ssm-secure):([^}]*)\}\}")
_IDENTIFIER_LIMIT = 63


def _resolve_reference(service: str, reference: str, account_id: str, region_name: str) -> str:
    if service == "secretsmanager":
        # secret-id:SecretString:json-key:version-stage:version-id (secret-id may be an ARN).
        arn_parts = 7 if reference.startswith("arn:") else 1
        pieces = reference.split(":")
        secret_id = ":".join(pieces[:arn_parts])
        rest = pieces[arn_parts:] + [""] * 4
        _, json_key, stage, version = rest[:4]
        secrets: Any = secretsmanager_backends[account_id][region_name]
        value = secrets.get_secret_value(
            secret_id, version or None, stage or ("AWSCURRENT" if not version else None)
        )
        text = str(value.get("SecretString", ""))
        return str(json.loads(text)[json_key]) if json_key else text
    from moto.ssm.models import ssm_backends

    name, _, version = reference.partition(":")
    selector = f"{name}:{version}" if version else name
    parameter = ssm_backends[account_id][region_name].get_parameter(selector)
    if parameter is None:
        raise ValueError("ParameterNotFound", f"SSM parameter {name} not found")
    return str(parameter.value)


def resolve_dynamic_references(value: Any, account_id: str, region_name: str) -> Any:
    """``value`` with every ``{{resolve:...}}`` replaced by what it names (recursively)."""
    if isinstance(value, str):
        return _DYNAMIC_REFERENCE.sub(
            lambda m: _resolve_reference(m.group(1), m.group(2), account_id, region_name), value
        )
    if isinstance(value, list):
        return [resolve_dynamic_references(item, account_id, region_name) for item in value]
    if isinstance(value, dict):
        return {k: resolve_dynamic_references(v, account_id, region_name) for k, v in value.items()}
    return value


def rds_identifier(name: str) -> str:
    """A generated name made valid for RDS: lower case, at most 63 characters, a letter
    first, no double or trailing hyphen."""
    text = re.sub(r"[^a-z0-9-]", "-", name.lower())
    text = re.sub(r"-{2,}", "-", text)
    if not text or not text[0].isalpha():
        text = "db-" + text
    if len(text) > _IDENTIFIER_LIMIT:
        # Keep the random tail CloudFormation appends, so names stay unique.
        head, _, tail = text.rpartition("-")
        text = head[: _IDENTIFIER_LIMIT - len(tail) - 1].rstrip("-") + "-" + tail
    return text.strip("-")


def _tags(properties: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {"Key": str(t["Key"]), "Value": str(t.get("Value", ""))}
        for t in properties.get("Tags") or []
    ]


def _scaling(scaling: Mapping[str, Any]) -> dict[str, Any]:
    """ServerlessV2ScalingConfiguration as RDS reports it (capacities in ACUs)."""
    result: dict[str, Any] = {
        "MinCapacity": float(scaling.get("MinCapacity", 0.5)),
        "MaxCapacity": float(scaling.get("MaxCapacity", 1)),
    }
    if scaling.get("SecondsUntilAutoPause") is not None:
        result["SecondsUntilAutoPause"] = int(scaling["SecondsUntilAutoPause"])
    return result


def _server_endpoint() -> tuple[str, int]:
    from localcloud.rds import get_store

    store = get_store()
    if store is None:
        raise RuntimeError("the local cloud's RDS service is not running")
    server = store.server()
    return server.host, server.port


@register
class DBClusterModel(LocalResource, CloudFormationModel):
    """``AWS::RDS::DBCluster`` (Aurora PostgreSQL) on the local PostgreSQL server."""

    ATTRIBUTES = frozenset(
        {
            "DBClusterArn",
            "DBClusterResourceId",
            "Endpoint.Address",
            "Endpoint.Port",
            "ReadEndpoint.Address",
            "MasterUserSecret.SecretArn",
        }
    )
    REPLACEMENT_PROPERTIES = frozenset(
        {
            "DBClusterIdentifier",
            "Engine",
            "EngineMode",
            "DatabaseName",
            "MasterUsername",
            "StorageEncrypted",
            "KmsKeyId",
            "DBSubnetGroupName",
            "AvailabilityZones",
            "SnapshotIdentifier",
            "SourceDBClusterIdentifier",
            "RestoreType",
            "GlobalClusterIdentifier",
        }
    )

    def __init__(self, cluster: Any) -> None:
        host, port = _server_endpoint()
        secret = getattr(cluster, "master_user_secret", None)
        self._init_resource(
            cluster.db_cluster_identifier,
            DBClusterArn=cluster.db_cluster_arn,
            DBClusterResourceId=cluster.db_cluster_resource_id,
            **{
                "Endpoint.Address": host,
                "Endpoint.Port": str(port),
                "ReadEndpoint.Address": host,
            },
        )
        if secret is not None:
            self.attributes["MasterUserSecret.SecretArn"] = secret.secret_arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DBClusterIdentifier"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBCluster"

    @staticmethod
    def _check(properties: Mapping[str, Any]) -> None:
        engine = properties.get("Engine")
        if engine != ENGINE:
            raise UnsupportedResourceType(
                "AWS::RDS::DBCluster",
                f"Engine {engine}: only aurora-postgresql clusters run locally",
            )
        for unsupported in (
            "SnapshotIdentifier",
            "SourceDBClusterIdentifier",
            "GlobalClusterIdentifier",
        ):
            if properties.get(unsupported):
                raise UnsupportedResourceType(
                    "AWS::RDS::DBCluster", f"{unsupported} is not supported locally"
                )

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> DBClusterModel:
        properties = resolve_dynamic_references(
            cloudformation_json["Properties"], account_id, region_name
        )
        cls._check(properties)
        scaling = properties.get("ServerlessV2ScalingConfiguration") or {}
        cluster_kwargs: dict[str, Any] = {
            "db_cluster_identifier": rds_identifier(resource_name),
            "engine": ENGINE,
            "engine_version": properties.get("EngineVersion"),
            "engine_mode": properties.get("EngineMode") or "provisioned",
            "database_name": properties.get("DatabaseName"),
            "master_username": properties.get("MasterUsername"),
            "master_user_password": properties.get("MasterUserPassword"),
            "manage_master_user_password": as_bool(properties.get("ManageMasterUserPassword")),
            "master_user_secret_kms_key_id": (properties.get("MasterUserSecret") or {}).get(
                "KmsKeyId"
            ),
            "enable_http_endpoint": as_bool(properties.get("EnableHttpEndpoint")),
            "db_subnet_group_name": properties.get("DBSubnetGroupName"),
            "vpc_security_group_ids": properties.get("VpcSecurityGroupIds"),
            "db_cluster_parameter_group_name": properties.get("DBClusterParameterGroupName"),
            "port": as_int(properties.get("Port")),
            "deletion_protection": as_bool(properties.get("DeletionProtection")),
            "storage_encrypted": as_bool(properties.get("StorageEncrypted")),
            "kms_key_id": properties.get("KmsKeyId"),
            "copy_tags_to_snapshot": as_bool(properties.get("CopyTagsToSnapshot")),
            "availability_zones": properties.get("AvailabilityZones"),
            "enable_iam_database_authentication": as_bool(
                properties.get("EnableIAMDatabaseAuthentication")
            ),
            "enable_cloudwatch_logs_exports": properties.get("EnableCloudwatchLogsExports"),
            "tags": _tags(properties),
        }
        if properties.get("BackupRetentionPeriod") is not None:
            cluster_kwargs["backup_retention_period"] = int(properties["BackupRetentionPeriod"])
        for name, key in (
            ("PreferredBackupWindow", "preferred_backup_window"),
            ("PreferredMaintenanceWindow", "preferred_maintenance_window"),
        ):
            if properties.get(name):
                cluster_kwargs[key] = properties[name]
        if scaling:
            cluster_kwargs["serverless_v2_scaling_configuration"] = _scaling(scaling)
        cluster_kwargs = {k: v for k, v in cluster_kwargs.items() if v is not None}
        cluster = rds_backends[account_id][region_name].create_db_cluster(cluster_kwargs)
        return cls(cluster)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: DBClusterModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> DBClusterModel:
        properties = resolve_dynamic_references(
            cloudformation_json["Properties"], account_id, region_name
        )
        cls._check(properties)
        backend = rds_backends[account_id][region_name]
        changes: dict[str, Any] = {
            "db_cluster_identifier": original_resource.physical_resource_id,
            "apply_immediately": True,
            "enable_http_endpoint": as_bool(properties.get("EnableHttpEndpoint")),
            "deletion_protection": as_bool(properties.get("DeletionProtection")),
            "master_user_password": properties.get("MasterUserPassword"),
        }
        if "ManageMasterUserPassword" in properties:
            changes["manage_master_user_password"] = as_bool(properties["ManageMasterUserPassword"])
        if properties.get("ServerlessV2ScalingConfiguration"):
            changes["serverless_v2_scaling_configuration"] = _scaling(
                properties["ServerlessV2ScalingConfiguration"]
            )
        if properties.get("EngineVersion"):
            changes["engine_version"] = properties["EngineVersion"]
        current = backend.clusters[original_resource.physical_resource_id]
        if (
            changes.get("master_user_password") is not None
            and getattr(current, "_master_user_password", None) == changes["master_user_password"]
        ):
            del changes["master_user_password"]
        if changes.get("manage_master_user_password") == bool(
            getattr(current, "manage_master_user_password", False)
        ):
            del changes["manage_master_user_password"]
        backend.modify_db_cluster({k: v for k, v in changes.items() if v is not None})
        return cls(backend.clusters[original_resource.physical_resource_id])

    def remove(self, account_id: str, region_name: str) -> None:
        backend = rds_backends[account_id][region_name]
        if self.physical_resource_id in backend.clusters:
            backend.delete_db_cluster(self.physical_resource_id)


@register
class DBInstanceModel(LocalResource, CloudFormationModel):
    """``AWS::RDS::DBInstance`` of an Aurora PostgreSQL cluster (e.g. ``db.serverless``)."""

    ATTRIBUTES = frozenset({"DBInstanceArn", "DbiResourceId", "Endpoint.Address", "Endpoint.Port"})
    REPLACEMENT_PROPERTIES = frozenset(
        {"DBInstanceIdentifier", "DBClusterIdentifier", "Engine", "AvailabilityZone"}
    )

    def __init__(self, instance: Any) -> None:
        host, port = _server_endpoint()
        self._init_resource(
            instance.db_instance_identifier,
            DBInstanceArn=instance.db_instance_arn,
            DbiResourceId=instance.dbi_resource_id,
            **{"Endpoint.Address": host, "Endpoint.Port": str(port)},
        )

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DBInstanceIdentifier"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBInstance"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> DBInstanceModel:
        properties = cloudformation_json["Properties"]
        cluster_id = properties.get("DBClusterIdentifier")
        engine = properties.get("Engine")
        if not cluster_id or engine != ENGINE:
            raise UnsupportedResourceType(
                "AWS::RDS::DBInstance",
                "only instances of an aurora-postgresql DB cluster (DBClusterIdentifier) "
                "run locally",
            )
        instance_kwargs: dict[str, Any] = {
            "db_instance_identifier": rds_identifier(resource_name),
            "db_cluster_identifier": str(cluster_id).lower(),
            "db_instance_class": properties.get("DBInstanceClass") or "db.serverless",
            "engine": ENGINE,
            "publicly_accessible": as_bool(properties.get("PubliclyAccessible")),
            "tags": _tags(properties),
        }
        if properties.get("PromotionTier") is not None:
            instance_kwargs["promotion_tier"] = int(properties["PromotionTier"])
        if properties.get("AvailabilityZone"):
            instance_kwargs["availability_zone"] = properties["AvailabilityZone"]
        instance = rds_backends[account_id][region_name].create_db_instance(instance_kwargs)
        return cls(instance)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: DBInstanceModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> DBInstanceModel:
        # Instance class, tier and the like change nothing locally: one server serves all.
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        backend = rds_backends[account_id][region_name]
        if self.physical_resource_id in backend.databases:
            backend.delete_db_instance(self.physical_resource_id, skip_final_snapshot=True)


@register
class SecretTargetAttachmentModel(LocalResource, CloudFormationModel):
    """``AWS::SecretsManager::SecretTargetAttachment``: the secret learns where its database is."""

    REPLACEMENT_PROPERTIES = frozenset({"SecretId"})

    def __init__(self, secret_arn: str) -> None:
        self._init_resource(secret_arn)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::SecretTargetAttachment"

    @staticmethod
    def _attach(properties: Mapping[str, Any], account_id: str, region_name: str) -> str:
        secrets: Any = secretsmanager_backends[account_id][region_name]
        secret_id = str(properties["SecretId"])
        target_type = str(properties.get("TargetType", ""))
        target_id = str(properties["TargetId"])
        backend = rds_backends[account_id][region_name]
        target: Any
        if target_type == "AWS::RDS::DBCluster":
            target = backend.clusters.get(target_id.lower())
            fields: dict[str, Any] = {"dbClusterIdentifier": target_id.lower()}
        elif target_type == "AWS::RDS::DBInstance":
            target = backend.databases.get(target_id.lower())
            fields = {"dbInstanceIdentifier": target_id.lower()}
        else:
            raise UnsupportedResourceType(
                "AWS::SecretsManager::SecretTargetAttachment",
                f"TargetType {target_type}: only RDS DB clusters and instances are supported",
            )
        if target is None:
            raise ValueError("ResourceNotFoundException", f"{target_type} {target_id} not found")
        host, port = _server_endpoint()
        fields.update({"engine": "postgres", "host": host, "port": port})
        current = secrets.get_secret_value(secret_id, None, "AWSCURRENT")
        document = json.loads(str(current.get("SecretString") or "{}"))
        document.update(fields)
        # A new version needs a request token (the SDKs generate one; moto insists).
        secrets.update_secret(
            secret_id, secret_string=json.dumps(document), client_request_token=str(uuid.uuid4())
        )
        return str(current["ARN"])

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecretTargetAttachmentModel:
        return cls(cls._attach(cloudformation_json["Properties"], account_id, region_name))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SecretTargetAttachmentModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecretTargetAttachmentModel:
        cls._attach(cloudformation_json["Properties"], account_id, region_name)
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        # Detaching leaves the secret as it is (CloudFormation does not rewrite it either).
        return None
