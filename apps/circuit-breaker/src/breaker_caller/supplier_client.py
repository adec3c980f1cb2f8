"""How the caller reaches the supplier: the port and its two adapters.

- :class:`LambdaSupplier`: the stand-in supplier shipped with the app, called with Lambda
  Invoke (RequestResponse) through the common layer's client, one attempt, with the
  dependency timeout as the read timeout.
- :class:`HttpSupplier`: a real supplier's HTTP API (``GET {base}/suppliers/{id}/stock/{sku}``),
  used when the stack's ``SupplierUrl`` parameter is set.

Both raise :class:`SupplierFailed` (or :class:`SupplierTimedOut`) for whatever the breaker
must count: errors of the supplier, no answer in time, no connection. A 4xx answer means
the supplier is healthy and refused this request (:class:`SupplierRejected`): it does not
count against the supplier.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from common_layer.lambda_client import LambdaCallError, LambdaServiceClient, ServiceTimeout


class SupplierFailed(Exception):
    """The supplier failed or did not answer: counts against it."""


class SupplierTimedOut(SupplierFailed):
    """No answer within the dependency timeout."""


class SupplierRejected(Exception):
    """The supplier answered and refused this request (4xx): it is healthy."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Supplier(Protocol):
    def check_stock(self, supplier_id: str, sku: str) -> dict[str, Any]: ...


class LambdaSupplier:
    def __init__(self, client: LambdaServiceClient) -> None:
        self.client = client

    @classmethod
    def for_function(cls, function_name: str, timeout_seconds: float) -> LambdaSupplier:
        # One attempt: retrying a failing dependency is the opposite of what a breaker is
        # for, and a retry would count one caller's request as several calls.
        return cls(LambdaServiceClient(function_name, max_attempts=1, read_timeout=timeout_seconds))

    def check_stock(self, supplier_id: str, sku: str) -> dict[str, Any]:
        try:
            return self.client.call("check_stock", {"supplier_id": supplier_id, "sku": sku})
        except ServiceTimeout as error:
            raise SupplierTimedOut(f"no answer from the supplier: {error}") from error
        except LambdaCallError as error:
            raise SupplierFailed(f"the supplier failed: {error}") from error


class HttpSupplier:
    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def check_stock(self, supplier_id: str, sku: str) -> dict[str, Any]:
        url = "{}/suppliers/{}/stock/{}".format(
            self.base_url,
            urllib.parse.quote(supplier_id, safe=""),
            urllib.parse.quote(sku, safe=""),
        )
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500 and error.code not in (408, 429):
                raise SupplierRejected(
                    error.code, f"the supplier refused: HTTP {error.code}"
                ) from error
            raise SupplierFailed(f"the supplier answered HTTP {error.code}") from error
        except TimeoutError as error:
            raise SupplierTimedOut(f"no answer within {self.timeout_seconds:g} s") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise SupplierTimedOut(f"no answer within {self.timeout_seconds:g} s") from error
            raise SupplierFailed(f"cannot reach the supplier: {error.reason}") from error
        except OSError as error:
            raise SupplierFailed(f"cannot reach the supplier: {error}") from error
        try:
            answer = json.loads(body)
        except ValueError as error:
            raise SupplierFailed("the supplier answered something other than JSON") from error
        if not isinstance(answer, dict):
            raise SupplierFailed("the supplier answered something other than a JSON object")
        return answer
