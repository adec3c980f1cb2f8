"""The Lambda function behind an ``AWS_PROXY`` integration URI.

The URI has the form
``arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations``;
the function ARN may name stage variables (``${stageVariables.alias}``) that API Gateway
replaces with the stage's values on every request, so one API can call a different function
or alias per stage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_LAMBDA_URI = re.compile(
    r"^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(?P<fn>.+)/invocations$"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(?P<name>[A-Za-z0-9_]+)\}")
_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9_$-]+))?$"
)


class IntegrationConfigError(Exception):
    """The integration cannot be called as configured (AWS: "configuration error", 500)."""


def substitute_stage_variables(text: str, stage_variables: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in stage_variables:
            raise IntegrationConfigError(f"stage variable {name!r} is not defined on the stage")
        return stage_variables[name]

    return _STAGE_VARIABLE.sub(replace, text)


def lambda_function_arn(uri: str | None, stage_variables: Mapping[str, str]) -> str:
    """The function ARN (with its qualifier, if any) an ``AWS_PROXY`` integration calls."""
    if not uri:
        raise IntegrationConfigError("the integration has no URI")
    match = _LAMBDA_URI.match(substitute_stage_variables(uri, stage_variables))
    if match is None:
        raise IntegrationConfigError(f"not a Lambda invocation URI: {uri}")
    function_arn = match.group("fn")
    if _FUNCTION_ARN.match(function_arn) is None:
        raise IntegrationConfigError(f"not a Lambda function ARN: {function_arn}")
    return function_arn


def split_function_arn(function_arn: str) -> tuple[str, str, str, str | None]:
    """``(account, region, function name, qualifier)`` of a function ARN."""
    match = _FUNCTION_ARN.match(function_arn)
    if match is None:
        raise IntegrationConfigError(f"not a Lambda function ARN: {function_arn}")
    return match["account"], match["region"], match["name"], match["qualifier"]
