"""common_layer.validation: JSON Schema failures as messages that name the field."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import fastjsonschema
import pytest
from common_layer.validation import SchemaViolation, validate
from layer_helpers import python_env, run_python

ORDER: dict[str, Any] = {
    "type": "object",
    "required": ["name", "quantity"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
        "note": {"type": ["string", "null"]},
        "size": {"enum": ["S", "M", "L"]},
        "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
        "code": {"type": "string", "minLength": 3},
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": 3,
            "uniqueItems": True,
        },
        "pair": {"type": "array", "minItems": 2},
        "address": {
            "type": "object",
            "required": ["city"],
            "additionalProperties": False,
            "properties": {"city": {"type": "string"}},
        },
        "price": {"type": "number", "exclusiveMinimum": 0},
        "email": {"type": "string", "format": "email"},
    },
}

PEN = {"name": "pen", "quantity": 1}


def violation(value: Any, schema: dict[str, Any] = ORDER) -> SchemaViolation:
    with pytest.raises(SchemaViolation) as caught:
        validate(value, schema)
    assert str(caught.value) == caught.value.message
    return caught.value


def test_a_valid_value_passes():
    validate({**PEN, "tags": ["blue"], "address": {"city": "Lyon"}, "price": 0.5}, ORDER)
    validate(MappingProxyType({**PEN}), ORDER)  # any Mapping, not only dict


@pytest.mark.parametrize(
    ("value", "message", "field", "rule"),
    [
        ({"quantity": 1}, "missing required field 'name'", "name", "required"),
        ({}, "missing required fields 'name', 'quantity'", "name, quantity", "required"),
        (
            {**PEN, "colour": "red"},
            "unexpected field 'colour'; allowed: 'name', 'quantity', 'note', 'size', 'sku', "
            "'code', 'tags', 'pair', 'address', 'price', 'email'",
            "colour",
            "additionalProperties",
        ),
        (
            {**PEN, "address": {}},
            "missing required field 'address.city'",
            "address.city",
            "required",
        ),
        (
            {**PEN, "address": {"city": "Lyon", "zip": "69001", "country": "FR"}},
            "unexpected fields 'address.country', 'address.zip'; allowed: 'city'",
            "address.country, address.zip",
            "additionalProperties",
        ),
        ({"name": 5, "quantity": 1}, "field 'name' must be a string", "name", "type"),
        (
            {"name": "pen", "quantity": 1.5},
            "field 'quantity' must be an integer",
            "quantity",
            "type",
        ),
        ({**PEN, "note": 3}, "field 'note' must be a string or null", "note", "type"),
        ({**PEN, "tags": ["a", 3]}, "field 'tags[1]' must be a string", "tags[1]", "type"),
        ({**PEN, "address": []}, "field 'address' must be an object", "address", "type"),
        (
            {**PEN, "address": {"city": 7}},
            "field 'address.city' must be a string",
            "address.city",
            "type",
        ),
        ({"name": "", "quantity": 1}, "field 'name' must not be empty", "name", "minLength"),
        (
            {**PEN, "code": "ab"},
            "field 'code' must be at least 3 characters long",
            "code",
            "minLength",
        ),
        (
            {"name": "x" * 21, "quantity": 1},
            "field 'name' must be at most 20 characters long",
            "name",
            "maxLength",
        ),
        (
            {"name": "pen", "quantity": 0},
            "field 'quantity' must be at least 1",
            "quantity",
            "minimum",
        ),
        (
            {"name": "pen", "quantity": 101},
            "field 'quantity' must be at most 100",
            "quantity",
            "maximum",
        ),
        ({**PEN, "price": 0}, "field 'price' must be greater than 0", "price", "exclusiveMinimum"),
        ({**PEN, "size": "XL"}, 'field \'size\' must be one of "S", "M", "L"', "size", "enum"),
        (
            {**PEN, "sku": "abc"},
            "field 'sku' must match the pattern ^[A-Z]{3}-[0-9]+$",
            "sku",
            "pattern",
        ),
        ({**PEN, "email": "nope"}, "field 'email' must be a valid email", "email", "format"),
        ({**PEN, "tags": []}, "field 'tags' must not be empty", "tags", "minItems"),
        ({**PEN, "pair": [1]}, "field 'pair' must have at least 2 entries", "pair", "minItems"),
        (
            {**PEN, "tags": ["a", "b", "c", "d"]},
            "field 'tags' must have at most 3 entries",
            "tags",
            "maxItems",
        ),
        (
            {**PEN, "tags": ["a", "a"]},
            "field 'tags' must not contain duplicates",
            "tags",
            "uniqueItems",
        ),
    ],
)
def test_violations_name_the_field(value, message, field, rule):
    caught = violation(value)
    assert (caught.message, caught.field, caught.rule) == (message, field, rule)


def test_a_violation_is_a_value_error():
    assert issubclass(SchemaViolation, ValueError)


def test_the_value_as_a_whole_is_the_body_and_has_no_field():
    caught = violation({"a": 1}, {"type": "object", "maxProperties": 0, "properties": {}})
    assert caught.field is None
    assert caught.message == "body must contain less than or equal to 0 properties"


def test_other_rules_keep_the_validator_wording_with_the_field_named():
    schema = {"type": "object", "properties": {"box": {"type": "integer", "multipleOf": 5}}}
    caught = violation({"box": 3}, schema)
    assert (caught.message, caught.field, caught.rule) == (
        "field 'box' must be multiple of 5",
        "box",
        "multipleOf",
    )


def test_unexpected_fields_are_listed_sorted_and_the_allowed_ones_in_schema_order():
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"zeta": {}, "alpha": {}},
    }
    caught = violation({"zeta": 1, "id": 2, "colour": 3}, schema)
    assert caught.message == "unexpected fields 'colour', 'id'; allowed: 'zeta', 'alpha'"
    assert caught.field == "colour, id"


def test_unexpected_fields_mention_pattern_properties_and_omit_an_empty_allowed_list():
    with_patterns = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"id": {}},
        "patternProperties": {"^x-": {}},
    }
    assert violation({"x-trace": 1, "y": 2}, with_patterns).message == (
        "unexpected field 'y'; allowed: 'id', names matching ^x-"
    )
    nothing_allowed = {"type": "object", "additionalProperties": False}
    assert violation({"y": 2}, nothing_allowed).message == "unexpected field 'y'"


def test_draft_4_exclusive_bounds_say_greater_and_less_than():
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {
            "low": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "high": {"type": "number", "maximum": 9, "exclusiveMaximum": True},
        },
    }
    assert violation({"low": 0}, schema).message == "field 'low' must be greater than 0"
    assert violation({"high": 9}, schema).message == "field 'high' must be less than 9"


# --- errorMessage (the ajv-errors convention) --------------------------------------------

NAMED = {
    "type": "object",
    "required": ["name"],
    "properties": {
        # A mapping: only the listed keywords get the application's wording.
        "name": {
            "type": "string",
            "minLength": 1,
            "pattern": r"\S",
            "errorMessage": {"pattern": "must not be blank"},
        },
        # A string: every rule of this definition gets it.
        "slug": {
            "type": "string",
            "pattern": "^[a-z-]+$",
            "errorMessage": "must be lowercase letters and dashes",
        },
        # Not a string: ignored, the default wording stays.
        "code": {"type": "string", "errorMessage": 42},
    },
}


def test_fastjsonschema_ignores_the_error_message_keyword():
    check = fastjsonschema.compile(NAMED)
    assert check({"name": "pen", "slug": "a-b", "code": "x"}) == {
        "name": "pen",
        "slug": "a-b",
        "code": "x",
    }
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        check({"name": " "})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "   "}, "field 'name' must not be blank"),
        # Rules the mapping does not list keep the default wording.
        ({"name": ""}, "field 'name' must not be empty"),
        ({"name": 7}, "field 'name' must be a string"),
        (
            {"name": "pen", "slug": "Not A Slug"},
            "field 'slug' must be lowercase letters and dashes",
        ),
        ({"name": "pen", "slug": 5}, "field 'slug' must be lowercase letters and dashes"),
        ({"name": "pen", "code": 5}, "field 'code' must be a string"),
    ],
)
def test_error_message_replaces_the_wording_of_its_definition(value, message):
    caught = violation(value, NAMED)
    assert caught.message == message
    assert caught.field == message.split("'")[1]


def test_error_message_at_the_root_speaks_of_the_body():
    schema = {
        "type": "object",
        "required": ["a"],
        "errorMessage": {"required": "must name an 'a'"},
    }
    caught = violation({}, schema)
    assert (caught.message, caught.field, caught.rule) == (
        "body must name an 'a'",
        None,
        "required",
    )


# --- compilation, caching, import cost ---------------------------------------------------


def test_each_schema_is_compiled_once(monkeypatch):
    compiled: list[Any] = []
    real_compile = fastjsonschema.compile

    def counting_compile(definition: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(definition)
        return real_compile(definition, *args, **kwargs)

    monkeypatch.setattr(fastjsonschema, "compile", counting_compile)
    schema = {"type": "object", "properties": {"test_each_schema_is_compiled_once": {}}}
    for _ in range(3):
        validate({}, schema)
    validate({}, json.loads(json.dumps(schema)))  # an equal schema, another object
    assert len(compiled) == 1
    with pytest.raises(SchemaViolation):
        validate({"test_each_schema_is_compiled_once": 1}, {**schema, "maxProperties": 0})
    assert len(compiled) == 2


def test_an_invalid_schema_is_a_definition_error_not_a_violation():
    with pytest.raises(fastjsonschema.JsonSchemaDefinitionException):
        validate({}, {"type": "nope"})


def test_importing_the_module_does_not_import_fastjsonschema():
    code = (
        "import sys, common_layer.validation as v\n"
        "print('AT_IMPORT', 'fastjsonschema' in sys.modules)\n"
        "v.validate({'a': 1}, {'type': 'object'})\n"
        "print('AFTER_USE', 'fastjsonschema' in sys.modules)\n"
    )
    out = run_python(code, python_env()).stdout
    assert "AT_IMPORT False" in out
    assert "AFTER_USE True" in out
