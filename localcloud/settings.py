"""Settings shared by every part of the local cloud running in one server process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account
EXECUTE_API_PREFIX = "/_aws/execute-api"
ADMIN_PREFIX = "/_localcloud"


@dataclass(frozen=True)
class CloudSettings:
    """Where the local cloud listens and keeps its working files."""

    endpoint_url: str
    state_dir: Path
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    # The loopback port of API Gateway's HTTPS address for functions (0: none), see
    # localcloud.apigateway.https_endpoint.
    execute_api_https_port: int = 0

    @property
    def tls_dir(self) -> Path:
        """Where the local certificate authority and the HTTPS certificate are kept."""
        return self.state_dir / "tls"

    @property
    def port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[1])
