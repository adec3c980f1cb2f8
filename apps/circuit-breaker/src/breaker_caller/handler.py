"""REST API (v1 proxy events): ``GET /suppliers/{supplier_id}/stock/{sku}``.

Asks the supplier for the sku's stock through the supplier's circuit breaker and maps the
outcome to HTTP: 200 with the answer; 503 with ``Retry-After`` when the breaker refused
(the supplier was not called); 502 when the supplier failed, 504 when it did not answer in
time. Every response carries the breaker's state in ``X-Circuit-State``.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from common_layer.http import InvalidRequest, install_error_handlers
from common_layer.observability import MetricUnit, instrument, logger, metrics

from breaker_caller import stock
from breaker_caller.circuit import CircuitBreaker, Settings, State
from breaker_caller.store import DynamoDBBreakerStore
from breaker_caller.supplier_client import HttpSupplier, LambdaSupplier, Supplier

# Fail fast: the breaker's bookkeeping must not outlast the call it protects.
_DYNAMODB_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=1, read_timeout=2
)
_TIMEOUT_SECONDS = float(os.environ["DEPENDENCY_TIMEOUT_SECONDS"])

_settings = Settings(
    failure_threshold=int(os.environ["FAILURE_THRESHOLD"]),
    open_ms=int(float(os.environ["OPEN_SECONDS"]) * 1000),
    max_open_ms=int(float(os.environ["MAX_OPEN_SECONDS"]) * 1000),
    # The trial call's own timeout plus a margin for the breaker's writes around it.
    trial_lease_ms=int((_TIMEOUT_SECONDS + 3) * 1000),
)
_breaker = CircuitBreaker(
    DynamoDBBreakerStore(
        boto3.resource("dynamodb", config=_DYNAMODB_CONFIG).Table(os.environ["BREAKER_TABLE_NAME"])
    ),
    _settings,
)


def _supplier() -> Supplier:
    url = os.environ.get("SUPPLIER_URL", "")
    if url:
        return HttpSupplier(url, _TIMEOUT_SECONDS)
    return LambdaSupplier.for_function(os.environ["SUPPLIER_FUNCTION_NAME"], _TIMEOUT_SECONDS)


_supplier_port = _supplier()

app = APIGatewayRestResolver()
install_error_handlers(app)


def _json(
    status: int, body: Any, state: State, extra: dict[str, str] | None = None
) -> Response[Any]:
    headers = {"X-Circuit-State": state.value, **(extra or {})}
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


@app.get("/suppliers/<supplier_id>/stock/<sku>")
def get_stock(supplier_id: str, sku: str) -> Response[Any]:
    try:
        outcome = stock.check_stock(supplier_id, sku, breaker=_breaker, supplier=_supplier_port)
    except stock.InvalidInput as error:
        raise InvalidRequest(str(error)) from error
    circuit = stock.describe(outcome.circuit)
    state = outcome.circuit.state
    if isinstance(outcome, stock.Refused):
        metrics.add_metric(name="CallsRefused", unit=MetricUnit.Count, value=1)
        message = f"supplier {supplier_id} is failing: circuit {state.value}, not calling it"
        body = {"message": message, "retry_after_seconds": outcome.retry_after_seconds}
        retry_after = {"Retry-After": str(outcome.retry_after_seconds)}
        return _json(
            HTTPStatus.SERVICE_UNAVAILABLE, {**body, "circuit": circuit}, state, retry_after
        )
    if outcome.trial:
        metrics.add_metric(name="TrialCalls", unit=MetricUnit.Count, value=1)
    if isinstance(outcome, stock.Failed):
        opened = state is State.OPEN
        metrics.add_metric(name="SupplierFailures", unit=MetricUnit.Count, value=1)
        if opened:
            metrics.add_metric(name="CircuitOpened", unit=MetricUnit.Count, value=1)
        logger.warning(
            "supplier call failed",
            extra={"supplier_id": supplier_id, "reason": outcome.reason, "circuit": circuit},
        )
        status = HTTPStatus.GATEWAY_TIMEOUT if outcome.timed_out else HTTPStatus.BAD_GATEWAY
        return _json(status, {"message": outcome.reason, "circuit": circuit}, state)
    if isinstance(outcome, stock.Rejected):
        return _json(outcome.status, {"message": outcome.reason, "circuit": circuit}, state)
    if outcome.trial and state is State.CLOSED:
        metrics.add_metric(name="CircuitClosed", unit=MetricUnit.Count, value=1)
        logger.info("trial call succeeded: circuit closed", extra={"supplier_id": supplier_id})
    return _json(HTTPStatus.OK, {**outcome.answer, "circuit": circuit}, state)


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
