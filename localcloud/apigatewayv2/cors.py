"""CORS of HTTP APIs (API Gateway developer guide, "Configure CORS for HTTP APIs").

With a CORS configuration on the API:
- API Gateway answers preflight requests itself (``OPTIONS`` with ``Origin`` and
  ``Access-Control-Request-Method``), even when no route matches and before any authorizer:
  204 with the allowed origin, methods, headers, max age and credentials flag. An origin that
  is not allowed gets the 204 without CORS headers.
- It adds ``Access-Control-Allow-Origin`` (and ``-Expose-Headers``, ``-Allow-Credentials``) to
  the integration's responses to an allowed origin, and ignores the CORS headers the
  integration returned.
"""

from __future__ import annotations

from localcloud.apigatewayv2.messages import HttpRequest, HttpResponse
from localcloud.apigatewayv2.model import CorsSpec


def is_preflight(request: HttpRequest) -> bool:
    return (
        request.method == "OPTIONS"
        and request.header("Origin") is not None
        and request.header("Access-Control-Request-Method") is not None
    )


def _allowed_origin(cors: CorsSpec, origin: str | None) -> str | None:
    if not origin:
        return None
    if origin in cors.allow_origins:
        return origin
    if "*" in cors.allow_origins:
        # A credentialed answer cannot say "*" (Fetch standard): echo the origin instead.
        return origin if cors.allow_credentials else "*"
    return None


def preflight_response(cors: CorsSpec, request: HttpRequest) -> HttpResponse:
    response = HttpResponse(204)
    origin = _allowed_origin(cors, request.header("Origin"))
    if origin is None:
        return response
    headers = response.headers
    headers.append(("Access-Control-Allow-Origin", origin))
    if cors.allow_methods:
        headers.append(("Access-Control-Allow-Methods", ",".join(cors.allow_methods)))
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return response


def apply_cors(cors: CorsSpec, request: HttpRequest, response: HttpResponse) -> None:
    """Replace the integration's CORS headers by the API's own."""
    response.headers = [
        (k, v) for k, v in response.headers if not k.lower().startswith("access-control-")
    ]
    origin = _allowed_origin(cors, request.header("Origin"))
    if origin is None:
        return
    response.headers.append(("Access-Control-Allow-Origin", origin))
    if cors.expose_headers:
        response.headers.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    if cors.allow_credentials:
        response.headers.append(("Access-Control-Allow-Credentials", "true"))
