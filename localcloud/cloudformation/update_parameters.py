"""``UsePreviousValue: true`` on a stack update takes the value the stack resolved before.

moto 5.2.5's ``CloudFormationBackend._resolve_update_parameters`` reads previous values from
``Stack.parameters``, which holds only the parameters passed explicitly at creation: a
parameter that took its template default fails with a ``KeyError`` (a 500). AWS uses the
value in effect, default or not, and refuses a key the previous template did not have.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend

from localcloud.cloudformation._patching import replace


def _resolve_update_parameters(
    self: CloudFormationBackend, instance: Any, incoming_params: list[dict[str, str]]
) -> dict[str, str]:
    resource_map = getattr(instance, "resource_map", None)
    in_effect = {
        **dict(instance.parameters or {}),
        **dict(getattr(resource_map, "resolved_parameters", None) or {}),
    }
    parameters: dict[str, str] = {}
    for parameter in incoming_params:
        key = parameter["ParameterKey"]
        if str(parameter.get("UsePreviousValue", False)).lower() == "true":
            if key not in in_effect:
                raise ValidationError(
                    message=f"Invalid input for parameter key {key}. Cannot specify "
                    "usePreviousValue as true for a parameter key not in the previous template"
                )
            parameters[key] = in_effect[key]
        elif "ParameterValue" in parameter:
            parameters[key] = parameter["ParameterValue"]
    return parameters


def install() -> None:
    replace(
        CloudFormationBackend,
        "_resolve_update_parameters",
        _resolve_update_parameters,
        "UsePreviousValue reads the value in effect (template defaults included), as AWS",
    )
