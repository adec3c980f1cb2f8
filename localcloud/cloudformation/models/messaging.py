"""SNS subscriptions and the resource policies of topics, queues and buckets.

moto has models for topics, queues and buckets but none for ``AWS::SNS::Subscription`` (the
way a template wires a queue to a topic, with its filter policy and raw delivery) or for the
policy resources, which it would skip silently. Subscriptions deliver in moto (filter
policies and raw delivery included, see DESIGN.md section 5). Policies are stored where the
APIs store them (GetQueueAttributes, GetTopicAttributes, GetBucketPolicy answer with them);
like moto, the local cloud does not enforce them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.utilities.utils import get_partition

from localcloud.cloudformation.models.base import LocalResource, as_bool, dumps
from localcloud.cloudformation.registry import register

_SUBSCRIPTION_ATTRIBUTES = (
    "FilterPolicyScope",  # first: moto validates FilterPolicy against the scope already set
    "FilterPolicy",
    "RawMessageDelivery",
    "RedrivePolicy",
    "DeliveryPolicy",
    "SubscriptionRoleArn",
)


def _attribute_value(name: str, value: Any) -> Any:
    if name == "RawMessageDelivery":
        # A bool, as moto's own Subscribe/SetSubscriptionAttributes store it: its delivery
        # tests truthiness, so the text "false" would switch raw delivery on.
        return as_bool(value)
    return dumps(value)


@register
class SubscriptionModel(LocalResource, CloudFormationModel):
    """``AWS::SNS::Subscription``; ``Ref`` is the subscription ARN."""

    ATTRIBUTES = frozenset({"Arn"})
    REPLACEMENT_PROPERTIES = frozenset({"TopicArn", "Endpoint", "Protocol", "Region"})

    def __init__(self, arn: str) -> None:
        self._init_resource(arn, Arn=arn)

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @staticmethod
    def _set_attributes(backend: Any, arn: str, properties: Mapping[str, Any]) -> None:
        for name in _SUBSCRIPTION_ATTRIBUTES:
            if name in properties and properties[name] is not None:
                backend.set_subscription_attributes(
                    arn, name, _attribute_value(name, properties[name])
                )

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SubscriptionModel:
        properties = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(
            str(properties["TopicArn"]),
            str(properties.get("Endpoint", "")),
            str(properties["Protocol"]),
        )
        cls._set_attributes(backend, subscription.arn, properties)
        return cls(subscription.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SubscriptionModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SubscriptionModel:
        properties = dict(cloudformation_json["Properties"])
        # A removed filter policy must stop filtering.
        properties.setdefault("FilterPolicy", "")
        backend = sns_backends[account_id][region_name]
        cls._set_attributes(backend, original_resource.physical_resource_id, properties)
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].unsubscribe(self.physical_resource_id)


@register
class TopicPolicyModel(LocalResource, CloudFormationModel):
    ATTRIBUTES = frozenset({"Id"})

    def __init__(self, physical_id: str, topics: list[str]) -> None:
        self._init_resource(physical_id, Id=physical_id)
        self.topics = topics

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @staticmethod
    def _apply(account_id: str, region_name: str, properties: Mapping[str, Any]) -> list[str]:
        backend = sns_backends[account_id][region_name]
        topics = [str(arn) for arn in properties.get("Topics") or []]
        for arn in topics:
            backend.set_topic_attribute(arn, "policy", dumps(properties["PolicyDocument"]))
        return topics

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> TopicPolicyModel:
        return cls(
            resource_name, cls._apply(account_id, region_name, cloudformation_json["Properties"])
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: TopicPolicyModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> TopicPolicyModel:
        topics = cls._apply(account_id, region_name, cloudformation_json["Properties"])
        return cls(original_resource.physical_resource_id, topics)

    def remove(self, account_id: str, region_name: str) -> None:
        backend = sns_backends[account_id][region_name]
        for arn in self.topics:
            topic = backend.topics.get(arn)
            if topic is not None:
                topic.policy = dumps(
                    topic._create_default_topic_policy(region_name, account_id, topic.name)
                )


@register
class QueuePolicyModel(LocalResource, CloudFormationModel):
    ATTRIBUTES = frozenset({"Id"})

    def __init__(self, physical_id: str, queues: list[str]) -> None:
        self._init_resource(physical_id, Id=physical_id)
        self.queues = queues

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @staticmethod
    def _queue_name(url: str) -> str:
        return url.rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def _apply(cls, account_id: str, region_name: str, properties: Mapping[str, Any]) -> list[str]:
        backend = sqs_backends[account_id][region_name]
        queues = [str(url) for url in properties.get("Queues") or []]
        for url in queues:
            backend.set_queue_attributes(
                cls._queue_name(url), {"Policy": dumps(properties["PolicyDocument"])}
            )
        return queues

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> QueuePolicyModel:
        return cls(
            resource_name, cls._apply(account_id, region_name, cloudformation_json["Properties"])
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: QueuePolicyModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> QueuePolicyModel:
        queues = cls._apply(account_id, region_name, cloudformation_json["Properties"])
        return cls(original_resource.physical_resource_id, queues)

    def remove(self, account_id: str, region_name: str) -> None:
        backend = sqs_backends[account_id][region_name]
        for url in self.queues:
            queue = backend.queues.get(self._queue_name(url))
            if queue is not None:
                queue.policy = None


@register
class BucketPolicyModel(LocalResource, CloudFormationModel):
    REPLACEMENT_PROPERTIES = frozenset({"Bucket"})

    def __init__(self, bucket: str) -> None:
        self._init_resource(bucket)
        self.bucket = bucket

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def _apply(account_id: str, region_name: str, properties: Mapping[str, Any]) -> str:
        bucket = str(properties["Bucket"])
        backend = s3_backends[account_id][get_partition(region_name)]
        backend.put_bucket_policy(bucket, dumps(properties["PolicyDocument"]).encode("utf-8"))
        return bucket

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> BucketPolicyModel:
        return cls(cls._apply(account_id, region_name, cloudformation_json["Properties"]))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: BucketPolicyModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> BucketPolicyModel:
        cls._apply(account_id, region_name, cloudformation_json["Properties"])
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id][get_partition(region_name)]
        try:
            backend.delete_bucket_policy(self.bucket)
        except Exception:
            return
