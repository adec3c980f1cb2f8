"""S3 object names of Firehose deliveries: default time prefix, custom prefix expressions.

AWS rules (Amazon Data Firehose developer guide, "Configure Amazon S3 object name format" and
"Understand custom prefixes for Amazon S3 objects"):

- a key is ``<evaluated prefix><suffix>``; the suffix is
  ``<stream name>-<stream version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><file extension>``;
- with no expression in ``Prefix``, Firehose adds the default time prefix ``yyyy/MM/dd/HH/``
  after it (``Prefix`` is used verbatim: no slash is added);
- a custom prefix may use ``!{timestamp:<Java DateTimeFormatter pattern>}`` (the approximate
  arrival time of the oldest record of the object, UTC; every use in one prefix is the same
  instant), ``!{firehose:random-string}`` (11 characters) and, in ``ErrorOutputPrefix`` only,
  ``!{firehose:error-output-type}``;
- when ``Prefix`` uses expressions, ``ErrorOutputPrefix`` is required;
- records a processing step could not handle go under ``ErrorOutputPrefix``, where
  ``!{firehose:error-output-type}`` is the failure (``processing-failed`` for a Lambda
  transformation); without an ErrorOutputPrefix, into the bucket's ``processing-failed`` folder.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
import uuid

EXPRESSION = re.compile(r"!\{([^}:]*):([^}]*)\}")
# Java DateTimeFormatter letters the local cloud evaluates (the ones prefixes use).
_JAVA_FIELDS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
}
_JAVA_TOKEN = re.compile(r"'([^']*)'|(yyyy|yy|MM|dd|HH|mm|ss)|([A-Za-z])|(.)")
_RANDOM_ALPHABET = string.ascii_letters + string.digits


class PrefixError(ValueError):
    """A Prefix/ErrorOutputPrefix that AWS refuses (the message is AWS's reason)."""


def has_expressions(prefix: str) -> bool:
    return "!{" in prefix


def java_date_format(pattern: str, moment: dt.datetime) -> str:
    """Format ``moment`` with a Java DateTimeFormatter pattern (quoted literals supported)."""
    out: list[str] = []
    for match in _JAVA_TOKEN.finditer(pattern):
        literal, field, letter, other = match.groups()
        if literal is not None:
            out.append(literal if literal else "'")
        elif field is not None:
            out.append(moment.strftime(_JAVA_FIELDS[field]))
        elif letter is not None:
            raise PrefixError(f"The timestamp pattern {pattern!r} is not supported")
        else:
            out.append(other)
    return "".join(out)


def validate(prefix: str, error_prefix: str) -> None:
    """Refuse what CreateDeliveryStream refuses about the two prefixes."""
    for text, is_error in ((prefix, False), (error_prefix, True)):
        stripped = EXPRESSION.sub("", text)
        if "!{" in stripped:
            raise PrefixError(f"The expression in {text!r} is malformed")
        for namespace, value in EXPRESSION.findall(text):
            if namespace == "timestamp":
                java_date_format(value, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
            elif namespace == "firehose":
                if value == "error-output-type" and not is_error:
                    raise PrefixError(
                        "The expression !{firehose:error-output-type} is only allowed in "
                        "ErrorOutputPrefix"
                    )
                if value not in ("random-string", "error-output-type"):
                    raise PrefixError(f"Unknown firehose expression !{{firehose:{value}}}")
            else:
                raise PrefixError(
                    f"The namespace {namespace!r} is not supported by the local cloud "
                    "(dynamic partitioning is not emulated)"
                )
    if has_expressions(prefix) and not error_prefix:
        raise PrefixError(
            "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions"
        )


def evaluate(prefix: str, moment: dt.datetime, error_output_type: str | None = None) -> str:
    """The evaluated prefix for an object whose oldest record arrived at ``moment`` (UTC).

    Error output (``error_output_type`` given) under a prefix without expressions goes to
    ``<prefix><error output type>/yyyy/MM/dd/HH/``: with no ErrorOutputPrefix at all, that is
    the ``processing-failed`` folder of the bucket.
    """
    if not has_expressions(prefix):
        folder = f"{error_output_type}/" if error_output_type else ""
        return prefix + folder + moment.strftime("%Y/%m/%d/%H/")

    def substitute(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return java_date_format(value, moment)
        if value == "random-string":
            return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(11))
        return error_output_type or ""

    return EXPRESSION.sub(substitute, prefix)


def object_key(
    prefix: str,
    stream_name: str,
    version: str,
    moment: dt.datetime,
    extension: str = "",
    error_output_type: str | None = None,
) -> str:
    """``<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>``."""
    suffix = f"{stream_name}-{version}-{moment.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"
    return evaluate(prefix, moment, error_output_type) + suffix + extension
