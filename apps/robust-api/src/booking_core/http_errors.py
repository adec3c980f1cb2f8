"""The API's status codes the common layer has no class for (its handlers render them)."""

from __future__ import annotations

from common_layer.http import ApiError


class Unprocessable(ApiError):
    """Well-formed, but a business rule refuses it (422)."""

    status_code = 422


class BadGateway(ApiError):
    """A service this API depends on failed (502)."""

    status_code = 502


class ServiceUnavailable(ApiError):
    """A service this API depends on cannot answer now (503, with Retry-After)."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
