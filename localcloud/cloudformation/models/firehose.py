"""Kinesis data streams and Firehose delivery streams (and the log stream of their errors).

moto has no CloudFormation model for ``AWS::KinesisFirehose::DeliveryStream`` (a template's
delivery stream would be skipped) nor for ``AWS::Logs::LogStream`` (where a delivery stream's
``CloudWatchLoggingOptions`` send its delivery errors), and its ``AWS::Kinesis::Stream`` model drops
``StreamModeDetails`` (an ON_DEMAND stream comes up PROVISIONED with one shard) and takes
``ShardCount`` only as an integer. Both models here create through the backends' own API
calls, so the local Firehose engine (:mod:`localcloud.firehose`) sees a template's delivery
stream exactly as one created with CreateDeliveryStream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.firehose.models import firehose_backends
from moto.kinesis.models import kinesis_backends
from moto.logs.models import logs_backends

from localcloud.cloudformation.models.base import LocalResource, as_int, tags_dict
from localcloud.cloudformation.registry import register

_DESTINATIONS = ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration")
# Destinations the local cloud cannot deliver to: refused by name rather than ignored.
_UNSUPPORTED_DESTINATIONS = (
    "RedshiftDestinationConfiguration",
    "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration",
    "AmazonOpenSearchServerlessDestinationConfiguration",
    "SplunkDestinationConfiguration",
    "HttpEndpointDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration",
)


def _hints(config: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation strings ("60") as the API's integers, on a copy of the S3 config."""
    result = dict(config)
    hints = dict(result.get("BufferingHints") or {})
    for key in ("SizeInMBs", "IntervalInSeconds"):
        if key in hints:
            hints[key] = int(hints[key])
    if hints:
        result["BufferingHints"] = hints
    return result


@register
class KinesisStreamModel(LocalResource, CloudFormationModel):
    """``AWS::Kinesis::Stream``; ``Ref`` is the stream name, ``Arn`` its ARN."""

    ATTRIBUTES = frozenset({"Arn"})
    REPLACEMENT_PROPERTIES = frozenset({"Name"})

    def __init__(self, name: str, arn: str) -> None:
        self._init_resource(name, Arn=arn)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Kinesis::Stream"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> KinesisStreamModel:
        properties = cloudformation_json.get("Properties") or {}
        backend = kinesis_backends[account_id][region_name]
        mode = properties.get("StreamModeDetails") or None
        stream = backend.create_stream(
            resource_name,
            as_int(properties.get("ShardCount")) or 1,
            stream_mode=dict(mode) if mode else None,
            retention_period_hours=as_int(properties.get("RetentionPeriodHours")),
        )
        tags = tags_dict(properties.get("Tags"))
        if tags:
            backend.add_tags_to_stream(stream_arn=stream.arn, stream_name=None, tags=tags)
        return cls(stream.stream_name, stream.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: KinesisStreamModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> KinesisStreamModel:
        properties = cloudformation_json.get("Properties") or {}
        backend = kinesis_backends[account_id][region_name]
        stream = backend.describe_stream(
            stream_arn=None, stream_name=original_resource.physical_resource_id
        )
        mode = properties.get("StreamModeDetails") or {"StreamMode": "PROVISIONED"}
        if dict(mode) != stream.stream_mode:
            backend.update_stream_mode(stream.arn, dict(mode))
        shards = as_int(properties.get("ShardCount"))
        if shards and mode.get("StreamMode") != "ON_DEMAND" and shards != stream.shard_count:
            stream.update_shard_count(shards)
        if properties.get("RetentionPeriodHours") is not None:
            stream.retention_period_hours = int(properties["RetentionPeriodHours"])
        stream.tags = tags_dict(properties.get("Tags"))
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            kinesis_backends[account_id][region_name].delete_stream(
                stream_arn=None, stream_name=self.physical_resource_id
            )
        except Exception:
            return


@register
class DeliveryStreamModel(LocalResource, CloudFormationModel):
    """``AWS::KinesisFirehose::DeliveryStream``; ``Ref`` is the name, ``Arn`` its ARN."""

    ATTRIBUTES = frozenset({"Arn"})
    REPLACEMENT_PROPERTIES = frozenset(
        {"DeliveryStreamName", "DeliveryStreamType", "KinesisStreamSourceConfiguration"}
    )

    def __init__(self, name: str, arn: str) -> None:
        self._init_resource(name, Arn=arn)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DeliveryStreamName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KinesisFirehose::DeliveryStream"

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        # Moving between S3 and ExtendedS3 is not an UpdateDestination the engine follows.
        kinds = [tuple(k for k in _DESTINATIONS if k in props) for props in (old, new)]
        return kinds[0] != kinds[1] or super().requires_replacement(old, new)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> DeliveryStreamModel:
        properties = cloudformation_json.get("Properties") or {}
        unsupported = [key for key in _UNSUPPORTED_DESTINATIONS if key in properties]
        if unsupported:
            raise ValueError(
                f"{unsupported[0]} is not supported by the local cloud (only S3 destinations)"
            )
        backend: Any = firehose_backends[account_id][region_name]
        extended = properties.get("ExtendedS3DestinationConfiguration")
        plain = properties.get("S3DestinationConfiguration")
        arn = backend.create_delivery_stream(
            region_name,
            resource_name,
            properties.get("DeliveryStreamType") or "DirectPut",
            properties.get("KinesisStreamSourceConfiguration"),
            properties.get("DeliveryStreamEncryptionConfigurationInput"),
            _hints(plain) if plain else None,
            _hints(extended) if extended else None,
            None,
            None,
            None,
            None,
            None,
            None,
            [{"Key": k, "Value": v} for k, v in tags_dict(properties.get("Tags")).items()],
        )
        return cls(resource_name, str(arn))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: DeliveryStreamModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> DeliveryStreamModel:
        properties = cloudformation_json.get("Properties") or {}
        backend: Any = firehose_backends[account_id][region_name]
        name = original_resource.physical_resource_id
        stream = backend.delivery_streams[name]
        extended = properties.get("ExtendedS3DestinationConfiguration")
        plain = properties.get("S3DestinationConfiguration")
        backend.update_destination(
            name,
            stream.version_id,
            stream.destinations[0]["destination_id"],
            _hints(plain) if plain else None,
            _hints(extended) if extended else None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            firehose_backends[account_id][region_name].delete_delivery_stream(
                self.physical_resource_id
            )
        except Exception:
            return


@register
class LogStreamModel(LocalResource, CloudFormationModel):
    """``AWS::Logs::LogStream``; ``Ref`` is the stream's name (no attributes)."""

    REPLACEMENT_PROPERTIES = frozenset({"LogGroupName", "LogStreamName"})

    def __init__(self, group: str, name: str) -> None:
        self._init_resource(name)
        self.group = group

    @staticmethod
    def cloudformation_name_type() -> str:
        return "LogStreamName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogStream"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> LogStreamModel:
        group = str((cloudformation_json.get("Properties") or {})["LogGroupName"])
        logs_backends[account_id][region_name].create_log_stream(group, resource_name)
        return cls(group, resource_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: LogStreamModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LogStreamModel:
        # Both properties replace the stream: an update changes nothing.
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        try:
            logs_backends[account_id][region_name].delete_log_stream(
                self.group, self.physical_resource_id
            )
        except Exception:
            return
