"""The WSGI face of the data plane: ``/_aws/execute-api/{api_id}/{stage}/{path...}``.

This module only translates between WSGI and :class:`~.messages.HttpRequest` /
:class:`~.messages.HttpResponse`; every API Gateway rule lives in :mod:`.gateway` and below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from localcloud.apigateway.config import GatewayLimits
from localcloud.apigateway.gateway import Gateway
from localcloud.apigateway.lambda_invoker import LambdaInvoker, MotoLambdaInvoker
from localcloud.apigateway.messages import HttpRequest, HttpResponse, gateway_error
from localcloud.apigateway.model import ApiCatalog
from localcloud.apigateway.moto_catalog import MotoApiCatalog
from localcloud.apigateway.routing import split_stage_path
from localcloud.settings import EXECUTE_API_PREFIX, CloudSettings

log = logging.getLogger("localcloud.apigateway")

_CHUNK = 64 * 1024


def _wsgi_text(value: str) -> str:
    # WSGI hands over bytes as latin-1 text (PEP 3333); clients send UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _raw_path(environ: dict[str, Any]) -> str:
    """The request path still percent-encoded, so an encoded "/" does not split a segment."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if "://" in path:  # absolute-form request target
            path = urlsplit(path).path
        if path.startswith(EXECUTE_API_PREFIX + "/"):
            return _wsgi_text(path)
    return _wsgi_text(environ.get("PATH_INFO", ""))


def _headers(environ: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key
        else:
            continue
        # WSGI keeps no original spelling: rebuild the canonical one (Content-Type).
        headers.append(("-".join(p.capitalize() for p in name.split("_")), _wsgi_text(value)))
    return tuple(headers)


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of the body; the rest is read and dropped.

    Reading one byte past the limit is enough to know the request is too long, and draining
    the rest keeps the connection usable for the client's next request.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length_text = environ.get("CONTENT_LENGTH") or ""
    chunked = bool(environ.get("wsgi.input_terminated"))
    if not length_text.strip().isdigit() and not chunked:
        return b""
    remaining = int(length_text) if length_text.strip().isdigit() else None
    kept = bytearray()
    while remaining is None or remaining > 0:
        size = _CHUNK if remaining is None else min(_CHUNK, remaining)
        chunk = stream.read(size)
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        if len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
    return bytes(kept)


def request_from_environ(
    environ: dict[str, Any], limit: int
) -> tuple[str, str | None, HttpRequest]:
    """``(api_id, stage or None, request)`` of a WSGI request under the execute-api prefix."""
    raw_path = _raw_path(environ)
    rest = (
        raw_path[len(EXECUTE_API_PREFIX) + 1 :] if raw_path.startswith(EXECUTE_API_PREFIX) else ""
    )
    api_id, _, stage_and_path = rest.partition("/")
    stage, path, segments = split_stage_path(stage_and_path)
    request = HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=path,
        segments=segments,
        query_string=_wsgi_text(environ.get("QUERY_STRING", "")),
        headers=_headers(environ),
        body=read_body(environ, limit),
        source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
        protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.1",
    )
    return unquote(api_id), stage, request


class ExecuteApiApp:
    """WSGI app serving deployed REST APIs; mount it at ``/_aws/execute-api``.

    ``catalog`` and ``invoker`` default to moto's control plane and Lambda backend in this
    process; tests inject their own. ``limits`` is read per request (see :mod:`.config`).
    """

    def __init__(
        self,
        settings: CloudSettings,
        *,
        catalog: ApiCatalog | None = None,
        invoker: LambdaInvoker | None = None,
        limits: Callable[[], GatewayLimits] = GatewayLimits.from_env,
    ) -> None:
        self._limits = limits
        port = settings.endpoint_url.rsplit(":", 1)[-1].strip("/")
        self.gateway = Gateway(
            catalog or MotoApiCatalog(settings.account_id, settings.region),
            invoker or MotoLambdaInvoker(),
            forwarded_port=port if port.isdigit() else "443",
            forwarded_proto=settings.endpoint_url.split("://", 1)[0],
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        limits = self._limits()
        api_id, stage, request = request_from_environ(environ, limits.max_request_body_bytes)
        try:
            response = self.gateway.handle(api_id, stage, request, limits)
        except Exception:
            # A bug of the local cloud: answer as API Gateway would, keep the trace in the log.
            log.exception("API Gateway data plane failed on %s %s", request.method, request.path)
            response = gateway_error(500, "Internal server error", "InternalServerErrorException")
        return self._send(response, request, start_response)

    @staticmethod
    def _send(
        response: HttpResponse, request: HttpRequest, start_response: Callable[..., Any]
    ) -> list[bytes]:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {reason}", headers)
        # A response to HEAD has the headers of the GET but no body (RFC 9110).
        return [] if request.method == "HEAD" else [response.body]
