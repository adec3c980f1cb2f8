"""DynamoDB access shared by the services: short timeouts, and failures as ``Unavailable``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from overview_services.contract import Unavailable

# Fail fast inside the service's few seconds: botocore's legacy retry mode would retry a
# throttled read up to 10 times, long past the caller's budget.
DYNAMODB_CONFIG_OPTIONS: dict[str, Any] = {
    "retries": {"mode": "standard", "max_attempts": 2},
    "connect_timeout": 1,
    "read_timeout": 2,
}


def dynamodb_table(name: str) -> Any:
    """A boto3 Table resource with :data:`DYNAMODB_CONFIG_OPTIONS`."""
    import boto3
    from botocore.config import Config

    return boto3.resource("dynamodb", config=Config(**DYNAMODB_CONFIG_OPTIONS)).Table(name)


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn a failing DynamoDB call into the contract's ``Unavailable``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise Unavailable(f"the {what} store is unreachable ({type(error).__name__})") from error


def remaining_seconds(context: Any) -> Callable[[], float]:
    """The invocation's time left, in seconds, as a function (for fault drills)."""
    return lambda: float(context.get_remaining_time_in_millis()) / 1000
