"""Map AWS URLs found in stack outputs to their address on the local cloud."""

from __future__ import annotations

import re

from localcloud.settings import EXECUTE_API_PREFIX

# The host name of a REST or HTTP API's default endpoint.
EXECUTE_API_HOST = r"(?P<api_id>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
_EXECUTE_API_URL = re.compile(rf"https://{EXECUTE_API_HOST}(?P<rest>/[^\s'\"]*)?")


def local_execute_api_url(text: str, endpoint_url: str) -> str:
    """Replace every ``execute-api`` URL in ``text`` by its local-cloud address.

    ``https://abc123.execute-api.us-east-1.amazonaws.com/Prod/items`` becomes
    ``http://127.0.0.1:4566/_aws/execute-api/abc123/Prod/items``; the rest of ``text`` (say,
    a ready-to-paste ``curl`` command around the URL) is unchanged.
    """
    base = endpoint_url.rstrip("/") + EXECUTE_API_PREFIX

    def _local(match: re.Match[str]) -> str:
        return f"{base}/{match.group('api_id')}{match.group('rest') or '/'}"

    return _EXECUTE_API_URL.sub(_local, text)
