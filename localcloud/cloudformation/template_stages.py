"""GetTemplate with ``TemplateStage`` and ``ChangeSetName``.

Replaces ``moto.cloudformation.responses.CloudFormationResponse.get_template``, which ignores
both parameters and returns whatever moto stored. The local cloud stores the processed
(transformed) template for moto and keeps the caller's text beside it: ``Original`` returns
that text (``sam delete`` reads it to find the artifacts it uploaded); ``Processed``, the
default, returns the template after the SAM transform. A template without a transform is the
same in both stages, so the caller's text is returned unchanged.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

from localcloud.cloudformation._patching import replace


def _body(target: Any, stage: str | None) -> Any:
    original = getattr(target, "localcloud_original_template", None)
    if original is not None and (stage == "Original" or not target.localcloud_transformed):
        return original
    return target.template


def get_template(self: CloudFormationResponse) -> ActionResult:
    name_or_stack_id = self._get_param("StackName")
    stage = self._get_param("TemplateStage")
    change_set_name = self._get_param("ChangeSetName")
    target: Any
    if change_set_name:
        target = self.cloudformation_backend.describe_change_set(change_set_name)
    else:
        target = self.cloudformation_backend.get_stack(name_or_stack_id)
    return ActionResult(
        {"TemplateBody": _body(target, stage), "StagesAvailable": ["Original", "Processed"]}
    )


def install() -> None:
    replace(
        CloudFormationResponse,
        "get_template",
        get_template,
        "TemplateStage=Original must return the submitted template",
    )
