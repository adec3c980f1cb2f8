"""FilterCriteria of an event source mapping: which records reach the function.

Lambda evaluates each record against the mapping's ``Filters[].Pattern`` (event-pattern syntax,
as EventBridge): a record is delivered when at least one pattern matches, and dropped
otherwise (an SQS message is deleted from the queue, a stream record is skipped). What a
pattern sees is the record as the function would, except for the payload: the SQS ``body``
and the Kinesis ``data`` are parsed as JSON when they hold a JSON object (Kinesis data is
base64-decoded first), so ``{"body": {"kind": ["order"]}}`` reaches into the message.

Supported: exact values (strings, numbers, ``true``/``false``, ``null``), nested fields,
arrays in the record (any element matches), ``prefix``, ``suffix``, ``equals-ignore-case``,
``wildcard``, ``anything-but`` (a value, a list, or a ``prefix``/``suffix``), ``numeric``
(``=``, ``<``, ``<=``, ``>``, ``>=``), ``exists`` and ``$or``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

_MISSING = object()
_NUMERIC_OPERATORS = {"=", "<", "<=", ">", ">="}
_OPERATORS = {
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "exists",
}


class InvalidFilterPattern(ValueError):
    """A pattern Lambda would refuse at CreateEventSourceMapping/UpdateEventSourceMapping."""


# -- validation ---------------------------------------------------------------------------


def _check_operator(operator: Mapping[str, Any]) -> None:
    if len(operator) != 1:
        raise InvalidFilterPattern("a filter operator object holds exactly one operator")
    (name, value), *_ = operator.items()
    if name not in _OPERATORS:
        raise InvalidFilterPattern(f"unknown filter operator {name!r}")
    if name in ("prefix", "suffix", "equals-ignore-case", "wildcard") and not isinstance(
        value, str
    ):
        raise InvalidFilterPattern(f"{name} takes a string")
    if name == "exists" and not isinstance(value, bool):
        raise InvalidFilterPattern("exists takes true or false")
    if name == "numeric":
        if not isinstance(value, list) or not value or len(value) % 2:
            raise InvalidFilterPattern("numeric takes operator/number pairs")
        for op, number in zip(value[::2], value[1::2], strict=True):
            if op not in _NUMERIC_OPERATORS or not _is_number(number):
                raise InvalidFilterPattern("numeric takes operator/number pairs")


def _check(pattern: Any) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise InvalidFilterPattern("a pattern is a non-empty JSON object")
    for key, value in pattern.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise InvalidFilterPattern("$or takes a list of at least two patterns")
            for alternative in value:
                _check(alternative)
        elif isinstance(value, dict):
            _check(value)
        elif isinstance(value, list):
            if not value:
                raise InvalidFilterPattern(f"the values of {key!r} are an empty list")
            for item in value:
                if isinstance(item, dict):
                    _check_operator(item)
                elif isinstance(item, list):
                    raise InvalidFilterPattern(f"the values of {key!r} cannot nest lists")
        else:
            raise InvalidFilterPattern(f"the value of {key!r} must be a list or an object")


@lru_cache(maxsize=512)
def parse_pattern(text: str) -> dict[str, Any]:
    """A pattern string as Lambda stores it, parsed and checked."""
    try:
        pattern = json.loads(text)
    except ValueError as error:
        raise InvalidFilterPattern(f"the pattern is not JSON: {error}") from None
    _check(pattern)
    return dict(pattern)


def patterns_of(filter_criteria: Any) -> tuple[dict[str, Any], ...]:
    """The patterns of a mapping's ``FilterCriteria`` (empty: no filtering)."""
    if not filter_criteria:
        return ()
    if not isinstance(filter_criteria, Mapping):
        raise InvalidFilterPattern("FilterCriteria must be an object with Filters")
    filters = filter_criteria.get("Filters") or []
    if not isinstance(filters, list):
        raise InvalidFilterPattern("FilterCriteria.Filters must be a list")
    patterns: list[dict[str, Any]] = []
    for item in filters:
        text = item.get("Pattern") if isinstance(item, Mapping) else None
        if not isinstance(text, str):
            raise InvalidFilterPattern("each filter has a Pattern string")
        patterns.append(parse_pattern(text))
    return tuple(patterns)


