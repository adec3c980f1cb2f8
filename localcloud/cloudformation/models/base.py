"""What the local cloud's CloudFormation models share.

Each model is a *direct* subclass of moto's ``CloudFormationModel`` (moto lists models with
``CloudFormationModel.__subclasses__()``, which sees direct subclasses only) and lives in this
dotted package (moto's instance tracker files a model under ``__module__.split(".")[1]``).
The shared behaviour comes from :class:`LocalResource`, a plain mixin.

A model instance is the stack's handle on a resource that lives in a moto backend: it knows
its physical id (what ``Ref`` returns), its ``Fn::GetAtt`` attributes, and how to delete it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

from localcloud.cloudformation.template_urls import read_s3_object


class LocalResource:
    """Mixin for local models: physical id, attributes, deletion, replacement rules."""

    # Fn::GetAtt attributes this type supports, per the CloudFormation reference.
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()
    # Properties whose change makes CloudFormation replace the resource.
    REPLACEMENT_PROPERTIES: ClassVar[frozenset[str]] = frozenset()
    # False when the name property does not identify one resource (a layer's versions share it).
    NAME_IS_UNIQUE: ClassVar[bool] = True

    physical_resource_id: str
    attributes: dict[str, Any]

    def _init_resource(self, physical_id: str, **attributes: Any) -> None:
        self.physical_resource_id = physical_id
        self.attributes = dict(attributes)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.ATTRIBUTES and attribute_name in self.attributes:
            return self.attributes[attribute_name]
        raise UnformattedGetAttTemplateException()

    @classmethod
    def requires_replacement(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        return any(old.get(name) != new.get(name) for name in cls.REPLACEMENT_PROPERTIES)

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove(account_id, region_name)

    def remove(self, account_id: str, region_name: str) -> None:
        """Delete the backend resource; a resource already gone counts as deleted."""
        raise NotImplementedError

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        # The engine deletes through the instance (``delete``); this is never the way in.
        return None


def tags_dict(tags: Any) -> dict[str, str]:
    """CloudFormation ``[{Key, Value}]`` tags (or an already-flat map) as a dict."""
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tags or []}


def as_bool(value: Any, default: bool = False) -> bool:
    """CloudFormation booleans arrive as bools or as the strings "true"/"false"."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def read_s3_location(
    bucket: str, key: str, version: str | None, account_id: str, partition: str = "aws"
) -> bytes:
    """Bytes of an object in moto's S3, with the error Lambda and CloudFormation give."""
    url = f"s3://{bucket}/{key}" + (f"?versionId={version}" if version else "")
    try:
        return read_s3_object(url, account_id, partition)
    except Exception as exc:
        raise ValueError(
            "InvalidParameterValueException",
            f"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: "
            f"The specified key does not exist. (s3://{bucket}/{key})",
        ) from exc


def parse_document(raw: Any) -> dict[str, Any]:
    """A JSON or YAML document (an OpenAPI body from S3) as a dict."""
    from localcloud.cloudformation.templates import parse_template

    if isinstance(raw, dict):
        return raw
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    return parse_template(text)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def dumps(value: Any) -> str:
    """Policies and similar documents: CloudFormation takes objects, the APIs take JSON text."""
    return value if isinstance(value, str) else json.dumps(value)
