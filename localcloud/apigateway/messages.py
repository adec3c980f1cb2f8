"""The HTTP request and response as the gateway sees them, free of WSGI and of moto.

The WSGI glue turns a server request into an :class:`HttpRequest`; everything else (routing,
the proxy event, the response mapping) works on these plain values, so it can be tested
without a server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HttpRequest:
    """One client request to ``/{stage}/{path}``, with the stage already taken off."""

    method: str
    # Decoded path after the stage, always starting with "/" (what the event's ``path`` holds).
    path: str
    # Decoded segments of that path. Kept apart from ``path`` because a segment may hold an
    # encoded "/" (%2F) that must not split it when matching resources.
    segments: tuple[str, ...]
    query_string: str = ""
    # In arrival order, repeated names repeated: the event needs every value of a header.
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The last value of a header, matched case-insensitively as HTTP requires."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass
class HttpResponse:
    """What goes back to the client."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def gateway_error(status: int, message: str, error_type: str | None = None) -> HttpResponse:
    """An error API Gateway produces itself: a JSON ``{"message": ...}`` body.

    ``error_type`` fills ``x-amzn-ErrorType``, which AWS sets on its own error responses so a
    client can tell e.g. a missing route from a denied call.
    """
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return HttpResponse(status, headers, json.dumps({"message": message}).encode())
