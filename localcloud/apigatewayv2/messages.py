"""The HTTP request and response as the HTTP API data plane sees them, free of WSGI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus


@dataclass(frozen=True)
class HttpRequest:
    """One client request to an HTTP API, with the API id taken off the path.

    ``path`` is everything after the API id, stage segment included (the stage is only known
    once the API's stages are), decoded; ``raw_path`` is the same still percent-encoded.
    """

    method: str
    path: str
    raw_path: str
    query_string: str = ""
    # In arrival order, repeated names repeated: the events need every value.
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """All values of a header joined with commas (RFC 9110), matched case-insensitively."""
        values = self.header_values(name)
        return ",".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


def error_response(status: int, message: str | None = None) -> HttpResponse:
    """An answer HTTP APIs produce themselves: ``{"message": "<reason phrase>"}``."""
    text = message if message is not None else HTTPStatus(status).phrase
    return HttpResponse(
        status, [("Content-Type", "application/json")], json.dumps({"message": text}).encode()
    )
