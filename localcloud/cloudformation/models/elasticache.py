"""ElastiCache resources (Redis OSS / Valkey) on real local Redis servers.

Each cache is one ``redis-server`` process of the local cloud (:mod:`localcloud.elasticache`),
started when the resource is created and stopped when it is deleted; every endpoint the
template can read with ``Fn::GetAtt`` is that server's ``127.0.0.1`` and port (ports are
strings, as CloudFormation returns them).

- ``AWS::ElastiCache::ServerlessCache``: ``Engine`` ``redis`` or ``valkey``; ``Ref`` is the
  cache name; ``Endpoint.Address``/``Endpoint.Port``, ``ReaderEndpoint.Address``/``.Port``,
  ``ARN``, ``Status``, ``CreateTime``, ``FullEngineVersion``. moto has no serverless caches,
  so the cache is known to CloudFormation only (no DescribeServerlessCaches). On AWS a
  serverless cache accepts TLS only; the local server speaks plain TCP (see
  :mod:`localcloud.elasticache`).
- ``AWS::ElastiCache::ReplicationGroup``: created in moto's ElastiCache backend, which the
  local cloud has taught to give it a server; ``Ref`` is the group id;
  ``PrimaryEndPoint.*``, ``ReaderEndPoint.*``, ``ReadEndPoint.Addresses``/``Ports`` (and their
  ``.List`` forms), ``ConfigurationEndPoint.*`` for cluster mode.
- ``AWS::ElastiCache::CacheCluster``: a ``redis``/``valkey`` cluster in moto's backend with its
  own server; ``Ref`` is the cluster name; ``RedisEndpoint.Address``/``.Port``. Memcached has
  no local server and fails the stack, naming why.
- ``AWS::ElastiCache::SubnetGroup``: recorded in moto's backend (networking has no local
  effect: every cache listens on loopback); ``Ref`` is the group name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.elasticache.models import elasticache_backends

from localcloud.cloudformation.models.base import LocalResource, as_bool, as_int
from localcloud.cloudformation.registry import UnsupportedResourceType, register

ENGINES = ("redis", "valkey")
# What AWS reports for a new cache of each engine when no version is asked for.
_DEFAULT_VERSIONS = {"redis": "7.1", "valkey": "8.0"}


def cache_identifier(name: str, limit: int = 40) -> str:
    """A generated name made valid for ElastiCache: lower case letters, digits and hyphens,
    a letter first, no double or trailing hyphen, at most ``limit`` characters."""
    text = re.sub(r"[^a-z0-9-]", "-", name.lower())
    text = re.sub(r"-{2,}", "-", text)
    if not text or not text[0].isalpha():
        text = "c-" + text
    if len(text) > limit:
        # Keep the random tail CloudFormation appends, so names stay unique.
        head, _, tail = text.rpartition("-")
        tail = tail[: limit // 2]
        text = head[: limit - len(tail) - 1].rstrip("-") + "-" + tail
    return text.strip("-")


def _engine(resource_type: str, properties: Mapping[str, Any], default: str | None) -> str:
    engine = str(properties.get("Engine") or default or "").lower()
    if engine not in ENGINES:
        raise UnsupportedResourceType(
            resource_type, f"Engine {engine or '(none)'}: only redis and valkey caches run locally"
        )
    return engine


def _tags(properties: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {"Key": str(t["Key"]), "Value": str(t.get("Value", ""))}
        for t in properties.get("Tags") or []
    ]


def _caches() -> Any:
    from localcloud.elasticache import get_caches

    return get_caches()


@register
class ServerlessCacheModel(LocalResource, CloudFormationModel):
    """``AWS::ElastiCache::ServerlessCache`` on its own local Redis server."""

    ATTRIBUTES = frozenset(
        {
            "ARN",
            "CreateTime",
            "Endpoint.Address",
            "Endpoint.Port",
            "FullEngineVersion",
            "ReaderEndpoint.Address",
            "ReaderEndpoint.Port",
            "Status",
        }
    )
    REPLACEMENT_PROPERTIES = frozenset(
        {"ServerlessCacheName", "KmsKeyId", "SnapshotArnsToRestore", "SubnetIds"}
    )

    def __init__(self, name: str, key: str, engine: str, version: str, arn: str) -> None:
        endpoint = _caches().provision(key)
        self.key = key
        self._init_resource(
            name,
            ARN=arn,
            CreateTime=datetime.now(UTC).isoformat(),
            FullEngineVersion=version,
            Status="available",
            **{
                "Endpoint.Address": endpoint.address,
                "Endpoint.Port": str(endpoint.port),
                "ReaderEndpoint.Address": endpoint.address,
                "ReaderEndpoint.Port": str(endpoint.port),
            },
        )
        self.engine = engine

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ServerlessCacheName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::ServerlessCache"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ServerlessCacheModel:
        from localcloud.elasticache import CacheServers

        properties = cloudformation_json.get("Properties") or {}
        engine = _engine(cls.cloudformation_type(), properties, None)
        name = cache_identifier(resource_name)
        version = str(properties.get("MajorEngineVersion") or _DEFAULT_VERSIONS[engine])
        arn = f"arn:aws:elasticache:{region_name}:{account_id}:serverlesscache:{name}"
        key = CacheServers.key("serverless", account_id, region_name, name)
        return cls(name, key, engine, version, arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ServerlessCacheModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ServerlessCacheModel:
        # Engine upgrades (redis -> valkey), limits, security groups: the same server, data
        # kept, as AWS upgrades a cache in place.
        properties = cloudformation_json.get("Properties") or {}
        engine = _engine(cls.cloudformation_type(), properties, None)
        original_resource.engine = engine
        original_resource.attributes["FullEngineVersion"] = str(
            properties.get("MajorEngineVersion") or _DEFAULT_VERSIONS[engine]
        )
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        from localcloud.elasticache import RedisUnavailable

        try:
            caches = _caches()
        except RedisUnavailable:
            return  # the local cloud is stopping: every server stops with it
        caches.release(self.key)


@register
class ReplicationGroupModel(LocalResource, CloudFormationModel):
    """``AWS::ElastiCache::ReplicationGroup`` in moto's backend, on a local Redis server."""

    ATTRIBUTES = frozenset(
        {
            "ConfigurationEndPoint.Address",
            "ConfigurationEndPoint.Port",
            "PrimaryEndPoint.Address",
            "PrimaryEndPoint.Port",
            "ReaderEndPoint.Address",
            "ReaderEndPoint.Port",
            "ReadEndPoint.Addresses",
            "ReadEndPoint.Addresses.List",
            "ReadEndPoint.Ports",
            "ReadEndPoint.Ports.List",
        }
    )
    REPLACEMENT_PROPERTIES = frozenset(
        {
            "ReplicationGroupId",
            "AtRestEncryptionEnabled",
            "CacheSubnetGroupName",
            "ClusterMode",
            "DataTieringEnabled",
            "GlobalReplicationGroupId",
            "KmsKeyId",
            "NumNodeGroups",
            "Port",
            "PrimaryClusterId",
            "SnapshotArns",
            "SnapshotName",
            "TransitEncryptionEnabled",
        }
    )

    def __init__(self, group: Any) -> None:
        self._init_resource(group.replication_group_id)
        if group.cluster_mode == "enabled":
            endpoint = group.configuration_endpoint
            self.attributes["ConfigurationEndPoint.Address"] = endpoint["address"]
            self.attributes["ConfigurationEndPoint.Port"] = str(endpoint["port"])
            return
        node_group = group.node_groups[0]
        address, port = node_group["primary_endpoint_address"], str(node_group["port"])
        readers = [m["read_endpoint"] for m in node_group["node_group_members"]]
        self.attributes.update(
            {
                "PrimaryEndPoint.Address": address,
                "PrimaryEndPoint.Port": port,
                "ReaderEndPoint.Address": node_group["reader_endpoint_address"],
                "ReaderEndPoint.Port": port,
                "ReadEndPoint.Addresses": ",".join(r["address"] for r in readers),
                "ReadEndPoint.Ports": ",".join(str(r["port"]) for r in readers),
                "ReadEndPoint.Addresses.List": [r["address"] for r in readers],
                "ReadEndPoint.Ports.List": [str(r["port"]) for r in readers],
            }
        )

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ReplicationGroupId"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::ReplicationGroup"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ReplicationGroupModel:
        properties = cloudformation_json.get("Properties") or {}
        engine = _engine(cls.cloudformation_type(), properties, "redis")
        cluster_mode = properties.get("ClusterMode")
        if cluster_mode is None and properties.get("NumNodeGroups") not in (None, 1, "1"):
            cluster_mode = "enabled"
        arguments: dict[str, Any] = {
            "replication_group_id": cache_identifier(resource_name),
            "replication_group_description": properties.get("ReplicationGroupDescription", ""),
            "global_replication_group_id": None,
            "primary_cluster_id": properties.get("PrimaryClusterId"),
            "automatic_failover_enabled": as_bool(properties.get("AutomaticFailoverEnabled")),
            "multi_az_enabled": as_bool(properties.get("MultiAZEnabled")),
            "num_cache_clusters": as_int(properties.get("NumCacheClusters")),
            "preferred_cache_cluster_azs": properties.get("PreferredCacheClusterAZs"),
            "num_node_groups": as_int(properties.get("NumNodeGroups")),
            "replicas_per_node_group": as_int(properties.get("ReplicasPerNodeGroup")),
            "node_group_configuration": properties.get("NodeGroupConfiguration") or [],
            "cache_node_type": properties.get("CacheNodeType"),
            "engine": engine,
            "engine_version": properties.get("EngineVersion"),
            "cache_parameter_group_name": properties.get("CacheParameterGroupName"),
            "cache_subnet_group_name": properties.get("CacheSubnetGroupName"),
            "cache_security_group_names": properties.get("CacheSecurityGroupNames"),
            "security_group_ids": properties.get("SecurityGroupIds"),
            "tags": _tags(properties),
            "snapshot_arns": properties.get("SnapshotArns"),
            "snapshot_name": properties.get("SnapshotName"),
            "preferred_maintenance_window": properties.get("PreferredMaintenanceWindow"),
            "port": None,  # the local server's port wins whatever the template asks
            "notification_topic_arn": properties.get("NotificationTopicArn"),
            "auto_minor_version_upgrade": as_bool(properties.get("AutoMinorVersionUpgrade")),
            "snapshot_retention_limit": as_int(properties.get("SnapshotRetentionLimit")) or 0,
            "snapshot_window": properties.get("SnapshotWindow"),
            "auth_token": properties.get("AuthToken"),
            "transit_encryption_enabled": as_bool(properties.get("TransitEncryptionEnabled")),
            "at_rest_encryption_enabled": as_bool(properties.get("AtRestEncryptionEnabled")),
            "kms_key_id": properties.get("KmsKeyId"),
            "user_group_ids": properties.get("UserGroupIds") or [],
            "log_delivery_configurations": properties.get("LogDeliveryConfigurations") or [],
            "data_tiering_enabled": as_bool(properties.get("DataTieringEnabled")),
            "network_type": properties.get("NetworkType"),
            "ip_discovery": properties.get("IpDiscovery"),
            "transit_encryption_mode": properties.get("TransitEncryptionMode"),
            "cluster_mode": cluster_mode,
            "serverless_cache_snapshot_name": None,
        }
        backend = elasticache_backends[account_id][region_name]
        return cls(backend.create_replication_group(**arguments))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ReplicationGroupModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ReplicationGroupModel:
        properties = cloudformation_json.get("Properties") or {}
        engine = _engine(cls.cloudformation_type(), properties, "redis")
        backend = elasticache_backends[account_id][region_name]
        changes: dict[str, Any] = {
            "replication_group_id": original_resource.physical_resource_id,
            "replication_group_description": properties.get("ReplicationGroupDescription"),
            "engine": engine,
            "cache_node_type": properties.get("CacheNodeType"),
            "automatic_failover_enabled": as_bool(properties.get("AutomaticFailoverEnabled")),
            "multi_az_enabled": as_bool(properties.get("MultiAZEnabled")),
            "snapshot_retention_limit": as_int(properties.get("SnapshotRetentionLimit")),
        }
        group = backend.modify_replication_group(**changes)
        return cls(group)

    def remove(self, account_id: str, region_name: str) -> None:
        backend = elasticache_backends[account_id][region_name]
        if self.physical_resource_id in backend.replication_groups:
            backend.delete_replication_group(self.physical_resource_id, None)


