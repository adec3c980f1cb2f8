"""Mapping templates: ``$input``, ``$util``, ``$context``, ``$stageVariables`` and Velocity.

Each rule is the one of "API Gateway mapping template and access logging variable reference"
(API Gateway developer guide), cited in the test's docstring.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from localcloud.apigateway.vtl import VtlError, evaluate_json_path, parse_json_path, render

BODY = json.dumps({"name": "Ada", "tags": ["a", "b"], "nested": {"n": 1}, "odd key": True})
PARAMS = {
    "path": {"id": "42"},
    "querystring": {"stream": "orders", "id": "from-query"},
    "header": {"X-Stream": "from-header", "Content-Type": "application/json"},
}
CONTEXT = {
    "requestId": "req-1",
    "requestTimeEpoch": 1700000000000,
    "stage": "Prod",
    "identity": {"sourceIp": "10.0.0.1", "userAgent": "ua"},
}


def run(template: str, body: str = BODY, variables: dict[str, str] | None = None) -> str:
    return render(
        template,
        body=body,
        params=PARAMS,
        context=CONTEXT,
        stage_variables=variables or {"env": "test"},
    )


def test_input_body_is_the_raw_payload():
    """$input.body: the raw request payload as a string."""
    assert run("[$input.body]") == f"[{BODY}]"


def test_input_json_returns_a_json_string():
    """$input.json(x): the JSONPath result as a JSON string (a string stays quoted)."""
    assert run("$input.json('$.name')") == '"Ada"'
    assert run("$input.json('$.tags')") == '["a","b"]'
    assert run("$input.json('$')") == json.dumps(json.loads(BODY), separators=(",", ":"))
    assert run("$input.json('$.missing')") == "null"


def test_input_path_returns_an_object_for_foreach():
    """$input.path(x): the JSONPath result as an object that #foreach can walk."""
    template = "#foreach($tag in $input.path('$.tags'))<$tag>#if($foreach.hasNext),#end#end"
    assert run(template) == "<a>,<b>"
    assert run("$input.path('$.nested.n')") == "1"
    assert run("$input.path('$.tags[1]')") == "b"
    assert run("$input.path(\"$['odd key']\")") == "True"


def test_input_params_by_name_searches_path_then_query_then_header():
    """$input.params(x): the parameter from the path, the query string or the header, in
    that order of precedence."""
    assert run("$input.params('id')") == "42"
    assert run("$input.params('stream')") == "orders"
    assert run("$input.params('x-stream')") == "from-header"
    assert run("[$input.params('absent')]") == "[]"


def test_input_params_without_name_maps_every_location():
    """$input.params(): a map of path, querystring and header maps."""
    assert run("$input.params().path.id $input.params().querystring.get('stream')") == "42 orders"
    assert run("$input.params().header.get('X-Stream')") == "from-header"


def test_util_functions():
    """$util.escapeJavaScript escapes quotes and control characters; base64Encode/Decode,
    urlEncode/urlDecode and parseJson work as documented."""
    assert run("$util.escapeJavaScript($input.body)", body='say "hi"\n') == 'say \\"hi\\"\\n'
    assert (
        run("$util.base64Encode($input.body)", body="héllo")
        == base64.b64encode("héllo".encode()).decode()
    )
    assert run("$util.base64Decode('aGVsbG8=')") == "hello"
    assert run("$util.urlEncode('a b&c=d/e')") == "a+b%26c%3Dd%2Fe"
    assert run("$util.urlDecode('a+b%26c')") == "a b&c"
    assert run("#set($o = $util.parseJson($input.json('$.nested')))$o.n") == "1"


def test_context_and_stage_variables():
    """$context.requestId, requestTimeEpoch, stage and identity.sourceIp; $stageVariables."""
    out = run(
        "$context.requestId $context.requestTimeEpoch $context.stage "
        "$context.identity.sourceIp $stageVariables.env"
    )
    assert out == "req-1 1700000000000 Prod 10.0.0.1 test"


def test_if_else_and_set():
    """Velocity #if/#else/#set work on mapped values."""
    template = "#set($n = $input.path('$.name'))#if($n == 'Ada')yes#{else}no#end"
    assert run(template) == "yes"
    assert run(template, body='{"name": "Bob"}') == "no"


def test_body_that_is_not_json_is_a_string_at_root():
    """A payload that is not JSON: $input.body still works; $input.path('$') is the text."""
    assert run("$input.path('$')", body="plain text") == "plain text"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", {"a": [1, {"b": "c"}]}),
        ("$.a[0]", 1),
        ("$.a[1].b", "c"),
        ("$['a'][-1]['b']", "c"),
        ("$.a[5]", None),
        ("$.x.y", None),
    ],
)
def test_json_path_subset(path: str, expected: Any):
    """The supported JSONPath subset: $, dotted and bracketed members, array indexes."""
    assert evaluate_json_path({"a": [1, {"b": "c"}]}, path) == expected


@pytest.mark.parametrize("path", ["$..a", "$.a[*]", "$.a[?(@.b)]", "$.a[0:2]", "a.b"])
def test_unsupported_json_path_fails_naming_it(path: str):
    """Constructs outside the subset fail with a message naming the construct."""
    with pytest.raises(VtlError, match="unsupported JSONPath"):
        parse_json_path(path)


def test_unsupported_json_path_inside_a_template_fails_clearly():
    """A template using an unsupported JSONPath fails with that reason, not a Velocity one."""
    with pytest.raises(VtlError, match=r"unsupported JSONPath construct '\[\*\]'"):
        run("$input.json('$.tags[*]')")


def test_broken_template_fails_with_a_clear_error():
    """A template Velocity cannot parse is an error naming the template failure."""
    with pytest.raises(VtlError, match="mapping template failed"):
        run("#if($input.body")
