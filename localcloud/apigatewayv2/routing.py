"""Stage and route selection of HTTP APIs (API Gateway developer guide, "Routes for HTTP APIs").

- Stage: a first path segment naming a stage selects it and is taken off the path; otherwise
  the ``$default`` stage, if there is one, serves the whole path (it has no segment in the URL).
- Route: the most specific path wins, segment by segment from the left: a literal segment
  over a ``{param}`` over the greedy ``{proxy+}`` (which must end the route and matches one
  or more segments). For one path, a route of the request's method wins over ``ANY``. The
  ``$default`` route catches what no other route matches. Matching is case-sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from localcloud.apigatewayv2.model import RouteSpec, StageSpec

DEFAULT = "$default"
_VARIABLE = re.compile(r"^\{(?P<name>[A-Za-z0-9._-]+)(?P<greedy>\+)?\}$")


@dataclass(frozen=True)
class StageMatch:
    stage: StageSpec
    # The still-encoded path after the stage segment (all of it for $default), from "/".
    raw_path: str


@dataclass(frozen=True)
class RouteMatch:
    route: RouteSpec
    path_parameters: Mapping[str, str]


def select_stage(stages: Mapping[str, StageSpec], raw_path: str) -> StageMatch | None:
    """The stage a request path addresses, or None (AWS: 404 Not Found)."""
    first, _, rest = raw_path.lstrip("/").partition("/")
    name = unquote(first)
    if name and name != DEFAULT and name in stages:
        return StageMatch(stages[name], "/" + rest)
    if DEFAULT in stages:
        return StageMatch(stages[DEFAULT], raw_path or "/")
    return None


def split_route_key(route_key: str) -> tuple[str, str] | None:
    """``(METHOD, /path)`` of a route key; None for ``$default``."""
    if route_key == DEFAULT:
        return None
    method, _, path = route_key.strip().partition(" ")
    return method.upper(), path.strip()


def _segments(path: str) -> list[str]:
    parts = path.split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing slash names the same resource
    return parts


def _match_path(
    template: str, segments: list[str]
) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """``(rank, path parameters)`` when ``template`` matches; a larger rank is more specific."""
    parts = _segments(template)
    rank: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(parts):
        variable = _VARIABLE.match(part)
        if variable and variable["greedy"]:
            if index != len(parts) - 1 or index >= len(segments):
                return None
            parameters[variable["name"]] = "/".join(segments[index:])
            rank.append(0)
            return tuple(rank), parameters
        if index >= len(segments):
            return None
        if variable:
            parameters[variable["name"]] = segments[index]
            rank.append(1)
        elif part == segments[index]:
            rank.append(2)
        else:
            return None
    if len(parts) != len(segments):
        return None
    # A full match outranks any greedy one at the same prefix.
    rank.append(3)
    return tuple(rank), parameters


def select_route(routes: Iterable[RouteSpec], method: str, raw_path: str) -> RouteMatch | None:
    """The route serving ``method raw_path``, or None (AWS: 404 Not Found).

    Segments are split before they are decoded, so an encoded "/" (%2F) stays in its segment.
    """
    segments = [unquote(part) for part in _segments(raw_path)]
    best: tuple[tuple[tuple[int, ...], int], RouteMatch] | None = None
    default: RouteSpec | None = None
    for route in routes:
        key = split_route_key(route.route_key)
        if key is None:
            default = route
            continue
        route_method, template = key
        if route_method not in (method.upper(), "ANY"):
            continue
        matched = _match_path(template, segments)
        if matched is None:
            continue
        rank = (matched[0], 1 if route_method != "ANY" else 0)
        if best is None or rank > best[0]:
            best = (rank, RouteMatch(route, matched[1]))
    if best is not None:
        return best[1]
    if default is not None:
        return RouteMatch(default, {})
    return None
