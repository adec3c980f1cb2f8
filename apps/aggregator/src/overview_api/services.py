"""The three internal services as the aggregator sees them: one method each.

Each wraps the layer's ``LambdaServiceClient`` (versioned envelope, typed errors, retries
of 429/5xx) around one function of the stack. The services' contract error types
(``overview_services.contract``) map to the exceptions below; the layer's own
``ServiceTimeout`` / ``ServiceThrottled`` / ``TransportError`` pass through, and
``overview_api.overview`` turns all of them into a reason a client can read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common_layer.lambda_client import LambdaServiceClient, RemoteError

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient


class CustomerNotFound(RemoteError):
    """The profile service holds no such customer."""


class PartUnavailable(RemoteError):
    """The service answered that it cannot serve now (its store failed)."""


class PartRejected(RemoteError):
    """The service refused the request as invalid: a bug on the aggregator's side."""


ERROR_TYPES: dict[str, type[Exception]] = {
    "NotFound": CustomerNotFound,
    "Unavailable": PartUnavailable,
    "ValidationFailed": PartRejected,
}

# Throttling retries must fit in the fan-out's budget: 2 tries, the wait capped at 0.25 s.
MAX_ATTEMPTS = 2
BACKOFF_CAP_SECONDS = 0.25


def lambda_client(budget_seconds: float) -> LambdaClient:
    """One boto3 Lambda client for the three services (boto3 clients are thread-safe).

    - ``read_timeout`` = the budget: a call still waiting when the aggregator has given up
      ends then too, so an abandoned thread never outlives the answer by long (botocore's
      default is 60 s, which would keep threads, sockets and the function busy for nothing).
    - ``connect_timeout`` 1 s: reaching the Lambda endpoint takes milliseconds.
    - botocore's own retries off (``total_max_attempts`` 1): the layer's client decides,
      with a backoff capped to fit the budget; botocore's legacy mode would retry 429s with
      waits of seconds, past API Gateway's 29 s integration timeout in the worst case.
    - ``max_pool_connections`` 10 (the default) covers the three concurrent calls.
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        config=Config(
            connect_timeout=1,
            read_timeout=budget_seconds,
            retries={"total_max_attempts": 1},
            max_pool_connections=10,
        ),
    )


class LambdaCustomerServices:
    """``overview.CustomerServices`` over synchronous invokes of the stack's functions."""

    def __init__(self, profile: str, orders: str, loyalty: str, *, client: Any) -> None:
        def service(name: str) -> LambdaServiceClient:
            return LambdaServiceClient(
                name,
                lambda_client=client,
                error_types=ERROR_TYPES,
                max_attempts=MAX_ATTEMPTS,
                backoff_cap=BACKOFF_CAP_SECONDS,
            )

        self._profile = service(profile)
        self._orders = service(orders)
        self._loyalty = service(loyalty)

    def profile(self, customer_id: str, correlation_id: str | None) -> dict[str, Any]:
        return self._profile.call(
            "get_profile", {"customer_id": customer_id}, version=1, correlation_id=correlation_id
        )

    def recent_orders(
        self, customer_id: str, limit: int, correlation_id: str | None
    ) -> dict[str, Any]:
        return self._orders.call(
            "recent_orders",
            {"customer_id": customer_id, "limit": limit},
            version=1,
            correlation_id=correlation_id,
        )

    def loyalty(self, customer_id: str, correlation_id: str | None) -> dict[str, Any]:
        return self._loyalty.call(
            "balance", {"customer_id": customer_id}, version=1, correlation_id=correlation_id
        )