@register
class CacheClusterModel(LocalResource, CloudFormationModel):
    """``AWS::ElastiCache::CacheCluster`` (Redis OSS / Valkey) with its own local server."""

    ATTRIBUTES = frozenset({"RedisEndpoint.Address", "RedisEndpoint.Port"})
    REPLACEMENT_PROPERTIES = frozenset(
        {
            "ClusterName",
            "Engine",
            "CacheSubnetGroupName",
            "Port",
            "SnapshotArns",
            "SnapshotName",
            "TransitEncryptionEnabled",
            "NetworkType",
        }
    )

    def __init__(self, cluster: Any) -> None:
        node = cluster.cache_nodes[0]["endpoint"]
        self._init_resource(
            cluster.cache_cluster_id,
            **{"RedisEndpoint.Address": node["address"], "RedisEndpoint.Port": str(node["port"])},
        )

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClusterName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::CacheCluster"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CacheClusterModel:
        properties = cloudformation_json.get("Properties") or {}
        engine = _engine(cls.cloudformation_type(), properties, None)
        backend = elasticache_backends[account_id][region_name]
        arguments: dict[str, Any] = {
            "cache_cluster_id": cache_identifier(resource_name, limit=50),
            "replication_group_id": None,
            "az_mode": properties.get("AZMode"),
            "preferred_availability_zone": properties.get("PreferredAvailabilityZone"),
            "num_cache_nodes": as_int(properties.get("NumCacheNodes")) or 1,
            "cache_node_type": properties.get("CacheNodeType") or "cache.t4g.micro",
            "engine": engine,
            "engine_version": properties.get("EngineVersion"),
            "cache_parameter_group_name": properties.get("CacheParameterGroupName"),
            "cache_subnet_group_name": properties.get("CacheSubnetGroupName"),
            "transit_encryption_enabled": as_bool(properties.get("TransitEncryptionEnabled")),
            "network_type": properties.get("NetworkType"),
            "ip_discovery": properties.get("IpDiscovery"),
            "snapshot_name": properties.get("SnapshotName"),
            "preferred_maintenance_window": properties.get("PreferredMaintenanceWindow"),
            "port": None,  # the local server's port wins whatever the template asks
            "notification_topic_arn": properties.get("NotificationTopicArn"),
            "auto_minor_version_upgrade": as_bool(properties.get("AutoMinorVersionUpgrade")),
            "snapshot_retention_limit": as_int(properties.get("SnapshotRetentionLimit")) or 0,
            "snapshot_window": properties.get("SnapshotWindow"),
            "auth_token": None,
            "outpost_mode": None,
            "preferred_outpost_arn": None,
            "preferred_availability_zones": properties.get("PreferredAvailabilityZones") or [],
            "cache_security_group_names": properties.get("CacheSecurityGroupNames") or [],
            "security_group_ids": properties.get("VpcSecurityGroupIds") or [],
            "tags": _tags(properties),
            "snapshot_arns": properties.get("SnapshotArns") or [],
            "preferred_outpost_arns": [],
            "log_delivery_configurations": properties.get("LogDeliveryConfigurations") or [],
            "cache_node_ids_to_remove": [],
            "cache_node_ids_to_reboot": [],
        }
        cluster = backend.create_cache_cluster(**arguments)
        return cls(cluster)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CacheClusterModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CacheClusterModel:
        # Node type, maintenance window and the like change nothing locally.
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        backend = elasticache_backends[account_id][region_name]
        if self.physical_resource_id in backend.cache_clusters:
            backend.delete_cache_cluster(self.physical_resource_id)


