"""The model for types on the no-local-effect allow-list (``registry.NO_LOCAL_EFFECT``)."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from localcloud.cloudformation.models.base import LocalResource


class NoLocalEffect(LocalResource, CloudFormationModel):
    """Accepted and recorded in the stack; nothing is emulated.

    ``Ref`` gives the generated physical name, and every ``Fn::GetAtt`` is answered with it
    too, so templates that wire these resources into others still deploy.
    """

    def __init__(self, physical_id: str, resource_type: str) -> None:
        self._init_resource(physical_id)
        self.resource_type = resource_type

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        # Registered under the allow-listed types by the registry, not under this name.
        return "LocalCloud::NoLocalEffect"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.physical_resource_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> NoLocalEffect:
        return cls(resource_name, str(kwargs.get("ResourceType", cloudformation_json["Type"])))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: NoLocalEffect,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> NoLocalEffect:
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        return None
