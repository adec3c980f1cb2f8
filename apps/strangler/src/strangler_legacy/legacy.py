"""How the stand-in legacy system answers a request: a small catalogue, and an echo.

It plays the part of an old monolith the strangler façade sits in front of. It knows a
few collections (``/orders``, ``/invoices``, ``/customers``, ``/products``) and one item
below each, answers anything else with its own 404, and always echoes what it received
(method, path, query string, body, content type) so a caller can check that the façade
forwarded the request unchanged. It keeps no state: records are made up from the path.
Nothing here knows about Lambda or API Gateway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SERVED_BY = "legacy"
COLLECTIONS = ("orders", "invoices", "customers", "products")


@dataclass(frozen=True)
class LegacyRequest:
    """An HTTP request as the legacy system received it."""

    method: str
    path: str
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    body: str | None = None
    content_type: str | None = None

    def echo(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": {name: list(values) for name, values in self.query.items()},
            "body": self.body,
            "content_type": self.content_type,
        }


@dataclass(frozen=True)
class LegacyAnswer:
    status: int
    body: dict[str, Any]


def answer(request: LegacyRequest) -> LegacyAnswer:
    """The legacy system's answer to ``request``: 200/201 on a known resource, else 404."""
    segments = [segment for segment in request.path.split("/") if segment]
    echo = request.echo()
    if not segments:
        return LegacyAnswer(
            200, {"served_by": SERVED_BY, "collections": list(COLLECTIONS), "request": echo}
        )
    collection = segments[0]
    if collection not in COLLECTIONS or len(segments) > 2:
        return LegacyAnswer(
            404,
            {
                "served_by": SERVED_BY,
                "message": f"legacy system has no resource {request.path}",
                "request": echo,
            },
        )
    if len(segments) == 1:
        status = 201 if request.method.upper() == "POST" else 200
        return LegacyAnswer(status, {"served_by": SERVED_BY, collection: [], "request": echo})
    record = {"id": segments[1], "kind": collection.removesuffix("s"), "source": "legacy"}
    return LegacyAnswer(200, {"served_by": SERVED_BY, "record": record, "request": echo})
