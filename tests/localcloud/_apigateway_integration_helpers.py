"""Helpers for the tests of HTTP, HTTP_PROXY and AWS integrations.

- :class:`Backend`: a tiny HTTP server on 127.0.0.1 (``http.server`` in a thread) that records
  each request and answers with :attr:`Backend.answer` (status, headers, body, delay).
- :func:`create_api`: a REST API built with the real control-plane calls, one method per
  ``(path, HTTP method)`` with the integration and integration responses given, deployed.
- :func:`execute_url`: the local cloud's URL of a path of a deployed stage.
- fixtures ``backend`` (a :class:`Backend`, closed after the test) and ``apigw`` (the control
  plane client; APIs a test creates are deleted after it): import ``backend_fixture`` and
  ``apigw_fixture`` into the test module.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from localcloud.settings import EXECUTE_API_PREFIX


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    delay: float = 0.0


class Backend:
    """An HTTP endpoint for integrations to call."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.answer = Answer()
        self.release = threading.Event()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                backend.requests.append(
                    Recorded(self.command, self.path, dict(self.headers.items()), body)
                )
                answer = backend.answer
                if answer.delay:
                    # Hold the answer (without sleeping the test): released at teardown.
                    backend.release.wait(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="backend")
def backend_fixture() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.close()


@pytest.fixture(name="apigw")
def apigw_fixture(aws: Any) -> Iterator[Any]:
    """The control plane; APIs a test creates are deleted after it."""
    client = aws("apigateway")
    before = {item["id"] for item in client.get_rest_apis()["items"]}
    yield client
    for item in client.get_rest_apis()["items"]:
        if item["id"] not in before:
            client.delete_rest_api(restApiId=item["id"])


def create_api(
    apigw: Any,
    routes: dict[tuple[str, str], dict[str, Any]],
    *,
    stage: str = "Prod",
    variables: dict[str, str] | None = None,
) -> str:
    """A deployed REST API; each route's spec holds ``integration`` (PutIntegration arguments
    without the ids) and ``responses`` (PutIntegrationResponse arguments without the ids)."""
    api_id = apigw.create_rest_api(name="integration-test-api")["id"]
    ids = {"/": apigw.get_resources(restApiId=api_id)["items"][0]["id"]}

    def resource_id(path: str) -> str:
        if path not in ids:
            parent, _, part = path.rpartition("/")
            ids[path] = apigw.create_resource(
                restApiId=api_id, parentId=resource_id(parent or "/"), pathPart=part
            )["id"]
        return ids[path]

    for (path, method), spec in routes.items():
        rid = resource_id(path)
        apigw.put_method(
            restApiId=api_id, resourceId=rid, httpMethod=method, authorizationType="NONE"
        )
        apigw.put_integration(
            restApiId=api_id, resourceId=rid, httpMethod=method, **spec["integration"]
        )
        for response in spec.get("responses", []):
            apigw.put_method_response(
                restApiId=api_id,
                resourceId=rid,
                httpMethod=method,
                statusCode=response["statusCode"],
            )
            apigw.put_integration_response(
                restApiId=api_id, resourceId=rid, httpMethod=method, **response
            )
    apigw.create_deployment(restApiId=api_id, stageName=stage, variables=variables or {})
    return api_id


def execute_url(endpoint_url: str, api_id: str, path: str, stage: str = "Prod") -> str:
    return f"{endpoint_url}{EXECUTE_API_PREFIX}/{api_id}/{stage}{path}"
