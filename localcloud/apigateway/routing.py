"""Which resource and method of a REST API a request reaches.

API Gateway REST APIs match the path first: a literal path part wins over a ``{param}``, which
wins over a greedy ``{param+}``; a greedy variable takes one or more whole segments and never
matches the bare parent (``/{proxy+}`` does not answer ``/``, that needs a method on ``/``).
The method comes second: the exact HTTP method, else ``ANY``. No match either way is the
403 "Missing Authentication Token" AWS returns for routes that do not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar
from urllib.parse import unquote

from localcloud.apigateway.model import MethodSpec, ResourceSpec

_LITERAL, _PARAM, _GREEDY = 0, 1, 2
# moto stores the swagger name of ANY as-is when an API is imported from OpenAPI.
_ANY_METHODS = ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD")

_T = TypeVar("_T")


@dataclass(frozen=True)
class RouteMatch:
    resource: ResourceSpec
    path_parameters: dict[str, str]


def split_stage_path(stage_and_path: str) -> tuple[str | None, str, tuple[str, ...]]:
    """``(stage or None, decoded path, decoded segments)`` of ``{stage}/{path...}`` as sent.

    Segments are split before decoding, so an encoded "/" (%2F) stays inside its segment; a
    trailing slash names the same resource.
    """
    parts = stage_and_path.split("/")
    stage = unquote(parts[0]) if parts[0] else None
    raw_segments = parts[1:]
    path = "/" + "/".join(unquote(s) for s in raw_segments)
    segments = [unquote(s) for s in raw_segments]
    if segments and segments[-1] == "":
        segments.pop()
    return stage, path, tuple(segments)


@lru_cache(maxsize=4096)
def _parse_template(path: str) -> tuple[tuple[int, str], ...]:
    parts = []
    for part in path.strip("/").split("/") if path.strip("/") else ():
        if part.startswith("{") and part.endswith("+}"):
            parts.append((_GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            parts.append((_PARAM, part[1:-1]))
        else:
            parts.append((_LITERAL, part))
    return tuple(parts)


def split_path(path: str) -> tuple[str, ...]:
    """The segments of a decoded path; a trailing slash names the same resource."""
    stripped = path[1:] if path.startswith("/") else path
    if stripped.endswith("/"):
        stripped = stripped[:-1]
    return tuple(stripped.split("/")) if stripped else ()


def _match(
    template: tuple[tuple[int, str], ...], segments: tuple[str, ...]
) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """The specificity key and path parameters when ``template`` matches, else None."""
    params: dict[str, str] = {}
    kinds: list[int] = []
    for index, (kind, text) in enumerate(template):
        if kind == _GREEDY:
            rest = segments[index:]
            if index != len(template) - 1 or not rest:
                return None
            params[text] = "/".join(rest)
            kinds.append(kind)
            return tuple(kinds), params
        if index >= len(segments):
            return None
        segment = segments[index]
        if kind == _LITERAL:
            if segment != text:
                return None
        elif not segment:
            return None
        else:
            params[text] = segment
        kinds.append(kind)
    if len(template) != len(segments):
        return None
    return tuple(kinds), params


def match_resource(
    resources: Iterable[ResourceSpec], segments: tuple[str, ...]
) -> RouteMatch | None:
    """The most specific resource whose path template matches ``segments``.

    Comparing the kinds of the parts left to right (literal < param < greedy) is the same as
    walking the resource tree preferring literals and backtracking, which is how the
    precedence rule reads.
    """
    best: tuple[tuple[int, ...], ResourceSpec, dict[str, str]] | None = None
    for resource in resources:
        found = _match(_parse_template(resource.path), segments)
        if found is None:
            continue
        key, params = found
        if best is None or key < best[0]:
            best = (key, resource, params)
    if best is None:
        return None
    return RouteMatch(resource=best[1], path_parameters=best[2])


def select_method(methods: Mapping[str, _T], http_method: str) -> _T | None:
    """The method for ``http_method``: the exact one, else ``ANY``."""
    wanted = http_method.upper()
    for name, method in methods.items():
        if name.upper() == wanted:
            return method
    for name, method in methods.items():
        if name.upper() in _ANY_METHODS:
            return method
    return None


def route(
    resources: Iterable[ResourceSpec], segments: tuple[str, ...], http_method: str
) -> tuple[RouteMatch, MethodSpec] | None:
    """The resource and method a request reaches, or None for AWS's 403."""
    match = match_resource(resources, segments)
    if match is None:
        return None
    method = select_method(match.resource.methods, http_method)
    if method is None:
        return None
    return match, method
