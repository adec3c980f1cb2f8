"""The pricing service as the orders function sees it: one method, its own error types.

The adapter wraps the layer's ``LambdaServiceClient`` and maps the pricing contract's error
type names onto the orders function's own exceptions (``pricing_orders.orders``). A pricing
service that cannot answer (throttled beyond the retries, timed out, or reporting
``Unavailable``) becomes ``Unavailable`` here too: the order can be placed again later.
Anything else (an unknown errorType, access denied) is a bug and propagates as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from common_layer.lambda_client import LambdaServiceClient, ServiceThrottled, ServiceTimeout

from pricing_orders.orders import NotFound, Unavailable, ValidationFailed

# The pricing service's error types (its contract) -> this function's exceptions.
ERROR_TYPES: dict[str, type[Exception]] = {
    "ValidationFailed": ValidationFailed,
    "NotFound": NotFound,
    "Unavailable": Unavailable,
}


class LambdaPricing:
    """``orders.Pricing`` over a synchronous Lambda invoke of the pricing service."""

    def __init__(self, service: LambdaServiceClient) -> None:
        self._service = service

    @classmethod
    def for_function(cls, function_name: str) -> LambdaPricing:
        # Three tries on throttling: the last waits at most 0.4 s (backoff_cap), so a
        # throttled call costs the orders function well under a second before giving up.
        return cls(
            LambdaServiceClient(
                function_name, error_types=ERROR_TYPES, max_attempts=3, backoff_cap=0.4
            )
        )

    def quote(
        self, items: Sequence[Mapping[str, Any]], *, correlation_id: str | None = None
    ) -> dict[str, Any]:
        try:
            return self._service.call(
                "quote", {"items": list(items)}, version=1, correlation_id=correlation_id
            )
        except (ServiceThrottled, ServiceTimeout) as error:
            raise Unavailable(f"the pricing service did not answer: {error}") from error
