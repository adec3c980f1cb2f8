"""Structured logs, metrics and traces for Lambda handlers, set up from the environment.

One import gives a handler everything::

    from common_layer.observability import MetricUnit, instrument, logger, metrics, traced

    @traced
    def save(order: dict) -> None: ...

    @instrument
    def lambda_handler(event: dict, context: object) -> dict:
        metrics.add_metric(name="OrderSaved", unit=MetricUnit.Count, value=1)
        ...

Environment:

- ``POWERTOOLS_SERVICE_NAME``: the ``service`` key of logs, metrics dimension and traces.
- ``POWERTOOLS_METRICS_NAMESPACE``: the CloudWatch namespace (falls back to the service
  name, then ``ServerlessPatterns``, so a missing variable never fails an invocation).
- ``POWERTOOLS_LOG_LEVEL`` (or ``LOG_LEVEL``): log level, ``INFO`` by default.
- ``POWERTOOLS_LOGGER_LOG_EVENT``: ``true`` logs every incoming event.
- ``POWERTOOLS_TRACE_DISABLED``: ``true`` turns tracing off. Tracing is also off outside
  Lambda (no ``LAMBDA_TASK_ROOT``) and under ``sam local``, as in Powertools; then the
  X-Ray SDK is never imported, so tests and local runs do not pay for it.
- ``POWERTOOLS_TRACER_PATCH``: comma-separated X-Ray SDK modules to trace, default
  ``botocore,requests``; ``none`` patches nothing. Each module is patched only if and when
  the function imports it, so an app that never imports requests never loads it.
- ``POWERTOOLS_TRACER_CAPTURE_RESPONSE`` / ``POWERTOOLS_TRACER_CAPTURE_ERROR``: ``false``
  keeps handler results / errors out of trace metadata.

Tracing stays behind ``instrument``, ``traced`` and ``annotate``: the X-Ray SDK is in
maintenance (support ends 2027-02-25), and its replacement must not touch the apps.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools.tracing import Tracer

__all__ = [
    "MetricUnit",
    "annotate",
    "correlation_id_of",
    "instrument",
    "logger",
    "metrics",
    "traced",
    "tracing_enabled",
]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_NAMESPACE = "ServerlessPatterns"
DEFAULT_PATCH_MODULES = ("botocore", "requests")

# X-Ray SDK patch names whose import name differs; "boto3" is accepted for botocore.
_IMPORT_NAMES = {
    "httplib": "http.client",
    "sqlalchemy_core": "sqlalchemy",
    "mysql": "mysql.connector",
}
_PATCH_ALIASES = {"boto3": "botocore"}

# Powertools warns "No application metrics to publish" whenever an invocation adds no
# metric of its own (the cold-start metric is flushed on its own). For a read that is
# normal, so the warning is only noise in logs and test runs: ignore exactly that message,
# and only from Powertools' metrics package, so every other warning still shows.
_EMPTY_METRICS_FILTER: dict[str, Any] = {
    "message": "No application metrics to publish",
    "category": UserWarning,
    "module": r"aws_lambda_powertools\.metrics\.",
}
warnings.filterwarnings("ignore", **_EMPTY_METRICS_FILTER)
_EMPTY_METRICS_IGNORED = warnings.filters[0]


def _ignore_empty_metrics_warning() -> None:
    """Put the filter back if something dropped it (a check of a short list otherwise).

    Leaving ``warnings.catch_warnings()`` restores the filters of when it was entered, so
    the filter is lost if this module was first imported inside one: pytest wraps
    collection and every test in one.
    """
    if _EMPTY_METRICS_IGNORED not in warnings.filters:
        warnings.filterwarnings("ignore", **_EMPTY_METRICS_FILTER)


logger = Logger()
metrics = Metrics(
    namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE")
    or os.getenv("POWERTOOLS_SERVICE_NAME")
    or DEFAULT_NAMESPACE
)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on", "y", "t"}


def _tracing_wanted() -> bool:
    """Powertools' rule: on in Lambda unless disabled, off locally and under sam local."""
    if _truthy(os.getenv("POWERTOOLS_TRACE_DISABLED")):
        return False
    if not os.getenv("LAMBDA_TASK_ROOT"):
        return False
    return not (os.getenv("AWS_SAM_LOCAL") or os.getenv("AWS_CHALICE_CLI_MODE"))


