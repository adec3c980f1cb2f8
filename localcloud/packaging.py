"""Package a built SAM template for the local cloud: zip, upload, rewrite the artifact URIs.

What ``sam package`` does, without its dependence on real S3: every local path a template
points at (function code, layer content, API and state machine definitions) is uploaded to a
bucket in the local cloud's S3 under a key derived from its content, and the template is
rewritten to point at it. Zips are deterministic (sorted entries, fixed timestamps and
modes), so unchanged code gives the same key, the same template, and an update with nothing
to do.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# A fixed timestamp for every zip entry (the earliest a zip can hold).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_directory(folder: Path) -> bytes:
    """A deterministic zip of ``folder``'s files: same tree and contents, same bytes.

    Entries are sorted, dated 1980-01-01, and keep only whether the file is executable
    (0755 or 0644), so neither the checkout time nor the umask changes the archive.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for root, dirs, files in os.walk(folder, followlinks=True):
            dirs.sort()
            for name in sorted(files):
                path = Path(root, name)
                relative = path.relative_to(folder).as_posix()
                info = zipfile.ZipInfo(relative, date_time=_ZIP_EPOCH)
                executable = os.stat(path).st_mode & stat.S_IXUSR
                info.external_attr = (0o100755 if executable else 0o100644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so the modes above are honoured when extracted
                archive.writestr(info, path.read_bytes(), compresslevel=6)
    return buffer.getvalue()


@dataclass(frozen=True)
class Artifact:
    """Something uploaded for a template."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class Uploader(Protocol):
    """Stores an artifact under a key derived from ``digest`` unless it is already there.

    ``produce`` makes the bytes; it is only called when they must be uploaded, so an
    unchanged folder is never zipped again.
    """

    def __call__(self, digest: str, suffix: str, produce: Callable[[], bytes]) -> Artifact: ...


def tree_digest(folder: Path) -> str:
    """SHA-256 over a folder's file paths, executable bits and contents.

    Two folders with the same digest give the same :func:`zip_directory` bytes, and hashing
    is much cheaper than compressing, so the digest names the artifact.
    """
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            executable = bool(os.stat(path).st_mode & stat.S_IXUSR)
            digest.update(f"{path.relative_to(folder).as_posix()}\0{executable}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class PackagingError(RuntimeError):
    """A template points at something the local cloud cannot package."""


# (resource type, property path, how to package, how to write the location back)
#   zip: a folder (or a file, taken as an already built zip) -> zip
#   file: a file uploaded as it is (API / state machine definitions)
#   uri: the location is written back as "s3://bucket/key"
#   code: {"S3Bucket", "S3Key"}   location: {"Bucket", "Key"}
_ARTIFACT_PROPERTIES: tuple[tuple[str, str, str, str], ...] = (
    ("AWS::Serverless::Function", "CodeUri", "zip", "uri"),
    ("AWS::Serverless::LayerVersion", "ContentUri", "zip", "uri"),
    ("AWS::Serverless::Api", "DefinitionUri", "file", "uri"),
    ("AWS::Serverless::HttpApi", "DefinitionUri", "file", "uri"),
    ("AWS::Serverless::StateMachine", "DefinitionUri", "file", "uri"),
    ("AWS::Serverless::GraphQLApi", "SchemaUri", "file", "uri"),
    ("AWS::Lambda::Function", "Code", "zip", "code"),
    ("AWS::Lambda::LayerVersion", "Content", "zip", "code"),
    ("AWS::ApiGateway::RestApi", "BodyS3Location", "file", "location"),
    ("AWS::ApiGatewayV2::Api", "BodyS3Location", "file", "location"),
    ("AWS::StepFunctions::StateMachine", "DefinitionS3Location", "file", "location"),
)


def _is_local_path(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(("s3://", "https://", "http://"))


def _package_path(path: Path, kind: str, upload: Uploader) -> Artifact:
    if not path.exists():
        raise PackagingError(f"{path} does not exist (was `sam build` run?)")
    if kind == "zip" and path.is_dir():
        return upload(tree_digest(path), ".zip", lambda: zip_directory(path))
    data = path.read_bytes()
    return upload(hashlib.sha256(data).hexdigest(), path.suffix or ".bin", lambda: data)


def _written_back(artifact: Artifact, style: str) -> Any:
    if style == "uri":
        return artifact.uri
    if style == "code":
        return {"S3Bucket": artifact.bucket, "S3Key": artifact.key}
    return {"Bucket": artifact.bucket, "Key": artifact.key}


def package_template(template: dict[str, Any], base_dir: Path, upload: Uploader) -> dict[str, Any]:
    """A copy of ``template`` with every local artifact path replaced by its S3 location.

    Paths are relative to ``base_dir`` (the built template's folder). A function in
    ``Globals`` can carry ``CodeUri`` too; it is packaged the same way.
    """
    packaged = copy.deepcopy(template)
    cache: dict[tuple[Path, str], Artifact] = {}

    def package(value: Any, kind: str) -> Artifact:
        path = (base_dir / value).resolve()
        if (path, kind) not in cache:
            cache[(path, kind)] = _package_path(path, kind, upload)
        return cache[(path, kind)]

    globals_function = (packaged.get("Globals") or {}).get("Function") or {}
    if _is_local_path(globals_function.get("CodeUri")):
        globals_function["CodeUri"] = package(globals_function["CodeUri"], "zip").uri

    for logical_id, resource in (packaged.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        resource_type = resource.get("Type")
        properties = resource.get("Properties")
        if resource_type == "AWS::Serverless::Application":
            location = (properties or {}).get("Location")
            if _is_local_path(location):
                raise PackagingError(
                    f"{logical_id}: a nested application with a local Location is not "
                    "supported by the local deploy; deploy it with `sam deploy`"
                )
        if not isinstance(properties, dict):
            continue
        for artifact_type, name, kind, style in _ARTIFACT_PROPERTIES:
            if resource_type != artifact_type or not _is_local_path(properties.get(name)):
                continue
            properties[name] = _written_back(package(properties[name], kind), style)
    return packaged


def content_key(digest: str, prefix: str, suffix: str) -> str:
    """The S3 key of an artifact named by its content digest: equal content is stored once."""
    return f"{prefix.strip('/')}/{digest}{suffix}" if prefix else f"{digest}{suffix}"
