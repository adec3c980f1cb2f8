"""``AWS::DynamoDB::Table`` updated in place, as CloudFormation does.

moto's model has no update, which the stack engine must treat as "replace": any change to a
table (turning its stream on, adding an index, a TTL) would have created a new, empty table
and deleted the old one with its items. Here only the properties CloudFormation replaces a
table for (name, key schema, local indexes) replace it; the rest is applied to the table in
place, through the same backend calls as UpdateTable and UpdateTimeToLive. Creation and
deletion are moto's; ``TimeToLiveSpecification`` is applied on creation too (moto drops it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from localcloud.cloudformation.registry import register


def _key_attributes(properties: Mapping[str, Any]) -> set[str]:
    names = {k["AttributeName"] for k in properties.get("KeySchema") or []}
    for index in properties.get("LocalSecondaryIndexes") or []:
        names |= {k["AttributeName"] for k in index.get("KeySchema") or []}
    return names


def _gsi_updates(table: Table, new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """UpdateTable GlobalSecondaryIndexUpdates taking the table's indexes to ``new``'s."""
    current = {index.name: index for index in table.global_indexes}
    wanted = {i["IndexName"]: i for i in new.get("GlobalSecondaryIndexes") or []}
    updates: list[dict[str, Any]] = []
    for name in current.keys() - wanted.keys():
        updates.append({"Delete": {"IndexName": name}})
    for name, index in wanted.items():
        existing = current.get(name)
        if existing is not None and (
            existing.schema == index.get("KeySchema")
            and existing.projection == index.get("Projection")
        ):
            continue
        if existing is not None:
            # A new key schema or projection needs a new index: delete, then create.
            updates.append({"Delete": {"IndexName": name}})
        updates.append({"Create": dict(index)})
    return updates


def _apply_ttl(
    table: Table, properties: Mapping[str, Any], account_id: str, region_name: str
) -> None:
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb_backends[account_id][region_name].update_time_to_live(
            table.name,
            {
                "Enabled": str(ttl.get("Enabled")).lower() == "true",
                "AttributeName": ttl["AttributeName"],
            },
        )


@register
class TableModel(CloudFormationModel):
    """Creates and deletes with moto's Table model; updates in place."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "TableName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::DynamoDB::Table"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "StreamArn")

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        return any(
            old.get(name) != new.get(name)
            for name in ("TableName", "KeySchema", "LocalSecondaryIndexes")
        ) or _key_attributes(old) != _key_attributes(new)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Table:
        table = Table.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        _apply_ttl(table, cloudformation_json["Properties"], account_id, region_name)
        return table

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Table,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Table:
        new = cloudformation_json["Properties"]
        backend = dynamodb_backends[account_id][region_name]
        table = backend.get_table(original_resource.name)
        billing = (
            "PAY_PER_REQUEST" if new.get("BillingMode") == "PAY_PER_REQUEST" else "PROVISIONED"
        )
        backend.update_table(
            name=table.name,
            attr_definitions=new.get("AttributeDefinitions") or [],
            global_index=_gsi_updates(table, new),
            throughput=new.get("ProvisionedThroughput") or {},
            billing_mode=billing,
            stream_spec={},
            deletion_protection_enabled=str(new.get("DeletionProtectionEnabled")).lower() == "true",
            warm_throughput=None,
        )
        current = table.stream_specification or {}
        enabled_view = current.get("StreamViewType") if current.get("StreamEnabled") else None
        wanted = new.get("StreamSpecification") or {}
        if wanted.get("StreamViewType") != enabled_view:
            # A new view type is a new stream (new label and ARN), as on DynamoDB.
            table.set_stream_specification(dict(wanted) if wanted else None)
        _apply_ttl(table, new, account_id, region_name)
        return table

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        Table.delete_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name
        )

    def is_created(self) -> bool:
        return True
