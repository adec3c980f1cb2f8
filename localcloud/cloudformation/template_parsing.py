"""moto parses every template it stores with PyYAML first, JSON second.

Replaces ``moto.cloudformation.models.Stack.parse_template`` and ``ChangeSet._parse_template``.
Templates reach moto only as the JSON the local cloud prepared (see ``templates``); parsing
that JSON with PyYAML's pure-Python loader costs tens of milliseconds per template and moto
re-parses on every update and change-set comparison. Reading JSON first is both faster and
exact; anything else still goes through the local cloud's CloudFormation YAML loader.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.models import ChangeSet, Stack

from localcloud.cloudformation._patching import replace
from localcloud.cloudformation.templates import parse_template


def _parse(template: str) -> dict[str, Any]:
    try:
        parsed = json.loads(template)
    except ValueError:
        return parse_template(template)
    if not isinstance(parsed, dict):
        return parse_template(template)
    return parsed


def _change_set_parse_template(self: ChangeSet) -> None:
    self.template_dict = _parse(self.template)


def install() -> None:
    reason = "JSON first: faster, and PyYAML must not reinterpret the prepared template"
    replace(Stack, "parse_template", staticmethod(_parse), reason)
    replace(ChangeSet, "_parse_template", _change_set_parse_template, reason)
