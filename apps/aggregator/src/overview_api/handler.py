"""REST API (v1 proxy events) in front of ``overview_api.overview``.

``GET /customers/{customerId}/overview`` asks the profile, orders and loyalty services at
once (``overview.build_overview``) and answers:

- 200 with every part, ``"partial": false``, header ``X-Overview-Partial: false``;
- 200 with ``"partial": true``, the failed optional parts ``null`` and listed in
  ``"unavailable"`` (``[{"part": "loyalty", "reason": "timeout"}]``), header ``true``;
- 404 when the profile service knows no such customer;
- 503 (``Retry-After``) when the profile service timed out, was throttled or unavailable;
  502 when it failed in a way a retry will not fix;
- 400 when ``customerId`` is malformed (no service is called).
"""

from __future__ import annotations

import os
import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.http import InvalidRequest, NotFound, install_error_handlers
from common_layer.observability import MetricUnit, instrument, logger, metrics
from overview_services.contract import CUSTOMER_ID_PATTERN

from overview_api import overview
from overview_api.services import LambdaCustomerServices, lambda_client

# The fan-out's time budget. API Gateway gives up after 29 s; this function's Timeout is a
# few seconds above the budget, so the answer (complete or partial) always gets out.
BUDGET_SECONDS = float(os.environ.get("PART_BUDGET_SECONDS", "3"))
# Kept back from the invocation's remaining time to build and return the response.
RESPONSE_RESERVE_SECONDS = 1.0
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)

# Created at import so warm invocations reuse the connection pool.
_services: overview.CustomerServices = LambdaCustomerServices(
    os.environ["PROFILE_FUNCTION_NAME"],
    os.environ["ORDERS_FUNCTION_NAME"],
    os.environ["LOYALTY_FUNCTION_NAME"],
    client=lambda_client(BUDGET_SECONDS),
)

app = APIGatewayRestResolver()
install_error_handlers(app)


def _json(status: HTTPStatus, body: Any, headers: dict[str, str]) -> Response[Any]:
    # Overviews are per customer and change with every order: never cached on the way.
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Cache-Control": "no-store", **headers},
    )


@app.get("/customers/<customer_id>/overview")
def get_overview(customer_id: str) -> Response[Any]:
    if not _CUSTOMER_ID.fullmatch(customer_id):
        raise InvalidRequest(
            f"customerId {customer_id[:80]!r} is malformed: use 1-64 letters, digits, '-' or "
            "'_', starting with a letter or digit"
        )
    remaining = app.lambda_context.get_remaining_time_in_millis() / 1000
    budget = max(0.1, min(BUDGET_SECONDS, remaining - RESPONSE_RESERVE_SECONDS))
    try:
        result = overview.build_overview(
            _services, customer_id, budget=budget, correlation_id=logger.get_correlation_id()
        )
    except overview.CustomerNotFound as error:
        raise NotFound(f"no customer '{customer_id}'") from error
    except overview.EssentialPartFailed as failure:
        return _essential_failed(failure)
    for missing in result.missing:
        metrics.add_metric(
            name=f"{_camel(missing.part)}Unavailable", unit=MetricUnit.Count, value=1
        )
        logger.warning(
            "part missing from the overview",
            extra={"part": missing.part, "reason": missing.reason, "detail": missing.detail},
        )
    metrics.add_metric(
        name="PartialOverview" if result.partial else "CompleteOverview",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info("overview served", extra={"partial": result.partial, "seconds": result.seconds})
    return _json(
        HTTPStatus.OK,
        result.to_json(),
        {"X-Overview-Partial": "true" if result.partial else "false"},
    )


def _essential_failed(failure: overview.EssentialPartFailed) -> Response[Any]:
    metrics.add_metric(name="EssentialPartFailed", unit=MetricUnit.Count, value=1)
    logger.error(
        "no overview: essential part failed",
        extra={"part": failure.part, "reason": failure.reason, "detail": failure.detail},
    )
    body = {
        "message": f"the customer overview is unavailable: the {failure.part} service "
        + ("did not answer; try again shortly" if failure.transient else "failed"),
        "unavailable": [missing.to_json() for missing in failure.missing],
    }
    if failure.transient:
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, body, {"Retry-After": "1"})
    return _json(HTTPStatus.BAD_GATEWAY, body, {})


def _camel(part: str) -> str:
    return "".join(word.title() for word in part.split("_"))


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
