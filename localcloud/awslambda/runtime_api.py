"""A local Lambda Runtime API: the HTTP API ``awslambdaric`` polls for events.

One server per worker process, on 127.0.0.1 with an ephemeral port, so the address in the
worker's ``AWS_LAMBDA_RUNTIME_API`` alone says which execution environment is calling: there
is no routing and no shared state between workers. The paths and headers are AWS's
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

- ``GET  /2018-06-01/runtime/invocation/next`` blocks until there is an event;
- ``POST /2018-06-01/runtime/invocation/{id}/response`` and ``.../{id}/error``;
- ``POST /2018-06-01/runtime/init/error`` when the handler cannot even be loaded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Protocol

log = logging.getLogger("localcloud.awslambda")

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_INVOCATION_PATH = re.compile(
    rf"^{re.escape(API_PREFIX)}/invocation/(?P<request_id>[^/]+)/(?P<kind>response|error)$"
)


class NextEvent(Protocol):
    """An event handed to the runtime: its body and the ``Lambda-Runtime-*`` headers."""

    @property
    def payload(self) -> bytes: ...

    def runtime_headers(self) -> dict[str, str]: ...


class RuntimeApiBackend(Protocol):
    """The execution environment behind one Runtime API server."""

    def next_invocation(self) -> NextEvent | None:
        """Block until the next event; None when the environment is shutting down."""
        ...

    def invocation_response(self, request_id: str, body: bytes) -> bool:
        """The handler returned; False when ``request_id`` is not the current invocation."""
        ...

    def invocation_error(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        """The handler raised; False when ``request_id`` is not the current invocation."""
        ...

    def init_error(self, body: bytes, error_type: str | None) -> None:
        """The runtime could not load the handler (import error, bad handler name...)."""
        ...


class _Server(ThreadingMixIn, HTTPServer):
    # Connection threads must never keep the local cloud process alive, and closing the
    # server must not wait for a thread parked in GET /next.
    daemon_threads = True
    block_on_close = False
    backend: RuntimeApiBackend

    def handle_error(self, request: object, client_address: object) -> None:
        # A connection broken by its worker's death (timeout, crash, shutdown) is expected.
        log.debug("runtime API connection from %s ended", client_address, exc_info=True)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup that can take
        # seconds on a machine without network: loopback needs no name.
        self.socket.bind(self.server_address)
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive: awslambdaric's native client reuses one connection for next/response.
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        # Every invocation makes two requests: per-request access logs would drown the
        # local cloud's own log.
        return

    def do_GET(self) -> None:
        if self.path != f"{API_PREFIX}/invocation/next":
            self._send_json(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        event = self.server.backend.next_invocation()
        if event is None:
            # The environment is being torn down: the runtime exits on this error.
            self.close_connection = True
            self._send_json(410, {"errorType": "Runtime.Shutdown", "errorMessage": "shutdown"})
            return
        headers = {"Content-Type": "application/json", **event.runtime_headers()}
        self._send(200, event.payload, headers)

    def do_POST(self) -> None:
        body = self._read_body()
        error_type = self.headers.get(ERROR_TYPE_HEADER)
        backend = self.server.backend
        if self.path == f"{API_PREFIX}/init/error":
            backend.init_error(body, error_type)
            self._send_json(202, {"status": "OK"})
            return
        match = _INVOCATION_PATH.match(self.path)
        if match is None:
            self._send_json(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        request_id = match.group("request_id")
        if match.group("kind") == "response":
            accepted = backend.invocation_response(request_id, body)
        else:
            accepted = backend.invocation_error(request_id, body, error_type)
        if accepted:
            self._send_json(202, {"status": "OK"})
        else:
            self._send_json(
                400,
                {"errorType": "InvalidRequestID", "errorMessage": f"unknown {request_id}"},
            )

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size_line = self.rfile.readline()
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers end with an empty line.
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF closing each chunk

    def _send_json(self, status: int, body: object) -> None:
        self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        # Status line, headers and body in one write, so one TCP segment: the stdlib's
        # send_response/end_headers/write would send the body separately, which costs a
        # round of wake-ups on every event.
        reason = self.responses.get(status, ("",))[0]
        head = [f"{self.protocol_version} {status} {reason}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            self.wfile.write(data)
        except OSError:
            # The worker died (timeout kill, crash) while we answered: nothing to tell it.
            self.close_connection = True


class RuntimeApiServer:
    """Serves the Runtime API of one execution environment until :meth:`close`."""

    def __init__(self, backend: RuntimeApiBackend, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, 0), _Handler)
        self._server.backend = backend
        self.address = f"{host}:{self._server.server_port}"
        self._closed = False
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"lambda-runtime-api-{self.address}", daemon=True
        )
        self._thread.start()

    def _accept_loop(self) -> None:
        # Our own accept loop instead of serve_forever: serve_forever polls every 0.5 s,
        # which delays close() and costs wake-ups for every idle worker; a blocking accept
        # is woken at once by shutting the listening socket down.
        listener = self._server.socket
        while not self._closed:
            try:
                conn, address = listener.accept()
            except OSError:
                return
            # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold the small
            # next/response exchanges back: a warm invoke takes ~88 ms instead of ~0.3 ms.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self._server.process_request(conn, address)
            except Exception:
                log.exception("runtime API could not serve a connection")
                self._server.shutdown_request(conn)

    def close(self) -> None:
        """Stop accepting; connections still open end when their worker process dies."""
        if self._closed:
            return
        self._closed = True
        # Wakes the thread blocked in accept() (on Linux; elsewhere server_close does).
        with contextlib.suppress(OSError):
            self._server.socket.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)