def _patch_modules(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return DEFAULT_PATCH_MODULES
    names = [part.strip().lower() for part in raw.split(",") if part.strip()]
    if names in ([], ["none"]):
        return ()
    return tuple(dict.fromkeys(_PATCH_ALIASES.get(name, name) for name in names))


def _start_tracer() -> Tracer | None:
    if not _tracing_wanted():
        return None
    import wrapt
    from aws_lambda_powertools.tracing import Tracer
    from aws_xray_sdk.core import patch
    from aws_xray_sdk.core.patcher import SUPPORTED_MODULES

    # auto_patch=False: Powertools would otherwise patch (and so import) every library
    # the X-Ray SDK knows, which costs tens of milliseconds of every cold start.
    tracer = Tracer(auto_patch=False)
    modules = _patch_modules(os.getenv("POWERTOOLS_TRACER_PATCH"))
    unknown = sorted(set(modules) - set(SUPPORTED_MODULES))
    if unknown:
        raise ValueError(
            f"POWERTOOLS_TRACER_PATCH names modules the X-Ray SDK cannot patch: {unknown}; "
            f"supported: {sorted(SUPPORTED_MODULES)}"
        )
    for name in modules:
        # Runs now if the module is already imported, else right after its first import.
        wrapt.register_post_import_hook(_patcher(patch, name), _IMPORT_NAMES.get(name, name))
    return tracer


def _patcher(patch: Callable[[Sequence[str]], None], name: str) -> Callable[[object], None]:
    def hook(_module: object) -> None:
        patch([name])

    return hook


_tracer = _start_tracer()


def tracing_enabled() -> bool:
    """Whether this process sends traces (decided once, at import)."""
    return _tracer is not None


def correlation_id_of(event: object) -> str | None:
    """The id that ties an invocation's logs to its request, or None.

    API Gateway (REST, HTTP and WebSocket APIs) and Lambda async-invocation records: the
    ``requestContext.requestId``; an SQS or SNS event with exactly one record: that
    message's id; EventBridge: the event ``id``. A batch of several messages has no single
    id: ``failures.process_sqs_batch`` sets each message's id while it is processed.
    """
    if not isinstance(event, Mapping):
        return None
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):
        request_id = request_context.get("requestId")
        if isinstance(request_id, str):
            return request_id
    records = event.get("Records")
    if isinstance(records, Sequence) and len(records) == 1 and isinstance(records[0], Mapping):
        record = records[0]
        if record.get("eventSource") == "aws:sqs":
            message_id = record.get("messageId")
            return message_id if isinstance(message_id, str) else None
        sns = record.get("Sns")
        if record.get("EventSource") == "aws:sns" and isinstance(sns, Mapping):
            message_id = sns.get("MessageId")
            return message_id if isinstance(message_id, str) else None
        return None
    if "detail-type" in event and isinstance(event.get("id"), str):
        return cast(str, event["id"])
    return None


@overload
def instrument(handler: F, /) -> F: ...


@overload
def instrument(
    *, log_event: bool | None = None, capture_cold_start_metric: bool = True
) -> Callable[[F], F]: ...


def instrument(
    handler: F | None = None,
    /,
    *,
    log_event: bool | None = None,
    capture_cold_start_metric: bool = True,
) -> F | Callable[[F], F]:
    """Decorate a Lambda handler: context and correlation id in logs, a trace, metrics.

    Every log line of the invocation carries the Lambda context (request id, function
    name, cold start) and the correlation id of ``correlation_id_of(event)``. The handler
    runs in a trace subsegment annotated with ColdStart and Service. Metrics added during
    the invocation are flushed as EMF when it ends (also on error), with a ``ColdStart``
    metric on the first invocation of the execution environment. An invocation that adds
    no metric (a read, say) is normal: Powertools' "No application metrics to publish"
    warning is silenced for it.
    """

    def decorate(func: F) -> F:
        wrapped: Callable[..., Any] = metrics.log_metrics(
            func, capture_cold_start_metric=capture_cold_start_metric
        )
        if _tracer is not None:
            wrapped = _tracer.capture_lambda_handler(wrapped)
        wrapped = logger.inject_lambda_context(wrapped, log_event=log_event)

        @functools.wraps(func)
        def instrumented(event: Any, context: Any) -> Any:
            # Set on every call, so an id never leaks into the next invocation's logs.
            logger.set_correlation_id(correlation_id_of(event))
            _ignore_empty_metrics_warning()
            return wrapped(event, context)

        return cast(F, instrumented)

    return decorate if handler is None else decorate(handler)


@overload
def traced(func: F, /) -> F: ...


@overload
def traced(*, capture_response: bool = True) -> Callable[[F], F]: ...


def traced(func: F | None = None, /, *, capture_response: bool = True) -> F | Callable[[F], F]:
    """Run a function (sync, async or generator) in its own trace subsegment.

    With tracing off the function is returned unchanged, so the decorator costs nothing.
    ``capture_response=False`` keeps large or sensitive results out of the trace.
    """

    def decorate(target: F) -> F:
        if _tracer is None:
            return target
        return _tracer.capture_method(capture_response=capture_response)(target)

    return decorate if func is None else decorate(func)


def annotate(key: str, value: str | int | float | bool) -> None:
    """Add a searchable annotation to the current trace subsegment (no-op with tracing off).

    Telemetry never fails a request: outside a traced invocation (where X-Ray has no
    subsegment to annotate) the annotation is dropped with a debug log.
    """
    if _tracer is None:
        return
    try:
        _tracer.put_annotation(key=key, value=cast(Any, value))
    except Exception:
        logger.debug("trace annotation %s dropped", key, exc_info=True)
