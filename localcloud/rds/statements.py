"""SQL text of Data API statements: named parameters and statement boundaries.

The Data API takes ``:name`` placeholders and a list of named parameters. PostgreSQL drivers
take positional ones, so the SQL is scanned once, with PostgreSQL's lexical rules for what is
*not* SQL code (string literals ``'...'`` and ``E'...'``, quoted identifiers ``"..."``,
dollar-quoted bodies ``$tag$...$tag$``, ``--`` and nested ``/* */`` comments, and ``::``
casts), and each ``:name`` whose name is among the parameters becomes a positional
placeholder. A ``:name`` with no such parameter is left as it is, so PostgreSQL reports the
syntax error the service would.

The same scan finds whether the text holds more than one statement: the Data API runs one
statement per call (it uses the extended query protocol, which refuses several).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

_IDENT_START = re.compile(r"[A-Za-z_]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class TranslatedSql:
    """The SQL for the driver: ``%s`` placeholders (``%`` escaped), names in order."""

    text: str
    names: tuple[str, ...]
    statements: int

    @property
    def has_placeholders(self) -> bool:
        return bool(self.names)


def _skip_quoted(sql: str, start: int, quote: str, backslash_escapes: bool) -> int:
    """Index just past the literal starting at ``start`` (the opening quote)."""
    i = start + 1
    while i < len(sql):
        char = sql[i]
        if backslash_escapes and char == "\\":
            i += 2
            continue
        if char == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:  # doubled quote inside
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _skip_block_comment(sql: str, start: int) -> int:
    depth, i = 0, start
    while i < len(sql):
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(sql)


def translate(sql: str, parameter_names: Collection[str]) -> TranslatedSql:
    """Replace ``:name`` (for the given names) by ``%s`` and escape other ``%`` as ``%%``."""
    out: list[str] = []
    names: list[str] = []
    statements = 0
    pending_code = False  # code seen since the last ';'
    i = 0
    length = len(sql)
    while i < length:
        char = sql[i]
        if char == "'" or (
            char in "eE"
            and i + 1 < length
            and sql[i + 1] == "'"
            and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_"))
        ):
            escapes = char != "'"
            quote_at = i if char == "'" else i + 1
            end = _skip_quoted(sql, quote_at, "'", escapes)
            out.append(sql[i:end].replace("%", "%%"))
            pending_code = True
            i = end
        elif char == '"':
            end = _skip_quoted(sql, i, '"', False)
            out.append(sql[i:end].replace("%", "%%"))
            pending_code = True
            i = end
        elif (
            char == "$"
            and (match := _DOLLAR_TAG.match(sql, i))
            and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_"))
        ):
            tag = match.group(0)
            close = sql.find(tag, match.end())
            end = length if close < 0 else close + len(tag)
            out.append(sql[i:end].replace("%", "%%"))
            pending_code = True
            i = end
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            end = length if newline < 0 else newline
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = _skip_block_comment(sql, i)
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif char == ":" and sql.startswith("::", i):
            out.append("::")
            pending_code = True
            i += 2
        elif char == ":" and i + 1 < length and _IDENT_START.match(sql, i + 1):
            ident = _IDENT.match(sql, i + 1)
            assert ident is not None
            name = ident.group(0)
            if name in parameter_names:
                out.append("%s")
                names.append(name)
            else:
                out.append(sql[i : ident.end()])
            pending_code = True
            i = ident.end()
        elif char == ";":
            if pending_code:
                statements += 1
            pending_code = False
            out.append(char)
            i += 1
        else:
            if not char.isspace():
                pending_code = True
            out.append("%%" if char == "%" else char)
            i += 1
    if pending_code:
        statements += 1
    return TranslatedSql("".join(out), tuple(names), statements)
