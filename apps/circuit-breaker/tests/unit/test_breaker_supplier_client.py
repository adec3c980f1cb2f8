"""The two ways the caller reaches a supplier: Lambda Invoke (the stand-in) and HTTP."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from breaker_caller.supplier_client import (
    HttpSupplier,
    LambdaSupplier,
    SupplierFailed,
    SupplierRejected,
    SupplierTimedOut,
)
from common_layer.lambda_client import LambdaServiceClient


class FakeInvoke:
    """The Lambda Invoke API answering with a fixed response, or raising."""

    def __init__(self, payload: Any = None, function_error: bool = False) -> None:
        self.payload = payload
        self.function_error = function_error
        self.error: Exception | None = None
        self.requests: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(json.loads(kwargs["Payload"]))
        if self.error:
            raise self.error
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(self.payload).encode()),
            "ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": 200},
        }
        if self.function_error:
            response["FunctionError"] = "Unhandled"
        return response


def lambda_supplier(fake: FakeInvoke) -> LambdaSupplier:
    client = LambdaServiceClient("supplier", lambda_client=fake, max_attempts=1)
    return LambdaSupplier(client)


def test_lambda_supplier_sends_the_envelope_and_returns_the_answer() -> None:
    fake = FakeInvoke({"available": 3})
    assert lambda_supplier(fake).check_stock("acme", "MUG-1") == {"available": 3}
    assert fake.requests == [
        {"action": "check_stock", "version": 1, "payload": {"supplier_id": "acme", "sku": "MUG-1"}}
    ]


def test_lambda_supplier_function_error_is_a_failure() -> None:
    fake = FakeInvoke({"errorType": "SupplierUnavailable", "errorMessage": "down"}, True)
    with pytest.raises(SupplierFailed, match="down") as raised:
        lambda_supplier(fake).check_stock("acme", "MUG-1")
    assert not isinstance(raised.value, SupplierTimedOut)


def test_lambda_supplier_read_timeout_is_a_timeout() -> None:
    fake = FakeInvoke()
    fake.error = ReadTimeoutError(endpoint_url="https://lambda")
    with pytest.raises(SupplierTimedOut):
        lambda_supplier(fake).check_stock("acme", "MUG-1")


def test_lambda_supplier_makes_one_attempt_with_the_timeout_as_read_timeout() -> None:
    supplier = LambdaSupplier.for_function("supplier-fn", 2.0)
    assert supplier.client.max_attempts == 1
    assert supplier.client.read_timeout == 2.0


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, float]] = {}

    def do_GET(self) -> None:
        status, body, delay = self.routes.get(self.path, (404, b'{"message": "no"}', 0.0))
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


def route(path: str, status: int, body: bytes = b"{}", delay: float = 0.0) -> None:
    _Handler.routes[path] = (status, body, delay)


def test_http_supplier_gets_the_stock_resource(http_server: str) -> None:
    route("/api/suppliers/acme/stock/MUG-1", 200, b'{"available": 9}')
    assert HttpSupplier(http_server, 1).check_stock("acme", "MUG-1") == {"available": 9}


def test_http_supplier_5xx_is_a_failure(http_server: str) -> None:
    route("/api/suppliers/acme/stock/S500", 500)
    with pytest.raises(SupplierFailed, match="HTTP 500"):
        HttpSupplier(http_server, 1).check_stock("acme", "S500")


@pytest.mark.parametrize("status", [429, 408])
def test_http_supplier_throttling_counts_as_failure(http_server: str, status: int) -> None:
    route(f"/api/suppliers/acme/stock/S{status}", status)
    with pytest.raises(SupplierFailed):
        HttpSupplier(http_server, 1).check_stock("acme", f"S{status}")


def test_http_supplier_4xx_is_a_rejection_not_a_failure(http_server: str) -> None:
    with pytest.raises(SupplierRejected) as raised:
        HttpSupplier(http_server, 1).check_stock("acme", "UNKNOWN")
    assert raised.value.status == 404


def test_http_supplier_slower_than_the_timeout_is_a_timeout(http_server: str) -> None:
    route("/api/suppliers/acme/stock/SLOW", 200, b"{}", delay=0.5)
    with pytest.raises(SupplierTimedOut):
        HttpSupplier(http_server, 0.1).check_stock("acme", "SLOW")


def test_http_supplier_not_json_is_a_failure(http_server: str) -> None:
    route("/api/suppliers/acme/stock/HTML", 200, b"<html>")
    with pytest.raises(SupplierFailed, match="JSON"):
        HttpSupplier(http_server, 1).check_stock("acme", "HTML")


def test_http_supplier_unreachable_is_a_failure() -> None:
    with pytest.raises(SupplierFailed, match="cannot reach"):
        HttpSupplier("http://127.0.0.1:9/", 1).check_stock("acme", "MUG-1")
