"""The moto side of asynchronous invocation: settings, destinations, dead-letter queues.

:class:`MotoAsyncBackend` is what :mod:`.async_invoke` asks about functions and where it
delivers records: it reads a function's EventInvokeConfig (moto's
``fn.event_invoke_config``, written by PutFunctionEventInvokeConfig and by the
``AWS::Lambda::EventInvokeConfig`` model; moto keeps one per function, whatever the
qualifier) and its DeadLetterConfig (``fn.dead_letter_config``, set by the CloudFormation
model and by the API patches below), and sends records and dead letters through moto's
SQS, SNS, Lambda and EventBridge backends, in this process.

moto 5.2.5 ignores ``DeadLetterConfig`` in CreateFunction/UpdateFunctionConfiguration,
serves the first of several PutFunctionEventInvokeConfig calls, and accepts any ARN as a
destination. Replaced in ``moto/awslambda/models.py``, each a thin wrapper:

- ``LambdaBackend.create_function(spec)`` and ``LambdaFunction.update_configuration``:
  validate and keep ``DeadLetterConfig`` as ``fn.dead_letter_config``;
- ``LambdaFunction.get_configuration``: report it back (GetFunctionConfiguration);
- ``LambdaBackend.put_function_event_invoke_config``: validate the destinations and replace
  the function's config instead of appending to it;
- ``LambdaBackend.update_function_event_invoke_config``: a partial update (moto puts).

Validation follows AWS: a dead-letter queue is an SQS queue or SNS topic; a destination is
an SQS queue, SNS topic, Lambda function or EventBridge event bus (S3 buckets, which AWS
allows for on-failure only, are refused by name: the local cloud does not deliver to
them); FIFO queues and topics are refused (InvalidParameterValueException) for both.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException

from localcloud.awslambda.async_invoke import (
    DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
    DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
    AsyncSettings,
    AsyncTarget,
)
from localcloud.awslambda.model import InvokeRequest

log = logging.getLogger("localcloud.awslambda")

_originals: dict[str, Any] = {}
_apply_lock = threading.Lock()

DESTINATION_SERVICES = ("sqs", "sns", "lambda", "events")
DEAD_LETTER_SERVICES = ("sqs", "sns")


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN; empty strings when malformed."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return "", "", "", ""
    return parts[2], parts[3], parts[4], parts[5]


# -- validation ---------------------------------------------------------------------------


def validate_target(arn: str, member: str, services: tuple[str, ...]) -> None:
    """Raise InvalidParameterValueException unless ``arn`` may receive async failures."""
    service, _, _, resource = _arn_parts(arn)
    if service == "s3" and services == DESTINATION_SERVICES:
        raise InvalidParameterValueException(
            f"The destination {arn} of {member} is an S3 bucket: the local cloud does not "
            f"deliver invocation records to S3; use an SQS queue, SNS topic, Lambda "
            f"function or EventBridge event bus."
        )
    if service not in services:
        kinds = (
            "an SQS queue or SNS topic"
            if services == DEAD_LETTER_SERVICES
            else ("an SQS queue, SNS topic, Lambda function or EventBridge event bus")
        )
        raise InvalidParameterValueException(
            f"The provided {member} {arn!r} is invalid: it must be the ARN of {kinds}."
        )
    if service in ("sqs", "sns") and resource.endswith(".fifo"):
        kind = "FIFO queues" if service == "sqs" else "FIFO topics"
        raise InvalidParameterValueException(
            f"The provided {member} {arn} is invalid: {kind} are not supported as "
            f"targets of asynchronous invocation."
        )


def _dead_letter_target(dead_letter_config: Any) -> str | None:
    if isinstance(dead_letter_config, Mapping):
        target = dead_letter_config.get("TargetArn")
        return str(target) if target else None
    return None


def _validate_dead_letter_config(dead_letter_config: Any) -> None:
    target = _dead_letter_target(dead_letter_config)
    if target:
        validate_target(target, "DeadLetterConfig.TargetArn", DEAD_LETTER_SERVICES)


def _validate_event_invoke_config(config: Mapping[str, Any]) -> None:
    destinations = config.get("DestinationConfig") or {}
    for key, member in (("OnSuccess", "onSuccess"), ("OnFailure", "onFailure")):
        arn = (destinations.get(key) or {}).get("Destination")
        if arn:
            validate_target(
                str(arn), f"DestinationConfig.{member}.destination", DESTINATION_SERVICES
            )


# -- reading a function's settings ----------------------------------------------------------


def _function(account_id: str, region: str, name: str, version: str | None) -> Any:
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[account_id][region]
    return backend.get_function(name, None if version in (None, "$LATEST") else version)


def alias_version(account_id: str, region: str, name: str, alias: str) -> str | None:
    """The version an alias points to now (for the fault switch), None if there is none."""
    try:
        return str(_function(account_id, region, name, alias).version)
    except Exception:
        return None


def async_settings(fn: Any, latest: Any) -> AsyncSettings:
    """A function's asynchronous settings.

    moto keeps one EventInvokeConfig per function, on ``$LATEST`` (its API ignores the
    qualifier, and a published version is a shallow copy that may hold a stale list), so
    every version uses that one. DeadLetterConfig is part of a version's configuration: the
    version's own, else the function's.
    """
    configs = getattr(latest, "event_invoke_config", None) or getattr(
        fn, "event_invoke_config", None
    )
    config: Mapping[str, Any] = configs[0].config if configs else {}
    destinations = config.get("DestinationConfig") or {}
    retries = config.get("MaximumRetryAttempts")
    age = config.get("MaximumEventAgeInSeconds")
    dead_letter = _dead_letter_target(getattr(fn, "dead_letter_config", None))
    if dead_letter is None:
        dead_letter = _dead_letter_target(getattr(latest, "dead_letter_config", None))
    return AsyncSettings(
        maximum_retry_attempts=DEFAULT_MAXIMUM_RETRY_ATTEMPTS if retries is None else int(retries),
        maximum_event_age_seconds=(DEFAULT_MAXIMUM_EVENT_AGE_SECONDS if age is None else int(age)),
        on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
        on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
        dead_letter_target=dead_letter,
    )


class MotoAsyncBackend:
    """:class:`~localcloud.awslambda.async_invoke.AsyncBackend` over moto's backends."""

    def resolve(self, account_id: str, region: str, name: str, version: str) -> AsyncTarget | None:
        from localcloud.awslambda.patch import function_config

        try:
            fn = _function(account_id, region, name, version)
            latest = (
                fn if str(fn.version) == "$LATEST" else _function(account_id, region, name, None)
            )
        except Exception:
            return None
        return AsyncTarget(function_config(fn), async_settings(fn, latest))

    def send_record(self, destination_arn: str, record: dict[str, Any], success: bool) -> None:
        service, region, account, resource = _arn_parts(destination_arn)
        body = json.dumps(record)
        if service == "sqs":
            self._sqs(account, region, resource, body)
        elif service == "sns":
            self._sns(destination_arn, account, region, body)
        elif service == "lambda":
            self._lambda(account, region, destination_arn, body)
        elif service == "events":
            from moto.events.models import events_backends

            outcome = "Success" if success else "Failure"
            entries = events_backends[account][region].put_events(
                [
                    {
                        "Source": "lambda",
                        "DetailType": f"Lambda Function Invocation Result - {outcome}",
                        "Detail": body,
                        "Resources": [record["requestContext"]["functionArn"]],
                        "EventBusName": destination_arn,
                    }
                ]
            )
            failed = [entry for entry in entries if entry.get("ErrorCode")]
            if failed:
                raise RuntimeError(f"EventBridge refused the record: {failed[0]}")
        else:
            raise ValueError(f"unsupported destination {destination_arn}")

    def send_dead_letter(
        self,
        target_arn: str,
        payload: bytes,
        request_id: str,
        error_code: int,
        error_message: str,
    ) -> None:
        service, region, account, resource = _arn_parts(target_arn)
        body = payload.decode("utf-8", "replace")
        if service == "sqs":
            attributes = {
                "RequestID": {"DataType": "String", "StringValue": request_id},
                "ErrorCode": {"DataType": "Number", "StringValue": str(error_code)},
                "ErrorMessage": {"DataType": "String", "StringValue": error_message or "-"},
            }
            self._sqs(account, region, resource, body, attributes)
        elif service == "sns":
            sns_attributes = {
                "RequestID": {"Type": "String", "Value": request_id},
                "ErrorCode": {"Type": "Number", "Value": str(error_code)},
                "ErrorMessage": {"Type": "String", "Value": error_message or "-"},
            }
            self._sns(target_arn, account, region, body, sns_attributes)
        else:
            raise ValueError(f"unsupported dead-letter target {target_arn}")

    @staticmethod
    def _sqs(
        account: str,
        region: str,
        queue_name: str,
        body: str,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(queue_name, body, message_attributes=attributes)

    @staticmethod
    def _sns(
        arn: str, account: str, region: str, body: str, attributes: dict[str, Any] | None = None
    ) -> None:
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(body, arn, message_attributes=attributes)

    @staticmethod
    def _lambda(account: str, region: str, arn: str, body: str) -> None:
        from localcloud.awslambda import get_runtime
        from localcloud.awslambda.patch import function_config

        fn = _function(account, region, arn, None)
        # A Lambda destination is invoked asynchronously with the record as its event.
        get_runtime().invoke_async(function_config(fn), InvokeRequest(payload=body.encode()))


# -- the API patches ------------------------------------------------------------------------


def _create_function(self: Any, spec: dict[str, Any]) -> Any:
    _validate_dead_letter_config(spec.get("DeadLetterConfig"))
    fn = _originals["LambdaBackend.create_function"](self, spec)
    fn.dead_letter_config = (
        spec.get("DeadLetterConfig") if _dead_letter_target(spec.get("DeadLetterConfig")) else None
    )
    return fn


def _update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
    if "DeadLetterConfig" in config_updates:
        dead_letter = config_updates["DeadLetterConfig"]
        _validate_dead_letter_config(dead_letter)
        # An empty TargetArn removes the dead-letter queue.
        self.dead_letter_config = dead_letter if _dead_letter_target(dead_letter) else None
    return _originals["LambdaFunction.update_configuration"](self, config_updates)


def _get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    config: dict[str, Any] = _originals["LambdaFunction.get_configuration"](self, *args, **kwargs)
    target = _dead_letter_target(getattr(self, "dead_letter_config", None))
    if target:
        config["DeadLetterConfig"] = {"TargetArn": target}
    return config


def _put_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> Any:
    _validate_event_invoke_config(config)
    fn = self.get_function(function_name)
    previous = list(fn.event_invoke_config)
    # PutFunctionEventInvokeConfig replaces the configuration ("if you exclude any
    # settings, they are removed"); moto appends and keeps serving the first one.
    fn.event_invoke_config = []
    try:
        return _originals["LambdaBackend.put_function_event_invoke_config"](
            self, function_name, config
        )
    except Exception:
        fn.event_invoke_config = previous
        raise


def _update_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> Any:
    # UpdateFunctionEventInvokeConfig changes only the settings it names.
    fn = self.get_function(function_name)
    merged: dict[str, Any] = (
        dict(fn.event_invoke_config[0].config) if fn.event_invoke_config else {}
    )
    for key, value in config.items():
        if key == "DestinationConfig" and isinstance(value, Mapping):
            destinations = dict(merged.get("DestinationConfig") or {})
            destinations.update(value)
            merged[key] = destinations
        else:
            merged[key] = value
    return self.put_function_event_invoke_config(function_name, merged)


def apply() -> None:
    """Install the API patches once per process."""
    from moto.awslambda.models import LambdaBackend, LambdaFunction

    with _apply_lock:
        if _originals:
            return
        _originals["LambdaBackend.create_function"] = LambdaBackend.create_function
        _originals["LambdaFunction.update_configuration"] = LambdaFunction.update_configuration
        _originals["LambdaFunction.get_configuration"] = LambdaFunction.get_configuration
        _originals["LambdaBackend.put_function_event_invoke_config"] = (
            LambdaBackend.put_function_event_invoke_config
        )
        _originals["LambdaBackend.update_function_event_invoke_config"] = (
            LambdaBackend.update_function_event_invoke_config
        )
        LambdaBackend.create_function = _create_function  # type: ignore[method-assign]
        LambdaFunction.update_configuration = _update_configuration  # type: ignore[method-assign]
        LambdaFunction.get_configuration = _get_configuration  # type: ignore[method-assign]
        LambdaBackend.put_function_event_invoke_config = (  # type: ignore[method-assign]
            _put_event_invoke_config
        )
        LambdaBackend.update_function_event_invoke_config = (  # type: ignore[method-assign]
            _update_event_invoke_config
        )
