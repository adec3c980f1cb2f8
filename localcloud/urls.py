"""Map AWS URLs found in stack outputs to their address on the local cloud."""

from __future__ import annotations

import re

from localcloud.settings import EXECUTE_API_PREFIX

_EXECUTE_API_URL = re.compile(
    r"^https://(?P<api_id>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?P<rest>/.*)?$"
)


def local_execute_api_url(url: str, endpoint_url: str) -> str:
    """Return the local-cloud address of an ``execute-api`` URL; other URLs are unchanged.

    ``https://abc123.execute-api.us-east-1.amazonaws.com/Prod/items`` becomes
    ``http://127.0.0.1:4566/_aws/execute-api/abc123/Prod/items``.
    """
    match = _EXECUTE_API_URL.match(url)
    if match is None:
        return url
    rest = match.group("rest") or "/"
    return f"{endpoint_url.rstrip('/')}{EXECUTE_API_PREFIX}/{match.group('api_id')}{rest}"
