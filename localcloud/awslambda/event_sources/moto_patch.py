"""The one place where event sources reach into moto's Lambda internals (moto 5.2.5).

moto delivers to event source mappings itself, inline: ``Queue.add_message``,
``StreamShard.add`` and ``Stream.put_record`` walk the container's
``lambda_event_source_mappings`` and invoke the function inside SendMessage, PutItem and
PutRecord, once, with made-up event fields, and a DynamoDB stream even loses its records
after the first delivery. There is no switch to turn that off, so the mapping is *detached*:
once moto has created it, it is removed from those containers (which moto then finds empty)
and handed to the local pollers. What is replaced, in ``moto/awslambda/models.py``:

- ``LambdaBackend.create_event_source_mapping(spec)``: also checks what Lambda checks and
  moto does not (batching window rules, ``ScalingConfig``, filter patterns, response types,
  retry and age ranges, the queue's visibility timeout against the function's timeout, one
  mapping per source and function), takes CloudFormation's string values ("10", "false")
  as Lambda would, detaches the mapping and starts its poller;
- ``LambdaBackend.update_event_source_mapping(uuid, spec)``: the same checks on the result,
  then the poller follows the change (enable, disable, batch size...);
- ``LambdaBackend.delete_event_source_mapping(uuid)``: stops the poller;
- ``EventSourceMapping.get_configuration()``: reports the State Lambda reports (Creating,
  Enabled, Disabling, Disabled, Updating, Deleting) and, for streams, LastProcessingResult,
  where moto always answers Enabled/Disabled.

moto internals change between releases: ``tests/localcloud/test_event_source_*.py`` is what
tells an upgrade broke something here.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping
from typing import Any

from moto.core.exceptions import JsonRESTError

from localcloud.awslambda.event_sources.filters import InvalidFilterPattern, patterns_of
from localcloud.awslambda.event_sources.manager import current_manager
from localcloud.awslambda.event_sources.poller import (
    LAST_RESULT_ATTRIBUTE,
    REASON_ATTRIBUTE,
    STATE_ATTRIBUTE,
)

_INTEGER_KEYS = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
)
_BOOLEAN_KEYS = ("Enabled", "BisectBatchOnFunctionError")
_SOURCE_KINDS = ("sqs", "sqs-fifo", "dynamodb", "kinesis")

# "<class>.<method>" -> (owner, moto's original, replacement), for the tests.
PATCHES: dict[str, tuple[Any, Any, Any]] = {}
_apply_lock = threading.Lock()


class InvalidParameterValue(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


class ValidationFailed(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class ResourceConflict(JsonRESTError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ResourceConflictException", message)


# -- detaching ----------------------------------------------------------------------------


def detach(esm: Any) -> None:
    """Remove ``esm`` from the queue, table or stream moto delivers to inline."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.kinesis.models import kinesis_backends
    from moto.sqs.models import sqs_backends

    account_id, region = esm.account_id, esm.region
    kind = esm._get_service_source_from_arn()
    containers: list[Any]
    if kind in ("sqs", "sqs-fifo"):
        containers = list(sqs_backends[account_id][region].queues.values())
    elif kind == "dynamodb":
        containers = list(dynamodb_backends[account_id][region].tables.values())
    else:
        containers = list(kinesis_backends[account_id][region].streams.values())
    for container in containers:
        mappings = getattr(container, "lambda_event_source_mappings", None) or {}
        for key, value in list(mappings.items()):
            if value is esm:
                del mappings[key]


# -- what Lambda checks -------------------------------------------------------------------


