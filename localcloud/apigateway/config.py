"""Limits of the API Gateway data plane: the AWS values, overridable for tests.

The defaults are the REST API quotas that apps must respect on AWS. Tests lower them through
environment variables instead of waiting 29 s or uploading 10 MB; the variables are read on
every request, so a test can change them while a shared local cloud keeps running.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# REST APIs stop waiting for an integration after 29 s and answer 504 (API Gateway quotas).
INTEGRATION_TIMEOUT_SECONDS = 29.0
# REST APIs refuse request payloads over 10 MB with 413 (API Gateway quotas).
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024

TIMEOUT_ENV = "LOCALCLOUD_INTEGRATION_TIMEOUT_SECONDS"
MAX_BODY_ENV = "LOCALCLOUD_MAX_REQUEST_BODY_BYTES"


@dataclass(frozen=True)
class GatewayLimits:
    """The limits one request is held to."""

    integration_timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS
    max_request_body_bytes: int = MAX_REQUEST_BODY_BYTES

    @classmethod
    def from_env(cls) -> GatewayLimits:
        """The AWS defaults, unless a test lowered them through the environment."""
        timeout = os.environ.get(TIMEOUT_ENV)
        max_body = os.environ.get(MAX_BODY_ENV)
        return cls(
            integration_timeout_seconds=float(timeout) if timeout else INTEGRATION_TIMEOUT_SECONDS,
            max_request_body_bytes=int(max_body) if max_body else MAX_REQUEST_BODY_BYTES,
        )
