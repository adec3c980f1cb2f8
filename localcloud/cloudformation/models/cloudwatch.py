"""``AWS::CloudWatch::Alarm``, kept in moto's CloudWatch backend.

moto has no CloudFormation model for alarms, so a template's alarms on failure queues would
vanish. Created here through the same backend call as PutMetricAlarm, an alarm shows in
DescribeAlarms with its metric, threshold and actions; like moto, the local cloud never
evaluates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.cloudwatch.models import (
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel

from localcloud.cloudformation.models.base import LocalResource, as_bool, as_int
from localcloud.cloudformation.registry import register


def _queries(metrics: list[Mapping[str, Any]] | None) -> list[MetricDataQuery] | None:
    if not metrics:
        return None
    queries = []
    for metric in metrics:
        stat = metric.get("MetricStat") or {}
        inner = stat.get("Metric") or {}
        metric_stat = None
        if inner.get("MetricName"):
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=inner["MetricName"],
                    namespace=inner.get("Namespace"),  # type: ignore[arg-type]
                    dimensions=[
                        Dimension(name=d.get("Name"), value=d.get("Value"))
                        for d in inner.get("Dimensions") or []
                    ],
                ),
                # moto types these as str; the API and moto's own response pass None too.
                period=stat.get("Period"),  # type: ignore[arg-type]
                stat=stat.get("Stat"),  # type: ignore[arg-type]
                unit=stat.get("Unit"),  # type: ignore[arg-type]
            )
        queries.append(
            MetricDataQuery(
                query_id=metric.get("Id"),  # type: ignore[arg-type]
                label=metric.get("Label"),  # type: ignore[arg-type]
                period=metric.get("Period"),  # type: ignore[arg-type]
                return_data=metric.get("ReturnData"),  # type: ignore[arg-type]
                expression=metric.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


@register
class AlarmModel(LocalResource, CloudFormationModel):
    """``Ref`` is the alarm name; ``Fn::GetAtt Arn`` its ARN."""

    ATTRIBUTES = frozenset({"Arn"})
    REPLACEMENT_PROPERTIES = frozenset({"AlarmName"})

    def __init__(self, name: str, arn: str) -> None:
        self._init_resource(name, Arn=arn)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def _put(name: str, properties: Mapping[str, Any], account_id: str, region_name: str) -> Any:
        threshold = properties.get("Threshold")
        return cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=properties.get("Namespace"),  # type: ignore[arg-type]
            metric_name=properties.get("MetricName"),  # type: ignore[arg-type]
            metric_data_queries=_queries(properties.get("Metrics")),
            comparison_operator=str(properties["ComparisonOperator"]),
            evaluation_periods=int(properties["EvaluationPeriods"]),
            datapoints_to_alarm=as_int(properties.get("DatapointsToAlarm")),
            period=as_int(properties.get("Period")),  # type: ignore[arg-type]
            threshold=None if threshold is None else float(threshold),  # type: ignore[arg-type]
            statistic=properties.get("Statistic"),  # type: ignore[arg-type]
            extended_statistic=properties.get("ExtendedStatistic"),
            description=properties.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=[
                {"Name": d["Name"], "Value": d["Value"]} for d in properties.get("Dimensions") or []
            ],
            alarm_actions=list(properties.get("AlarmActions") or []),
            ok_actions=list(properties.get("OKActions") or []),
            insufficient_data_actions=list(properties.get("InsufficientDataActions") or []),
            unit=properties.get("Unit"),
            actions_enabled=as_bool(properties.get("ActionsEnabled"), default=True),
            treat_missing_data=properties.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=properties.get("ThresholdMetricId"),
            tags=list(properties.get("Tags") or []),
        )

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> AlarmModel:
        alarm = cls._put(resource_name, cloudformation_json["Properties"], account_id, region_name)
        return cls(resource_name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: AlarmModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> AlarmModel:
        name = original_resource.physical_resource_id
        alarm = cls._put(name, cloudformation_json["Properties"], account_id, region_name)
        return cls(name, alarm.alarm_arn)

    def remove(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.physical_resource_id])