def _source_kind(arn: str) -> str:
    parts = arn.split(":")
    service = parts[2].lower() if len(parts) > 2 else ""
    return "sqs-fifo" if service == "sqs" and arn.endswith(".fifo") else service


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _normalized(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The request with CloudFormation's strings read as the numbers and booleans they are."""
    values = dict(spec)
    for key in _INTEGER_KEYS:
        if values.get(key) is not None:
            try:
                values[key] = int(values[key])
            except (TypeError, ValueError):
                raise InvalidParameterValue(f"{key} must be an integer.") from None
    for key in _BOOLEAN_KEYS:
        if key in values:
            values[key] = _boolean(values[key])
    scaling = values.get("ScalingConfig")
    if isinstance(scaling, Mapping) and scaling.get("MaximumConcurrency") is not None:
        try:
            values["ScalingConfig"] = {
                **scaling,
                "MaximumConcurrency": int(scaling["MaximumConcurrency"]),
            }
        except (TypeError, ValueError):
            raise InvalidParameterValue("MaximumConcurrency must be an integer.") from None
    return values


def _check_settings(kind: str, values: Mapping[str, Any]) -> None:
    """Lambda's rules on a mapping's settings (the resulting ones, for an update)."""
    batch = values.get("BatchSize")
    window = values.get("MaximumBatchingWindowInSeconds") or 0
    if batch is not None and batch < 1:
        raise InvalidParameterValue("BatchSize must be at least 1.")
    if not 0 <= window <= 300:
        raise InvalidParameterValue(
            "MaximumBatchingWindowInSeconds must be between 0 and 300 seconds."
        )
    if kind == "sqs" and batch is not None and batch > 10 and window <= 0:
        raise InvalidParameterValue(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size "
            "is greater than 10"
        )
    if kind == "sqs-fifo" and window > 0:
        raise InvalidParameterValue("Batching window is not supported for FIFO queues.")
    scaling = values.get("ScalingConfig")
    if isinstance(scaling, Mapping) and scaling.get("MaximumConcurrency") is not None:
        if kind not in ("sqs", "sqs-fifo"):
            raise InvalidParameterValue(
                "ScalingConfig is only supported for Amazon SQS event sources."
            )
        maximum = scaling["MaximumConcurrency"]
        if not 2 <= maximum <= 1000:
            raise ValidationFailed(
                f"1 validation error detected: Value '{maximum}' at "
                "'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must "
                "have value between 2 and 1000"
            )
    for response_type in values.get("FunctionResponseTypes") or []:
        if response_type != "ReportBatchItemFailures":
            raise ValidationFailed(
                f"1 validation error detected: Value '{response_type}' at "
                "'functionResponseTypes' failed to satisfy constraint: Member must satisfy "
                "enum value set: [ReportBatchItemFailures]"
            )
    try:
        patterns_of(values.get("FilterCriteria"))
    except InvalidFilterPattern as error:
        raise InvalidParameterValue(f"Invalid filter pattern definition. ({error})") from None
    if kind in ("dynamodb", "kinesis"):
        retries = values.get("MaximumRetryAttempts")
        if retries is not None and not -1 <= retries <= 10000:
            raise InvalidParameterValue("MaximumRetryAttempts must be between -1 and 10000.")
        age = values.get("MaximumRecordAgeInSeconds")
        if age is not None and age != -1 and not 60 <= age <= 604800:
            raise InvalidParameterValue(
                "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800."
            )
        destination = values.get("DestinationConfig") or {}
        target = (destination.get("OnFailure") or {}).get("Destination")
        if target and _source_kind(str(target)) not in ("sqs", "sns"):
            raise InvalidParameterValue(
                "The on-failure destination of a stream must be an SQS queue or an SNS topic."
            )


def _check_creation(backend: Any, spec: Mapping[str, Any]) -> None:
    """The checks that need the function and the source (moto reports missing ones)."""
    from moto.sqs.models import sqs_backends

    arn = str(spec.get("EventSourceArn") or "")
    kind = _source_kind(arn)
    if kind not in _SOURCE_KINDS or not spec.get("FunctionName"):
        return
    _check_settings(kind, spec)
    try:
        fn = backend.get_function(spec["FunctionName"])
    except Exception:
        return
    for existing in backend._event_source_mappings.values():
        if existing.event_source_arn == arn and existing.function_arn == fn.function_arn:
            raise ResourceConflict(
                f'The event source arn (" {arn} ") and function (" {fn.function_name} ") '
                "provided mapping already exists. Please update or delete the existing "
                f"mapping with UUID {existing.uuid}"
            )
    if kind in ("sqs", "sqs-fifo"):
        parts = arn.split(":")
        queue: Any = sqs_backends[parts[4]][parts[3]].queues.get(parts[5])
        if queue is not None:
            visibility = int(queue.visibility_timeout or 0)
            timeout = int(fn.timeout or 3)
            if visibility < timeout:
                raise InvalidParameterValue(
                    f"Queue visibility timeout: {visibility} seconds is less than Function "
                    f"timeout: {timeout} seconds"
                )


def _current_settings(esm: Any) -> dict[str, Any]:
    return {
        "BatchSize": esm.batch_size,
        "MaximumBatchingWindowInSeconds": esm.max_batch_window,
        "ScalingConfig": esm.scaling_config,
        "FunctionResponseTypes": esm.function_response_types,
        "FilterCriteria": esm.filter_criteria,
        "MaximumRetryAttempts": esm.max_retry_attempts,
        "MaximumRecordAgeInSeconds": esm.max_record_age,
        "DestinationConfig": esm.destination_config,
    }


# -- the replacements ---------------------------------------------------------------------


def _create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
    values = _normalized(spec)
    _check_creation(self, values)
    try:
        esm = PATCHES["LambdaBackend.create_event_source_mapping"][1](self, values)
    except ValueError as error:  # moto's own checks raise ValueError(code, message)
        raise InvalidParameterValue(str(error.args[-1])) from None
    detach(esm)
    manager = current_manager()
    if manager is not None:
        manager.mapping_created(esm)
    return esm


def _update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
    values = _normalized(spec)
    esm = self.get_event_source_mapping(uuid)
    if esm is not None:
        _check_settings(esm._get_service_source_from_arn(), {**_current_settings(esm), **values})
    try:
        updated = PATCHES["LambdaBackend.update_event_source_mapping"][1](self, uuid, values)
    except ValueError as error:
        raise InvalidParameterValue(str(error.args[-1])) from None
    manager = current_manager()
    if updated is not None and manager is not None:
        manager.mapping_updated(updated)
    return updated


def _delete_event_source_mapping(self: Any, uuid: str) -> Any:
    esm = PATCHES["LambdaBackend.delete_event_source_mapping"][1](self, uuid)
    manager = current_manager()
    if esm is not None and manager is not None:
        manager.mapping_deleted(esm)
    return esm


def _get_configuration(self: Any) -> dict[str, Any]:
    configuration: dict[str, Any] = PATCHES["EventSourceMapping.get_configuration"][1](self)
    state = getattr(self, STATE_ATTRIBUTE, None)
    if state:
        configuration["State"] = state
        configuration["StateTransitionReason"] = getattr(self, REASON_ATTRIBUTE, "USER_INITIATED")
    last_result = getattr(self, LAST_RESULT_ATTRIBUTE, None)
    if last_result:
        configuration["LastProcessingResult"] = last_result
    return configuration


def _replace(owner: Any, name: str, replacement: Any) -> None:
    key = f"{owner.__name__}.{name}"
    original = PATCHES[key][1] if key in PATCHES else inspect.getattr_static(owner, name)
    setattr(owner, name, replacement)
    PATCHES[key] = (owner, original, replacement)


def apply() -> None:
    """Install the replacements (once per process; installing again changes nothing)."""
    from moto.awslambda.models import EventSourceMapping, LambdaBackend

    with _apply_lock:
        if PATCHES:
            return
        _replace(LambdaBackend, "create_event_source_mapping", _create_event_source_mapping)
        _replace(LambdaBackend, "update_event_source_mapping", _update_event_source_mapping)
        _replace(LambdaBackend, "delete_event_source_mapping", _delete_event_source_mapping)
        _replace(EventSourceMapping, "get_configuration", _get_configuration)
