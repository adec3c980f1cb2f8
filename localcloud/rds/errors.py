"""The RDS Data API's errors, in the shapes of its service model.

Each is a moto ``ServiceException`` whose ``code`` is an error shape of ``rds-data``
(``BadRequestException``, ``DatabaseErrorException``, ``HttpEndpointNotEnabledException``...):
moto serialises it with the HTTP status the model gives that shape (400, 403, 404...), so
boto3 raises ``ClientError`` with that code, as against AWS.

SQL errors carry PostgreSQL's message the way the service renders it: the severity and
primary message, then the ``Detail``, ``Hint``, ``Position`` and ``Where`` lines PostgreSQL
sent, then ``; SQLState: <code>``, e.g.::

    ERROR: duplicate key value violates unique constraint "orders_pkey"
      Detail: Key (id)=(1) already exists.; SQLState: 23505
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import ServiceException

# PostgreSQL's "canceling statement due to statement timeout".
_QUERY_CANCELED = "57014"


class DataApiError(ServiceException):
    """An error answered by the Data API: ``code`` is the error shape, ``message`` the text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def bad_request(message: str) -> DataApiError:
    return DataApiError("BadRequestException", message)


def database_error(message: str, sqlstate: str) -> DataApiError:
    return DataApiError("DatabaseErrorException", f"{message}; SQLState: {sqlstate}")


def http_endpoint_not_enabled(resource_arn: str) -> DataApiError:
    return DataApiError(
        "HttpEndpointNotEnabledException",
        f"HttpEndpoint is not enabled for resource {resource_arn}",
    )


def transaction_not_found(transaction_id: str, cause: str | None = None) -> DataApiError:
    message = f"Transaction {transaction_id} is not found"
    if cause:
        message += f": {cause}"
    return DataApiError("TransactionNotFoundException", message)


def format_postgres_error(diag: Any, fallback: str) -> str:
    """PostgreSQL's error fields as one message (the layout of PgJDBC's server errors)."""
    primary = getattr(diag, "message_primary", None)
    if not primary:
        return fallback.strip()
    text = f"{getattr(diag, 'severity', None) or 'ERROR'}: {primary}"
    for label, attribute in (
        ("Detail", "message_detail"),
        ("Hint", "message_hint"),
        ("Position", "statement_position"),
        ("Where", "context"),
    ):
        value = getattr(diag, attribute, None)
        if value:
            text += f"\n  {label}: {str(value).strip()}"
    return text


def from_postgres(exc: BaseException) -> DataApiError:
    """The Data API error for an exception of the PostgreSQL driver."""
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(diag, "sqlstate", None) or getattr(exc, "sqlstate", None) or "08006"
    if sqlstate == _QUERY_CANCELED:
        return DataApiError(
            "StatementTimeoutException", "The execution of the SQL statement timed out."
        )
    return database_error(format_postgres_error(diag, str(exc)), sqlstate)
