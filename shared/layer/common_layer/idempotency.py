"""Idempotency for at-least-once consumers: Powertools idempotency on DynamoDB.

SQS, SNS, EventBridge, streams and async invokes may deliver an event more than once. An
idempotent handler or function runs once per key; a repeat within ``expires_after_seconds``
gets the stored result instead of running again, and a repeat that arrives while the
first run is still going raises ``IdempotencyAlreadyInProgressError`` (so it is retried).

::

    from common_layer.idempotency import idempotent_function, idempotent_handler

    @idempotent_handler(key_jmespath="powertools_json(body).order_id")
    def lambda_handler(event: dict, context: object) -> dict: ...

    @idempotent_function("order", key_jmespath="order_id")
    def charge(order: dict) -> dict: ...   # call as charge(order=...)

The table, named by the environment variable ``IDEMPOTENCY_TABLE`` (or ``table_env``)::

    IdempotencyTable:
      Type: AWS::DynamoDB::Table
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
        KeySchema: [{AttributeName: id, KeyType: HASH}]
        TimeToLiveSpecification: {AttributeName: expiration, Enabled: true}
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
        SSESpecification: {SSEEnabled: true}

The function needs ``dynamodb:GetItem``, ``PutItem``, ``UpdateItem`` and ``DeleteItem`` on it
(SAM: ``DynamoDBCrudPolicy``). TTL deletes expired records within days, not at once;
Powertools also checks the expiry itself, so a late deletion never replays a stale result.

Nothing heavy happens at import: Powertools' idempotency module and the DynamoDB client are
loaded on the first call of a decorated function.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
    )

__all__ = [
    "DEFAULT_TABLE_ENV",
    "idempotent_function",
    "idempotent_handler",
    "persistence_layer",
    "register_lambda_context",
]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TABLE_ENV = "IDEMPOTENCY_TABLE"
DEFAULT_EXPIRY_SECONDS = 3600

_layers: dict[str, DynamoDBPersistenceLayer] = {}
_function_configs: list[IdempotencyConfig] = []
_pending_context: Any = None  # the context registered before a function's first call


def persistence_layer(table_env: str = DEFAULT_TABLE_ENV) -> DynamoDBPersistenceLayer:
    """The DynamoDB persistence layer for the table named by ``$table_env``, built once."""
    table = os.environ.get(table_env)
    if not table:
        raise RuntimeError(
            f"environment variable {table_env} is not set: it must name the idempotency table"
        )
    layer = _layers.get(table)
    if layer is None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        layer = DynamoDBPersistenceLayer(table_name=table, key_attr="id", expiry_attr="expiration")
        _layers[table] = layer
    return layer


def _config(
    key_jmespath: str | None,
    payload_validation_jmespath: str | None,
    expires_after_seconds: int,
    raise_on_no_idempotency_key: bool,
    use_local_cache: bool,
) -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath=key_jmespath or "",
        payload_validation_jmespath=payload_validation_jmespath or "",
        expires_after_seconds=expires_after_seconds,
        raise_on_no_idempotency_key=raise_on_no_idempotency_key,
        use_local_cache=use_local_cache,
    )


def idempotent_handler(
    *,
    table_env: str = DEFAULT_TABLE_ENV,
    key_jmespath: str | None = None,
    payload_validation_jmespath: str | None = None,
    expires_after_seconds: int = DEFAULT_EXPIRY_SECONDS,
    raise_on_no_idempotency_key: bool = True,
    use_local_cache: bool = False,
) -> Callable[[F], F]:
    """Make a Lambda handler idempotent on the part of the event ``key_jmespath`` selects.

    ``key_jmespath`` None keys on the whole event (fine for async invokes; not for API
    Gateway, whose events differ per request). ``payload_validation_jmespath`` selects a
    part that must match the first call's, else ``IdempotencyValidationError`` (the same
    key sent with a different payload is a client bug, not a repeat). A missing key raises
    ``IdempotencyKeyError`` unless ``raise_on_no_idempotency_key=False`` (then the handler
    runs unprotected). Put it under ``instrument`` so failures are logged and traced.
    """

    def decorate(handler: F) -> F:
        wrapped: Callable[[Any, Any], Any] | None = None

        @functools.wraps(handler)
        def idempotent_call(event: Any, context: Any) -> Any:
            nonlocal wrapped
            if wrapped is None:
                from aws_lambda_powertools.utilities.idempotency import idempotent

                config = _config(
                    key_jmespath,
                    payload_validation_jmespath,
                    expires_after_seconds,
                    raise_on_no_idempotency_key,
                    use_local_cache,
                )
                wrapped = idempotent(persistence_store=persistence_layer(table_env), config=config)(
                    handler
                )
            return wrapped(event, context)

        return cast(F, idempotent_call)

    return decorate


def idempotent_function(
    data_keyword_argument: str,
    *,
    table_env: str = DEFAULT_TABLE_ENV,
    key_jmespath: str | None = None,
    payload_validation_jmespath: str | None = None,
    expires_after_seconds: int = DEFAULT_EXPIRY_SECONDS,
    raise_on_no_idempotency_key: bool = True,
    use_local_cache: bool = False,
) -> Callable[[F], F]:
    """Make a function idempotent on its keyword argument ``data_keyword_argument``.

    The function must be called with that argument by keyword (``charge(order=...)``); its
    value (a dict, dataclass or pydantic model) is what ``key_jmespath`` reads, e.g. one SQS
    message's body inside ``process_sqs_batch``. Results must be JSON-serialisable. Call
    ``register_lambda_context(context)`` in the handler, so that a run cut short by a
    timeout does not block retries until ``expires_after_seconds``.
    """

    def decorate(function: F) -> F:
        wrapped: Callable[..., Any] | None = None

        @functools.wraps(function)
        def idempotent_call(*args: Any, **kwargs: Any) -> Any:
            nonlocal wrapped
            if wrapped is None:
                from aws_lambda_powertools.utilities.idempotency import (
                    idempotent_function as powertools_idempotent_function,
                )

                config = _config(
                    key_jmespath,
                    payload_validation_jmespath,
                    expires_after_seconds,
                    raise_on_no_idempotency_key,
                    use_local_cache,
                )
                if _pending_context is not None:
                    config.register_lambda_context(_pending_context)
                _function_configs.append(config)
                wrapped = powertools_idempotent_function(
                    function,
                    data_keyword_argument=data_keyword_argument,
                    persistence_store=persistence_layer(table_env),
                    config=config,
                )
            return wrapped(*args, **kwargs)

        return cast(F, idempotent_call)

    return decorate


def register_lambda_context(context: Any) -> None:
    """Tell every idempotent function the current invocation's Lambda context.

    Powertools then expires an in-progress record when the invocation would time out,
    instead of after ``expires_after_seconds``, so a retry after a timeout is not blocked.
    """
    global _pending_context
    _pending_context = context
    for config in _function_configs:
        config.register_lambda_context(context)
