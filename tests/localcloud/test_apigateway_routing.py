"""Routing of REST API (v1) requests to resources and methods, without a server.

AWS rules checked here (API Gateway developer guide, "Set up a proxy integration with a proxy
resource" and "Set up REST API methods"): a literal path part takes precedence over a path
variable, which takes precedence over a greedy ``{proxy+}`` variable; a greedy variable takes
one or more whole segments and never answers its parent path; the ``ANY`` method answers any
HTTP method that has no method of its own; no route at all is answered by the caller with 403
"Missing Authentication Token".
"""

from __future__ import annotations

import pytest

from localcloud.apigateway.model import MethodSpec, ResourceSpec
from localcloud.apigateway.routing import match_resource, route, select_method, split_path


def resources(*specs: tuple[str, tuple[str, ...]]) -> list[ResourceSpec]:
    return [
        ResourceSpec(
            id=f"r{index}",
            path=path,
            methods={m: MethodSpec(http_method=m) for m in methods},
        )
        for index, (path, methods) in enumerate(specs)
    ]


API = resources(
    ("/", ("GET",)),
    ("/items", ("GET", "POST")),
    ("/items/{id}", ("GET", "DELETE")),
    ("/items/special", ("GET",)),
    ("/items/{id}/tags/{tag}", ("PUT",)),
    ("/files/{path+}", ("ANY",)),
    ("/{proxy+}", ("ANY",)),
)


def resolve(path: str, method: str = "GET") -> tuple[str, dict[str, str], str] | None:
    found = route(API, split_path(path), method)
    if found is None:
        return None
    match, chosen = found
    return match.resource.path, match.path_parameters, chosen.http_method


def test_literal_segment_beats_path_variable():
    """A literal path part wins over ``{id}`` at the same position."""
    assert resolve("/items/special") == ("/items/special", {}, "GET")
    assert resolve("/items/other") == ("/items/{id}", {"id": "other"}, "GET")


def test_path_variables_fill_path_parameters():
    """Each ``{name}`` captures exactly one segment under its name."""
    assert resolve("/items/42/tags/blue", "PUT") == (
        "/items/{id}/tags/{tag}",
        {"id": "42", "tag": "blue"},
        "PUT",
    )


def test_path_variable_beats_greedy_variable():
    """``/items/{id}`` answers ``/items/7``, not the catch-all ``/{proxy+}``."""
    assert resolve("/items/7")[0] == "/items/{id}"


def test_greedy_variable_takes_every_remaining_segment():
    """``{path+}`` captures the rest of the path, slashes included."""
    assert resolve("/files/a/b/c.txt") == ("/files/{path+}", {"path": "a/b/c.txt"}, "ANY")


def test_greedy_variable_catches_paths_no_other_resource_matches():
    """``/{proxy+}`` answers anything more specific resources leave over, at any depth."""
    assert resolve("/unknown/deep/path") == ("/{proxy+}", {"proxy": "unknown/deep/path"}, "ANY")
    # /items/7/extra has no resource of its own: the greedy root resource takes it.
    assert resolve("/items/7/extra", "POST") == (
        "/{proxy+}",
        {"proxy": "items/7/extra"},
        "ANY",
    )


def test_greedy_variable_needs_at_least_one_segment():
    """``/files/{path+}`` does not answer ``/files`` itself; ``/{proxy+}`` then does."""
    assert resolve("/files") == ("/{proxy+}", {"proxy": "files"}, "ANY")
    only_files = resources(("/files/{path+}", ("ANY",)))
    assert match_resource(only_files, split_path("/files")) is None


def test_root_is_its_own_resource():
    """``/`` is answered by the root resource's methods, never by ``/{proxy+}``."""
    assert resolve("/") == ("/", {}, "GET")
    assert resolve("/", "POST") is None
    assert match_resource(resources(("/{proxy+}", ("ANY",))), split_path("/")) is None


def test_precedence_backtracks_to_a_less_specific_sibling():
    """When the literal branch dead-ends, a path variable sibling still matches."""
    api = resources(("/a/b", ("GET",)), ("/{x}/c", ("GET",)))
    match = match_resource(api, split_path("/a/c"))
    assert match is not None
    assert (match.resource.path, match.path_parameters) == ("/{x}/c", {"x": "a"})


def test_exact_method_then_any():
    """The method of the request is chosen over ``ANY``; ``ANY`` answers the others."""
    methods = {"GET": "get", "ANY": "any"}
    assert select_method(methods, "GET") == "get"
    assert select_method(methods, "PATCH") == "any"
    assert select_method({"GET": "get"}, "POST") is None
    # moto keeps the swagger spelling of ANY when an API is imported from OpenAPI.
    assert select_method({"X-AMAZON-APIGATEWAY-ANY-METHOD": "any"}, "DELETE") == "any"


def test_missing_method_is_no_route():
    """A matching path without the method (and without ANY) is not a route."""
    assert resolve("/items/1", "PATCH") is None


def test_paths_are_case_sensitive_and_trailing_slash_is_ignored():
    """Resource paths match case-sensitively; ``/items/`` is ``/items``."""
    assert resolve("/items/")[0] == "/items"
    assert resolve("/ITEMS")[0] == "/{proxy+}"


@pytest.mark.parametrize(
    ("path", "segments"),
    [("/", ()), ("/a", ("a",)), ("/a/", ("a",)), ("/a/b/c", ("a", "b", "c"))],
)
def test_split_path(path, segments):
    """Segments of a request path, as routing sees them."""
    assert split_path(path) == segments
