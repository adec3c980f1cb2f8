"""API Gateway mapping templates: Velocity (airspeed) with ``$input``, ``$util`` and ``$context``.

What a template sees ("API Gateway mapping template and access logging variable reference"):

- ``$input.body`` (the payload as a string), ``$input.json(path)`` (the JSONPath result as a
  JSON string), ``$input.path(path)`` (the result as an object, for ``#foreach`` and
  ``.size()``), ``$input.params()`` (``{"path": {...}, "querystring": {...}, "header": {...}}``)
  and ``$input.params(name)`` (path, then query string, then header; ``""`` when absent);
- ``$util.escapeJavaScript``, ``$util.parseJson``, ``$util.urlEncode``, ``$util.urlDecode``,
  ``$util.base64Encode``, ``$util.base64Decode``;
- ``$context`` (the ``requestContext`` of the proxy event: ``requestId``, ``requestTimeEpoch``,
  ``stage``, ``identity.sourceIp``...), ``$stageVariables`` and ``$method.request.path|
  querystring|header``.

JSONPath subset (``$input.json``/``$input.path``): ``$`` (the whole payload), dotted members
``$.a.b``, bracketed members ``$['a']`` / ``$["a"]`` and array indexes ``$.a[0]`` (negative
from the end). A member or index that is absent gives null (``""`` from ``$input.path``,
``null`` from ``$input.json``), as on AWS. Anything else (``*``, ``..``, filters ``[?()]``,
slices, unions) raises :class:`VtlError` naming the construct, which the gateway answers with
a 500 and logs; so does a template Velocity cannot parse or run.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed


class VtlError(Exception):
    """A template or JSONPath the local cloud cannot evaluate; the message names why."""


_TOKEN = re.compile(
    r"""\.(?P<member>[A-Za-z_$][A-Za-z0-9_$-]*)"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<quote>['"])(?P<key>(?:(?!(?P=quote)).)*)(?P=quote)\]"""
)


def parse_json_path(path: str) -> list[str | int]:
    """The steps of a JSONPath in the supported subset, or :class:`VtlError`."""
    text = path.strip()
    if not text.startswith("$"):
        raise VtlError(f"unsupported JSONPath {path!r}: it must start with '$'")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or text.startswith("..", position):
            raise VtlError(
                f"unsupported JSONPath construct {text[position:]!r} in {path!r} (supported: "
                "$, $.a.b, $['a'], $.a[0])"
            )
        if match.group("member") is not None:
            steps.append(match.group("member"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(match.group("key"))
        position = match.end()
    return steps


def evaluate_json_path(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``; None when a step is absent."""
    value = document
    for step in parse_json_path(path):
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return None
            value = value[step]
    return value


def escape_javascript(text: Any) -> str:
    """Java's ``StringEscapeUtils.escapeJavaScript``, which ``$util.escapeJavaScript`` uses:
    quotes (single ones too), backslash, "/" and control characters escaped."""
    replacements = {
        '"': '\\"',
        "'": "\\'",
        "\\": "\\\\",
        "/": "\\/",
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
    }
    out = []
    for char in str(text):
        if char in replacements:
            out.append(replacements[char])
        elif ord(char) < 32 or ord(char) > 0x7E:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


class Util:
    """``$util``."""

    def escapeJavaScript(self, text: Any) -> str:
        return escape_javascript(text)

    def parseJson(self, text: Any) -> Any:
        try:
            return json.loads(str(text))
        except ValueError as error:
            raise VtlError(f"$util.parseJson: not JSON ({error})") from error

    def urlEncode(self, text: Any) -> str:
        return quote_plus(str(text), safe="")

    def urlDecode(self, text: Any) -> str:
        return unquote_plus(str(text))

    def base64Encode(self, text: Any) -> str:
        data = text if isinstance(text, bytes) else str(text).encode("utf-8")
        return base64.b64encode(data).decode("ascii")

    def base64Decode(self, text: Any) -> str:
        try:
            return base64.b64decode(str(text)).decode("utf-8", errors="replace")
        except ValueError as error:
            raise VtlError(f"$util.base64Decode: not base64 ({error})") from error


class Input:
    """``$input`` over one payload and the method request's parameters."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self.body = body
        self._params = {key: dict(values) for key, values in params.items()}
        self._document: Any = None
        self._parsed = False

    def _json(self) -> Any:
        if not self._parsed:
            self._parsed = True
            try:
                self._document = json.loads(self.body) if self.body.strip() else {}
            except ValueError:
                # AWS treats a payload that is not JSON as a string at "$".
                self._document = self.body
        return self._document

    def json(self, path: str) -> str:
        return json.dumps(evaluate_json_path(self._json(), str(path)), separators=(",", ":"))

    def path(self, path: str) -> Any:
        value = evaluate_json_path(self._json(), str(path))
        return "" if value is None else value

    def params(self, name: Any = None) -> Any:
        if name is None:
            return self._params
        wanted = str(name)
        for location in ("path", "querystring"):
            values = self._params.get(location, {})
            if wanted in values:
                return values[wanted]
        for key, value in self._params.get("header", {}).items():
            if key.lower() == wanted.lower():
                return value
        return ""


def render(
    template: str,
    *,
    body: str,
    params: Mapping[str, Mapping[str, str]],
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> str:
    """``template`` rendered over ``body``; :class:`VtlError` when it cannot be evaluated."""
    namespace = {
        "input": Input(body, params),
        "util": Util(),
        "context": dict(context),
        "stageVariables": dict(stage_variables),
        "method": {"request": {key: dict(values) for key, values in params.items()}},
    }
    try:
        return str(airspeed.Template(template).merge(namespace))
    except VtlError:
        raise
    except Exception as error:  # airspeed's syntax and execution errors, and ours inside
        cause = error.__cause__ or error.__context__
        if isinstance(cause, VtlError):
            raise cause from error
        raise VtlError(f"mapping template failed: {type(error).__name__}: {error}") from error
