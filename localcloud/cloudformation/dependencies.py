"""Dependencies between the resources of a template, and the order to create them in.

moto creates resources in ``DependsOn`` order only and creates anything a ``Ref`` reaches on
the fly, so it never knows which resource is being created when one fails. CloudFormation
derives dependencies from ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``DependsOn``, refuses
templates that reference undefined names or have cycles, creates in dependency order and
deletes in reverse. This module computes that order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from moto.cloudformation.exceptions import ValidationError

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _sub_names(template: str) -> set[str]:
    names = set()
    for variable in _SUB_VARIABLE.findall(template):
        names.add(variable.strip().split(".", 1)[0])
    return names


def references(value: Any) -> set[str]:
    """Every name (resource or parameter) a JSON fragment refers to."""
    found: set[str] = set()
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                return {arg}
            if key == "Fn::GetAtt":
                if isinstance(arg, list) and arg and isinstance(arg[0], str):
                    return {arg[0]} | references(arg[1:])
                if isinstance(arg, str):
                    return {arg.split(".", 1)[0]}
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return _sub_names(arg)
                if isinstance(arg, list) and arg and isinstance(arg[0], str):
                    local = arg[1] if len(arg) > 1 and isinstance(arg[1], dict) else {}
                    return (_sub_names(arg[0]) - set(local)) | references(local)
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    raw = resource.get("DependsOn", [])
    return [raw] if isinstance(raw, str) else [str(item) for item in raw]


def resource_dependencies(resources: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each logical id, the logical ids of the resources it depends on."""
    deps: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        body = {key: item for key, item in resource.items() if key != "DependsOn"}
        refs = references(body) | set(_depends_on(resource))
        deps[logical_id] = {name for name in refs if name in resources and name != logical_id}
    return deps


def validate_references(template: Mapping[str, Any]) -> None:
    """ValidationError for a reference to an undefined name, as CloudFormation's validation."""
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise ValidationError(
            message="Template format error: At least one Resources member must be defined."
        )
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise ValidationError(
                message=f"Template format error: [/Resources/{logical_id}] Every Resources "
                "object must contain a Type member."
            )
    known = set(resources) | set(template.get("Parameters") or {}) | PSEUDO_PARAMETERS
    for block in ("Resources", "Outputs"):
        missing: set[str] = set()
        for entry in (template.get(block) or {}).values():
            refs = references(entry) | (set(_depends_on(entry)) if block == "Resources" else set())
            missing |= {name for name in refs if name not in known}
        if missing:
            raise ValidationError(
                message="Template format error: Unresolved resource dependencies "
                f"[{', '.join(sorted(missing))}] in the {block} block of the template"
            )
    creation_order(resources)


def creation_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical ids in an order where each resource comes after everything it depends on.

    Stable: independent resources keep their template order. ValidationError on a cycle.
    """
    deps = resource_dependencies(resources)
    position = {logical_id: index for index, logical_id in enumerate(resources)}
    ordered: list[str] = []
    done: set[str] = set()
    remaining = dict(deps)
    while remaining:
        ready = [lid for lid, needs in remaining.items() if needs <= done]
        if not ready:
            cycle = sorted(remaining, key=position.__getitem__)
            raise ValidationError(
                message=f"Circular dependency between resources: [{', '.join(cycle)}]"
            )
        ready.sort(key=position.__getitem__)
        for logical_id in ready:
            ordered.append(logical_id)
            done.add(logical_id)
            del remaining[logical_id]
    return ordered


def deletion_order(resources: Mapping[str, Any], present: Iterable[str]) -> list[str]:
    """The ``present`` logical ids, dependents first."""
    wanted = set(present)
    order = [lid for lid in creation_order(resources) if lid in wanted]
    order.reverse()
    # Resources no longer in the template (kept only by a record) go last, in any order.
    order.extend(sorted(wanted - set(order)))
    return order
