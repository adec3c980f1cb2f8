"""Read ``TemplateURL`` (and ``BodyS3Location``-style) S3 locations from moto's S3 backend.

Replaces ``moto.cloudformation.utils.get_stack_from_s3_url`` (imported by name into
``moto.cloudformation.responses`` and ``moto.cloudformation.models``). moto treats a URL as
path-style only when it contains the word ``localhost``; any other host is read as a
virtual-hosted bucket. ``sam deploy`` pointed at ``AWS_ENDPOINT_URL=http://127.0.0.1:PORT``
passes ``TemplateURL=http://127.0.0.1:PORT/<bucket>/<key>``, which moto reads as bucket ``127``
(measured, see DESIGN.md section 5). Here every S3 URL shape AWS accepts is understood, and a
URL that points at the local cloud itself (any loopback address) is read path-style.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qs, unquote, urlparse

from moto.cloudformation.exceptions import ValidationError

from localcloud.cloudformation._patching import replace

_VIRTUAL_HOSTED = re.compile(
    r"^(?P<bucket>.+)\.s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$"
)
_PATH_STYLE = re.compile(r"^s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def split_s3_url(url: str) -> tuple[str, str, str | None]:
    """Return ``(bucket, key, version_id)`` of an S3 object URL.

    Accepts ``s3://bucket/key``, path-style and virtual-hosted AWS URLs, and path-style URLs on
    the local cloud (``http://127.0.0.1:PORT/bucket/key``, ``http://localhost:PORT/...``) or
    virtual-hosted on it (``http://bucket.localhost:PORT/key``).
    """
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    path = unquote(parsed.path.lstrip("/"))
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    bucket: str
    key: str
    if parsed.scheme == "s3":
        bucket, key = host, path
    elif _is_loopback(host) or _PATH_STYLE.match(host):
        bucket, _, key = path.partition("/")
    elif host.endswith(".localhost"):
        bucket, key = host[: -len(".localhost")], path
    elif match := _VIRTUAL_HOSTED.match(host):
        bucket, key = match.group("bucket"), path
    else:
        raise ValidationError(message="TemplateURL must be a supported URL.")
    if not bucket or not key:
        raise ValidationError(message="TemplateURL must be a supported URL.")
    return bucket, key, version


def read_s3_object(url: str, account_id: str, partition: str) -> bytes:
    """The bytes of the object a URL names, read from moto's S3 backend in this process."""
    from moto.s3.exceptions import MissingBucket, MissingKey
    from moto.s3.models import s3_backends

    bucket, key, version = split_s3_url(url)
    backend = s3_backends[account_id][partition]
    try:
        obj = backend.get_object(bucket, key, version_id=version)
    except MissingBucket as exc:
        raise ValidationError(
            message=f"S3 error: The specified bucket does not exist ({bucket})"
        ) from exc
    except MissingKey as exc:
        raise ValidationError(
            message=f"S3 error: The specified key does not exist ({key})"
        ) from exc
    if obj is None:
        raise ValidationError(message=f"S3 error: The specified key does not exist ({key})")
    return bytes(obj.value)


def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    """Drop-in for ``moto.cloudformation.utils.get_stack_from_s3_url``."""
    return read_s3_object(template_url, account_id, partition).decode("utf-8")


def install() -> None:
    """Route every moto caller of ``get_stack_from_s3_url`` through :func:`read_s3_object`."""
    import moto.cloudformation.models as cfn_models
    import moto.cloudformation.responses as cfn_responses
    import moto.cloudformation.utils as cfn_utils

    for module in (cfn_utils, cfn_models, cfn_responses):
        replace(
            module,
            "get_stack_from_s3_url",
            get_stack_from_s3_url,
            "TemplateURL on 127.0.0.1 was read as bucket '127'",
        )