@register
class SubnetGroupModel(LocalResource, CloudFormationModel):
    """``AWS::ElastiCache::SubnetGroup``, recorded in moto's backend (``Ref``: its name)."""

    REPLACEMENT_PROPERTIES = frozenset({"CacheSubnetGroupName"})

    def __init__(self, name: str) -> None:
        self._init_resource(name)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "CacheSubnetGroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElastiCache::SubnetGroup"

    @staticmethod
    def _record(name: str, properties: Mapping[str, Any], account_id: str, region: str) -> None:
        backend = elasticache_backends[account_id][region]
        backend.cache_subnet_groups.pop(name, None)
        backend.create_cache_subnet_group(
            cache_subnet_group_name=name,
            cache_subnet_group_description=str(properties.get("Description", "")),
            subnet_ids=[str(s) for s in properties.get("SubnetIds") or []],
            tags=_tags(properties),
        )

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SubnetGroupModel:
        # ElastiCache stores subnet group names in lower case.
        name = cache_identifier(resource_name, limit=255)
        cls._record(name, cloudformation_json.get("Properties") or {}, account_id, region_name)
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SubnetGroupModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SubnetGroupModel:
        cls._record(
            original_resource.physical_resource_id,
            cloudformation_json.get("Properties") or {},
            account_id,
            region_name,
        )
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        # moto 5.2.5 has no DeleteCacheSubnetGroup: drop the record itself.
        backend = elasticache_backends[account_id][region_name]
        backend.cache_subnet_groups.pop(self.physical_resource_id, None)
