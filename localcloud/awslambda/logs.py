"""CloudWatch Logs subscription filters deliver to Lambda as AWS does: asynchronously.

moto's ``LogStream.put_log_events`` (``moto/logs/models.py``) hands the new events of a group
with a ``lambda`` subscription filter to ``LambdaBackend.send_log_event``, which builds the
right event (``{"awslogs": {"data": base64(gzip(json))}}`` holding ``messageType``
``DATA_MESSAGE``, ``owner``, ``logGroup``, ``logStream``, ``subscriptionFilters`` and
``logEvents``; only its event ids are ints where AWS's are strings) but invokes the
function synchronously, inside PutLogEvents, where a function error is dropped: no retry,
no dead-letter queue, no destination.

AWS ("Using CloudWatch Logs subscription filters", "Lambda: asynchronous invocation"): the
Logs service invokes the destination function asynchronously, so Lambda's asynchronous
retries, ``DeadLetterConfig`` and on-failure destination apply. Replaced here:
``LambdaBackend.send_log_event`` builds the same event and hands it to the local cloud's
asynchronous queue (``InvocationType=Event``). A function that does not exist is logged
and dropped, as Logs drops deliveries it cannot make.

Only the events the filter's ``FilterPattern`` matches are delivered
(:mod:`localcloud.logs.filter_patterns`; moto itself ignores the pattern).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
from typing import Any

from localcloud.awslambda.model import InvokeRequest

log = logging.getLogger("localcloud.awslambda")

_originals: dict[str, Any] = {}
_apply_lock = threading.Lock()


def logs_event(
    owner: str,
    log_group_name: str,
    log_stream_name: str,
    filter_name: str,
    log_events: list[dict[str, Any]],
) -> dict[str, Any]:
    """The event a subscription filter's function receives for one batch of log events."""
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group_name,
        "logStream": log_stream_name,
        "subscriptionFilters": [filter_name],
        # AWS sends each event's id as a string of digits; moto keeps an int counter.
        "logEvents": [{**event, "id": str(event["id"])} for event in log_events],
    }
    packed = gzip.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"))
    return {"awslogs": {"data": base64.b64encode(packed).decode("ascii")}}


def _send_log_event(
    self: Any,
    function_arn: str,
    filter_name: str,
    log_group_name: str,
    log_stream_name: str,
    log_events: Any,
) -> None:
    from localcloud.awslambda import get_runtime
    from localcloud.awslambda.patch import function_config

    event = logs_event(self.account_id, log_group_name, log_stream_name, filter_name, log_events)
    try:
        fn = self.get_function(function_arn)
    except Exception:
        log.warning("Logs could not deliver to %s: the function does not exist", function_arn)
        return
    payload = json.dumps(event).encode("utf-8")
    get_runtime().invoke_async(function_config(fn), InvokeRequest(payload=payload))


def apply() -> None:
    """Replace moto's synchronous Lambda delivery of Logs subscriptions, once per process."""
    from moto.awslambda.models import LambdaBackend

    with _apply_lock:
        if _originals:
            return
        _originals["LambdaBackend.send_log_event"] = LambdaBackend.send_log_event
        LambdaBackend.send_log_event = _send_log_event  # type: ignore[method-assign]
