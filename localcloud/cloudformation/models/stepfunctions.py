"""``AWS::StepFunctions::StateMachine``, in the backend the Step Functions API serves.

moto's model reads only ``DefinitionString`` (SAM's state machines carry ``Definition``,
``DefinitionS3Location`` and ``DefinitionSubstitutions``) and always writes to the plain
backend, while the API serves the interpreter backend once state machines really execute
(``POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}``, DESIGN.md
section 5): a state machine made by a stack was then invisible to StartExecution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.stepfunctions.responses import get_backend
from moto.utilities.utils import get_partition

from localcloud.cloudformation.models.base import LocalResource, read_s3_location, tags_dict
from localcloud.cloudformation.registry import register

_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def definition(properties: Mapping[str, Any], account_id: str, region_name: str) -> str:
    """The state machine's ASL text, with ``DefinitionSubstitutions`` applied."""
    if properties.get("DefinitionString") is not None:
        text = str(properties["DefinitionString"])
    elif properties.get("Definition") is not None:
        text = json.dumps(properties["Definition"])
    elif properties.get("DefinitionS3Location"):
        location = properties["DefinitionS3Location"]
        raw = read_s3_location(
            str(location["Bucket"]),
            str(location["Key"]),
            location.get("Version"),
            account_id,
            get_partition(region_name),
        )
        text = raw.decode("utf-8")
    else:
        raise ValueError("ValidationException", "a state machine needs a definition")
    substitutions = {
        str(k): str(v) for k, v in (properties.get("DefinitionSubstitutions") or {}).items()
    }
    # Only declared keys are replaced, as Step Functions leaves other ${...} untouched.
    return _SUBSTITUTION.sub(lambda m: substitutions.get(m.group(1), m.group(0)), text)


@register
class StateMachineModel(LocalResource, CloudFormationModel):
    """``Ref`` is the state machine ARN; ``Fn::GetAtt`` Name and Arn."""

    ATTRIBUTES = frozenset({"Arn", "Name", "StateMachineRevisionId"})
    REPLACEMENT_PROPERTIES = frozenset({"StateMachineName", "StateMachineType"})

    def __init__(self, arn: str, name: str) -> None:
        self._init_resource(arn, Arn=arn, Name=name, StateMachineRevisionId="1")

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StateMachineName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::StepFunctions::StateMachine"

    @staticmethod
    def _configuration(properties: Mapping[str, Any]) -> dict[str, Any]:
        def lower_first(value: Any) -> Any:
            if isinstance(value, dict):
                return {k[:1].lower() + k[1:]: lower_first(v) for k, v in value.items()}
            if isinstance(value, list):
                return [lower_first(v) for v in value]
            return value

        return {
            "loggingConfiguration": lower_first(properties.get("LoggingConfiguration")),
            "tracingConfiguration": lower_first(properties.get("TracingConfiguration")),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> StateMachineModel:
        properties = cloudformation_json["Properties"]
        config = cls._configuration(properties)
        machine = get_backend(account_id, region_name).create_state_machine(
            name=resource_name,
            definition=definition(properties, account_id, region_name),
            roleArn=str(properties.get("RoleArn", "")),
            tags=[{"key": k, "value": v} for k, v in tags_dict(properties.get("Tags")).items()],
            loggingConfiguration=config["loggingConfiguration"],
            tracingConfiguration=config["tracingConfiguration"],
            sm_type=properties.get("StateMachineType") or "STANDARD",
        )
        return cls(machine.arn, machine.name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: StateMachineModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> StateMachineModel:
        properties = cloudformation_json["Properties"]
        config = cls._configuration(properties)
        get_backend(account_id, region_name).update_state_machine(
            original_resource.physical_resource_id,
            definition=definition(properties, account_id, region_name),
            role_arn=properties.get("RoleArn"),
            logging_configuration=config["loggingConfiguration"],
            tracing_configuration=config["tracingConfiguration"],
        )
        return original_resource

    def remove(self, account_id: str, region_name: str) -> None:
        get_backend(account_id, region_name).delete_state_machine(self.physical_resource_id)
