"""JSON Schema validation with messages that name the offending field.

::

    from common_layer.validation import SchemaViolation, validate

    ORDER = {
        "type": "object",
        "required": ["name", "quantity"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "pattern": r"\\S",
                     "errorMessage": {"pattern": "must not be blank"}},
            "quantity": {"type": "integer", "minimum": 1},
        },
    }

    try:
        validate(order, ORDER)
    except SchemaViolation as violation:
        violation.field    # "quantity"
        violation.message  # "field 'quantity' must be at least 1"

The first failure is reported, in words a client can act on:

- ``missing required fields 'name', 'quantity'``
- ``unexpected field 'colour'; allowed: 'name', 'quantity'``
- ``field 'address.city' must be a string``, ``field 'tags[1]' must be a string or null``
- ``field 'name' must not be empty`` (``minLength: 1``), ``... must be at most 20 characters
  long``, ``... must be at least 1`` / ``greater than 0``, ``... must be one of "S", "M"``,
  ``... must match the pattern ^[A-Z]+$``, ``... must be a valid email``
- ``field 'tags' must have at most 20 entries`` / ``must not contain duplicates``
- the value itself (the root) is called ``body``: ``body must be an object``.

Other keywords keep the validator's wording with the field named the same way.

``errorMessage`` (the convention of ajv-errors) sets an application's own wording on a
definition. A string applies to every rule of the definition it sits in; a mapping from
keyword to string applies to those keywords only (``{"pattern": "must not be blank"}``).
The message is then ``field 'name' <errorMessage>`` (``body <errorMessage>`` at the root).
Unlike ajv-errors, a string does not reach into the definition's subschemas.

The validator (fastjsonschema, which ignores unknown keywords such as ``errorMessage``)
is imported on first use and compiled once per schema: importing this module costs a
cold start nothing beyond the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["SchemaViolation", "validate"]

# JSON Schema type names, as a sentence says them.
_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


class SchemaViolation(ValueError):
    """A value does not match its schema.

    ``message`` names the field and says what is wrong (see the module docstring).
    ``field`` is the dotted path of the offending field (``address.city``, ``tags[1]``),
    or for a missing or unexpected field the names joined by ``", "``
    (``name, quantity``); None when the value as a whole is at fault.
    ``rule`` is the JSON Schema keyword that failed (``type``, ``required``...).
    """

    def __init__(self, message: str, *, field: str | None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule


def validate(value: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Check ``value`` (JSON data, e.g. a parsed request body) against a JSON Schema.

    Raises ``SchemaViolation`` for the first failure. ``schema`` must itself be JSON data;
    it is compiled on first use and the validator kept for the next calls (up to 64
    schemas, keyed by content). An invalid schema raises fastjsonschema's
    ``JsonSchemaDefinitionException``: that is a bug, not bad input.
    """
    import fastjsonschema

    validator = _compiled(json.dumps(schema))
    try:
        validator(value if isinstance(value, dict) else dict(value))
    except fastjsonschema.JsonSchemaValueException as error:
        raise _violation(error) from None


@lru_cache(maxsize=64)
def _compiled(schema_json: str) -> Callable[[Any], Any]:
    # Compiling generates Python code (milliseconds); validating takes microseconds.
    # Keyed by the JSON text, which keeps the schema's key order: messages list the
    # allowed fields in the order the schema declares them.
    import fastjsonschema

    validator: Callable[[Any], Any] = fastjsonschema.compile(json.loads(schema_json))
    return validator


def _violation(error: Any) -> SchemaViolation:
    """Turn a fastjsonschema error into a message that names the field."""
    path = _path(error.name)
    rule, expected, value = error.rule, error.rule_definition, error.value
    definition = error.definition if isinstance(error.definition, Mapping) else {}
    subject = f"field '{path}'" if path else "body"

    def violation(message: str, field: str | None = path or None) -> SchemaViolation:
        return SchemaViolation(message, field=field, rule=rule)

    custom = _custom_message(definition, rule)
    if custom is not None:
        return violation(f"{subject} {custom}")
    if rule == "required" and isinstance(value, Mapping) and isinstance(expected, list):
        missing = [_join(path, key) for key in expected if key not in value]
        if missing:
            noun = "field" if len(missing) == 1 else "fields"
            return violation(f"missing required {noun} {_quoted(missing)}", ", ".join(missing))
    if rule == "additionalProperties" and isinstance(value, Mapping):
        known = definition.get("properties", {})
        patterns = definition.get("patternProperties", {})
        extra = [
            _join(path, key)
            for key in sorted(value)
            if key not in known and not any(re.search(p, key) for p in patterns)
        ]
        if extra:
            noun = "field" if len(extra) == 1 else "fields"
            allowed = [f"'{name}'" for name in known] + [f"names matching {p}" for p in patterns]
            message = f"unexpected {noun} {_quoted(extra)}"
            if allowed:
                message += f"; allowed: {', '.join(allowed)}"
            return violation(message, ", ".join(extra))
    problem = _problem(rule, expected, definition)
    if problem is None:
        # Any other rule: fastjsonschema's own wording, with the field named our way.
        message = str(error.message)
        prefix = error.name or "data"
        problem = message[len(prefix) :].strip() if message.startswith(prefix) else message
    return violation(f"{subject} {problem}")


def _problem(rule: str, expected: Any, definition: Mapping[str, Any]) -> str | None:
    if rule == "type":
        types = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in types)
    if rule == "enum" and isinstance(expected, list):
        return f"must be one of {', '.join(json.dumps(v) for v in expected)}"
    if rule == "minLength":
        if expected == 1:
            return "must not be empty"
        return f"must be at least {expected} characters long"
    if rule == "maxLength":
        return f"must be at most {expected} characters long"
    # Draft 4 writes ``exclusiveMinimum: true`` beside ``minimum`` (fastjsonschema then
    # reports the rule ``minimum``); later drafts make ``exclusiveMinimum`` the bound.
    if rule == "minimum":
        exclusive = definition.get("exclusiveMinimum") is True
        return f"must be {'greater than' if exclusive else 'at least'} {expected}"
    if rule == "maximum":
        exclusive = definition.get("exclusiveMaximum") is True
        return f"must be {'less than' if exclusive else 'at most'} {expected}"
    if rule == "exclusiveMinimum":
        return f"must be greater than {expected}"
    if rule == "exclusiveMaximum":
        return f"must be less than {expected}"
    if rule == "pattern":
        return f"must match the pattern {expected}"
    if rule == "format":
        return f"must be a valid {expected}"
    if rule == "minItems":
        if expected == 1:
            return "must not be empty"
        return f"must have at least {expected} entries"
    if rule == "maxItems":
        return f"must have at most {expected} entries"
    if rule == "uniqueItems":
        return "must not contain duplicates"
    return None


def _custom_message(definition: Mapping[str, Any], rule: str) -> str | None:
    """The definition's ``errorMessage`` for this rule, if it sets one."""
    custom = definition.get("errorMessage")
    if isinstance(custom, Mapping):
        custom = custom.get(rule)
    return custom if isinstance(custom, str) else None


def _path(name: str | None) -> str:
    """fastjsonschema names the root ``data``: ``data.items[0].sku`` -> ``items[0].sku``."""
    name = name or "data"
    if name == "data":
        return ""
    if name.startswith("data."):
        return name[5:]
    return name[4:] if name.startswith("data[") else name


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
