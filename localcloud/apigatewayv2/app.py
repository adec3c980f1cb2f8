"""The WSGI face of the HTTP API data plane, and the dispatch between HTTP and REST APIs.

Both kinds of API share the URL ``/_aws/execute-api/{api_id}/...`` (``localcloud.urls`` maps
stack outputs onto it); :class:`ExecuteApiDispatch` sends a request to the HTTP API data
plane when ``api_id`` names an HTTP API, to the REST one otherwise. An HTTP API's ``$default``
stage has no stage segment: ``/_aws/execute-api/{api_id}/items``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from localcloud.apigateway.lambda_invoker import LambdaInvoker, MotoLambdaInvoker
from localcloud.apigatewayv2.gateway import MAX_REQUEST_BODY_BYTES, HttpApiGateway
from localcloud.apigatewayv2.jwt_authorizer import FetchJson, local_fetcher
from localcloud.apigatewayv2.messages import HttpRequest, HttpResponse, error_response
from localcloud.apigatewayv2.model import HttpApiCatalog
from localcloud.apigatewayv2.moto_catalog import MotoHttpApiCatalog
from localcloud.settings import EXECUTE_API_PREFIX, CloudSettings

log = logging.getLogger("localcloud.apigatewayv2")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_CHUNK = 64 * 1024


def _wsgi_text(value: str) -> str:
    # WSGI hands bytes over as latin-1 text (PEP 3333); clients send UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _raw_target(environ: dict[str, Any]) -> str:
    """The request path still percent-encoded, so that %2F stays inside its segment."""
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
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        headers.append(("-".join(p.capitalize() for p in name.split("_")), _wsgi_text(value)))
    return tuple(headers)


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of the body; the rest is read and dropped."""
    stream = environ.get("wsgi.input")
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    chunked = bool(environ.get("wsgi.input_terminated"))
    if stream is None or (not length.isdigit() and not chunked):
        return b""
    remaining = int(length) if length.isdigit() else None
    kept = bytearray()
    while remaining is None or remaining > 0:
        chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        if len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
    return bytes(kept)


def api_id_of(path: str) -> str:
    rest = path[len(EXECUTE_API_PREFIX) + 1 :] if path.startswith(EXECUTE_API_PREFIX + "/") else ""
    return unquote(rest.split("/", 1)[0])


def request_from_environ(environ: dict[str, Any]) -> tuple[str, HttpRequest]:
    target = _raw_target(environ)
    rest = target[len(EXECUTE_API_PREFIX) + 1 :]
    api_id, _, raw_path = rest.partition("/")
    raw_path = "/" + raw_path
    request = HttpRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        path=unquote(raw_path),
        raw_path=raw_path,
        query_string=_wsgi_text(environ.get("QUERY_STRING", "")),
        headers=_headers(environ),
        body=_read_body(environ, MAX_REQUEST_BODY_BYTES),
        source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
        protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.1",
    )
    return unquote(api_id), request


def send(response: HttpResponse, method: str, start_response: Callable[..., Any]) -> list[bytes]:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(response.body))))
    start_response(f"{response.status} {reason}", headers)
    # A response to HEAD has the headers of the GET but no body (RFC 9110).
    return [] if method == "HEAD" else [response.body]


class HttpApiApp:
    """WSGI app serving HTTP APIs under ``/_aws/execute-api/{api_id}/...``.

    ``catalog``, ``invoker`` and ``fetch_json`` default to moto's control plane, its Lambda
    backend and the issuer fetcher of :mod:`.jwt_authorizer`; tests inject their own.
    """

    def __init__(
        self,
        settings: CloudSettings,
        *,
        catalog: HttpApiCatalog | None = None,
        invoker: LambdaInvoker | None = None,
        fetch_json: FetchJson | None = None,
    ) -> None:
        port = settings.endpoint_url.rsplit(":", 1)[-1].strip("/")
        self.gateway = HttpApiGateway(
            catalog or MotoHttpApiCatalog(settings.account_id, settings.region),
            invoker or MotoLambdaInvoker(),
            fetch_json or local_fetcher(settings.endpoint_url),
            forwarded_port=port if port.isdigit() else "443",
            forwarded_proto=settings.endpoint_url.split("://", 1)[0],
        )

    def handles(self, api_id: str) -> bool:
        return self.gateway.handles(api_id)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        api_id, request = request_from_environ(environ)
        try:
            response = self.gateway.handle(api_id, request)
        except Exception:
            # A bug of the local cloud: answer as API Gateway would, keep the trace in the log.
            log.exception("HTTP API data plane failed on %s %s", request.method, request.path)
            response = error_response(500, "Internal Server Error")
        return send(response, request.method, start_response)


class ExecuteApiDispatch:
    """``/_aws/execute-api/{api_id}/...``: HTTP APIs here, everything else to ``rest_app``."""

    def __init__(self, rest_app: WsgiApp, http_app: HttpApiApp) -> None:
        self._rest = rest_app
        self._http = http_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self._http.handles(api_id_of(str(environ.get("PATH_INFO", "")))):
            return self._http(environ, start_response)
        return self._rest(environ, start_response)
