"""``Fn::Sub`` resolves ``${Resource.Attribute.With.Dots}`` as AWS does.

AWS splits a ``${...}`` reference at its first dot only: ``${Db.MasterUserSecret.SecretArn}``
is ``Fn::GetAtt [Db, MasterUserSecret.SecretArn]``. moto 5.2.5's ``parsing.clean_json``
splits at every dot and then fails with "does not support attribute type MasterUserSecret".
The replacement rewrites such references in an ``Fn::Sub`` into the list form of ``Fn::Sub``
with an explicit ``Fn::GetAtt`` variable, then lets moto's function resolve it.
"""

from __future__ import annotations

import re
from typing import Any

from moto.cloudformation import parsing

from localcloud.cloudformation._patching import replace

# ${Name.Attr.More}, but not the literal form ${!Name.Attr}.
_DOTTED = re.compile(
    r"\$\{(?!!)(?P<resource>[A-Za-z0-9]+)\.(?P<attribute>[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+)\}"
)


def _split_dotted_references(fn_sub: Any) -> Any:
    template, variables = (fn_sub[0], dict(fn_sub[1])) if isinstance(fn_sub, list) else (fn_sub, {})
    if not isinstance(template, str) or not _DOTTED.search(template):
        return fn_sub

    def _variable(match: re.Match[str]) -> str:
        name = f"LocalCloudGetAtt{len(variables)}"
        variables[name] = {"Fn::GetAtt": [match.group("resource"), match.group("attribute")]}
        return "${" + name + "}"

    return [_DOTTED.sub(_variable, template), variables]


def install() -> None:
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Sub" in resource_json:
            resource_json = {
                **resource_json,
                "Fn::Sub": _split_dotted_references(resource_json["Fn::Sub"]),
            }
        return original(resource_json, resources_map)

    replace(parsing, "clean_json", clean_json, "split ${A.B.C} in Fn::Sub at the first dot, as AWS")
