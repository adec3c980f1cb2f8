"""The body every service handler shares: parse the envelope, dispatch, count, log.

Each service's ``handler.py`` binds its own actions and calls :func:`serve`, so the three
handlers differ only in what they serve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common_layer.observability import MetricUnit, logger, metrics

from overview_services import contract


def serve(event: object, actions: Mapping[tuple[str, int], contract.Action]) -> dict[str, Any]:
    """Answer one invocation; contract errors propagate so the invocation fails typed."""
    try:
        request = contract.parse_request(event)
        if request.correlation_id:
            logger.set_correlation_id(request.correlation_id)
        result = contract.dispatch(request, actions)
    except contract.CLIENT_ERRORS as error:
        # Refusals are function errors too: counted apart so the fault alarm can subtract them.
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        logger.info(
            "request refused", extra={"error_type": type(error).__name__, "reason": str(error)}
        )
        raise
    except contract.Unavailable as error:
        logger.warning("unavailable", extra={"reason": str(error)})
        raise
    logger.info("served", extra={"action": request.action, "version": request.version})
    return result