# -- the record as patterns see it --------------------------------------------------------


def _json_object(text: Any) -> Any:
    if not isinstance(text, str):
        return _MISSING
    try:
        value = json.loads(text)
    except ValueError:
        return _MISSING
    return value if isinstance(value, (dict, list)) else _MISSING


def sqs_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS record with its body parsed when it is JSON (a plain-string body stays as is)."""
    view = dict(record)
    parsed = _json_object(record.get("body"))
    if parsed is not _MISSING:
        view["body"] = parsed
    return view


def kinesis_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """A Kinesis record with ``data`` at the top, decoded and parsed when it is JSON."""
    view = dict(record)
    encoded = (record.get("kinesis") or {}).get("data")
    try:
        text = base64.b64decode(encoded or "", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return view
    parsed = _json_object(text)
    if parsed is not _MISSING:
        view["data"] = parsed
    return view


# -- matching -----------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(expected: Any, actual: Any) -> bool:
    if expected is None or isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if _is_number(expected):
        return _is_number(actual) and float(expected) == float(actual)
    return isinstance(actual, str) and expected == actual


def _wildcard(pattern: str, value: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _numeric(conditions: Sequence[Any], value: Any) -> bool:
    if not _is_number(value):
        return False
    number = float(value)
    for op, bound in zip(conditions[::2], conditions[1::2], strict=True):
        limit = float(bound)
        ok = {
            "=": number == limit,
            "<": number < limit,
            "<=": number <= limit,
            ">": number > limit,
            ">=": number >= limit,
        }[op]
        if not ok:
            return False
    return True


def _anything_but(excluded: Any, value: Any) -> bool:
    if isinstance(excluded, dict):
        (name, operand), *_ = excluded.items()
        if not isinstance(value, str):
            return False
        if name == "prefix":
            return not value.startswith(operand)
        if name == "suffix":
            return not value.endswith(operand)
        if name == "equals-ignore-case":
            candidates = operand if isinstance(operand, list) else [operand]
            return all(value.lower() != str(c).lower() for c in candidates)
        if name == "wildcard":
            return not _wildcard(operand, value)
        return False
    candidates = excluded if isinstance(excluded, list) else [excluded]
    return not any(_equal(candidate, value) for candidate in candidates)


def _leaf_matches(expected: Any, value: Any) -> bool:
    """One allowed value (or operator) against one present, non-list value."""
    if not isinstance(expected, dict):
        return _equal(expected, value)
    (name, operand), *_ = expected.items()
    if name == "exists":
        return bool(operand)
    if name == "numeric":
        return _numeric(operand, value)
    if name == "anything-but":
        return _anything_but(operand, value)
    if not isinstance(value, str):
        return False
    if name == "prefix":
        return bool(value.startswith(operand))
    if name == "suffix":
        return bool(value.endswith(operand))
    if name == "equals-ignore-case":
        return bool(value.lower() == str(operand).lower())
    if name == "wildcard":
        return _wildcard(operand, value)
    return False


def _values_match(allowed: list[Any], value: Any) -> bool:
    if value is _MISSING:
        return any(isinstance(a, dict) and a.get("exists") is False for a in allowed)
    candidates = value if isinstance(value, list) else [value]
    for expected in allowed:
        if isinstance(expected, dict) and "exists" in expected:
            if expected["exists"]:
                return True
            continue
        if any(_leaf_matches(expected, candidate) for candidate in candidates):
            return True
    return False


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    """True when ``record`` satisfies every field of ``pattern``."""
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(alternative, record) for alternative in expected):
                return False
            continue
        value = record.get(key, _MISSING) if isinstance(record, Mapping) else _MISSING
        if isinstance(expected, dict):
            if isinstance(value, list):
                if not any(matches(expected, item) for item in value):
                    return False
            elif not matches(expected, value if isinstance(value, Mapping) else {}):
                return False
        elif not _values_match(expected, value):
            return False
    return True


def accepts(patterns: Sequence[Mapping[str, Any]], view: Mapping[str, Any]) -> bool:
    """Lambda's rule: no patterns let everything through, else one pattern must match."""
    return not patterns or any(matches(pattern, view) for pattern in patterns)
