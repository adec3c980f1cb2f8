"""The HTTP side of the Data API: moto's dispatch of ``rds-data`` requests, to :mod:`.data_api`.

Requests reach the local cloud like any AWS call (``AWS_ENDPOINT_URL``, SigV4 with service
``rds-data``); moto's dispatcher picks the ``rds-data`` app, whose routes
:mod:`.moto_patch` points here. Errors are :class:`~.errors.DataApiError`, which moto
serialises with the status code and error code of the service model.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import BaseResponse

from localcloud.rds.errors import DataApiError, bad_request


class DataApiResponse(BaseResponse):
    """ExecuteStatement, BatchExecuteStatement, Begin/Commit/RollbackTransaction."""

    def __init__(self) -> None:
        super().__init__(service_name="rds-data")

    def _request(self) -> dict[str, Any]:
        raw = self.body
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        try:
            document = json.loads(raw or "{}")
        except ValueError:
            raise bad_request("The request body is not valid JSON") from None
        if not isinstance(document, dict):
            raise bad_request("The request body must be a JSON object")
        return document

    def _call(self, operation: str) -> tuple[str, dict[str, Any]]:
        from localcloud.rds import get_data_api

        api = get_data_api()
        if api is None:
            raise DataApiError(
                "ServiceUnavailableError", "the local cloud's RDS Data API is not running"
            )
        method = getattr(api, operation)
        body = json.dumps(method(self.current_account, self.region, self._request()))
        return body, {"status": 200, "Content-Type": "application/json"}

    def execute_statement(self) -> tuple[str, dict[str, Any]]:
        return self._call("execute_statement")

    def batch_execute_statement(self) -> tuple[str, dict[str, Any]]:
        return self._call("batch_execute_statement")

    def begin_transaction(self) -> tuple[str, dict[str, Any]]:
        return self._call("begin_transaction")

    def commit_transaction(self) -> tuple[str, dict[str, Any]]:
        return self._call("commit_transaction")

    def rollback_transaction(self) -> tuple[str, dict[str, Any]]:
        return self._call("rollback_transaction")
