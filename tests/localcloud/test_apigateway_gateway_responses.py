"""Rendering gateway responses, without a server.

AWS rules (API Gateway developer guide, "Gateway response types for API Gateway", "Set up
gateway responses to customize error responses"): the error's own type wins over DEFAULT_4XX /
DEFAULT_5XX, which win over the built-in answer; a customisation without a status code keeps
the type's default status; header values are single-quoted static strings or request, stage
and context values; the body is the application/json template, by default
``{"message":$context.error.messageString}``. The local limit checked here too: templates are
not run through Velocity, only the known ``$context`` references are replaced.
"""

from __future__ import annotations

import json
import logging

import pytest

from localcloud.apigateway.gateway_responses import (
    DEFAULT_STATUS,
    ErrorContext,
    GatewayError,
    render,
)
from localcloud.apigateway.messages import HttpRequest
from localcloud.apigateway.model import GatewayResponseSpec

MISSING = GatewayError(
    "MISSING_AUTHENTICATION_TOKEN",
    403,
    "Missing Authentication Token",
    "MissingAuthenticationTokenException",
)
TIMEOUT = GatewayError("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out")


def spec(
    response_type: str,
    status: str | None = None,
    *,
    parameters: dict[str, str] | None = None,
    templates: dict[str, str] | None = None,
) -> GatewayResponseSpec:
    return GatewayResponseSpec(response_type, status, parameters or {}, templates or {})


def context(**kwargs) -> ErrorContext:
    request = HttpRequest(
        method="GET",
        path="/items/7",
        segments=("items", "7"),
        query_string="lang=en&lang=fr",
        headers=(("Origin", "https://app.example.com"),),
    )
    defaults = {
        "request": request,
        "request_id": "req-1",
        "extended_request_id": "ext-1=",
        "api_id": "abc123",
        "stage": "Prod",
        "stage_variables": {"origin": "https://stage.example.com"},
        "path_parameters": {"id": "7"},
    }
    return ErrorContext(**{**defaults, **kwargs})


def rendered(error: GatewayError, *specs: GatewayResponseSpec):
    return render(error, {s.response_type: s for s in specs}, context())


def test_nothing_customised_is_the_built_in_answer():
    """Without a customisation of the type or of its DEFAULT_ family: the built-in answer."""
    response = rendered(MISSING, spec("DEFAULT_5XX", "500"))
    assert response.status == 403
    assert response.body == b'{"message": "Missing Authentication Token"}'
    assert response.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_default_template_names_the_error():
    """A customisation without templates uses {"message":$context.error.messageString}."""
    response = rendered(MISSING, spec("MISSING_AUTHENTICATION_TOKEN", "404"))
    assert response.status == 404
    assert response.body == b'{"message":"Missing Authentication Token"}'
    assert response.header("Content-Type") == "application/json"


def test_own_type_without_status_keeps_the_type_default():
    """Customised without a status code, a type answers with its table status."""
    failure = GatewayError("INTEGRATION_FAILURE", 500, "Internal server error")
    assert DEFAULT_STATUS["INTEGRATION_FAILURE"] == 504
    assert rendered(failure, spec("INTEGRATION_FAILURE")).status == 504
    # DEFAULT_5XX without a status keeps the error's own.
    assert rendered(failure, spec("DEFAULT_5XX")).status == 500


def test_invalid_status_code_is_ignored():
    """A statusCode that is not an HTTP status does not break the answer."""
    assert rendered(MISSING, spec("DEFAULT_4XX", "4xx")).status == 403


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'*'", "*"),
        ("''", ""),
        ("method.request.header.Origin", "https://app.example.com"),
        ("method.request.header.origin", "https://app.example.com"),
        ("method.request.querystring.lang", "fr"),
        ("method.request.path.id", "7"),
        ("stageVariables.origin", "https://stage.example.com"),
        ("context.requestId", "req-1"),
        ("context.error.responseType", "MISSING_AUTHENTICATION_TOKEN"),
    ],
)
def test_header_values(expression, expected):
    """Static quoted values, request headers, query strings and path parameters, stage
    variables and context variables."""
    parameters = {"gatewayresponse.header.X-Value": expression}
    response = rendered(MISSING, spec("DEFAULT_4XX", parameters=parameters))
    assert response.header("X-Value") == expected


def test_unresolvable_header_values_are_left_out(caplog):
    """A value with nothing to resolve to, or a parameter that is not a header, sends nothing."""
    parameters = {
        "gatewayresponse.header.X-Missing": "method.request.header.X-Nope",
        "gatewayresponse.header.X-Unknown": "method.request.body.field",
        "gatewayresponse.querystring.x": "'1'",
    }
    with caplog.at_level(logging.WARNING, logger="localcloud.apigateway"):
        response = rendered(MISSING, spec("DEFAULT_4XX", parameters=parameters))
    names = {name.lower() for name, _ in response.headers}
    assert not names & {"x-missing", "x-unknown", "x"}
    assert "X-Missing" in caplog.text
    assert "not a header" in caplog.text


def test_header_parameter_replaces_content_type():
    """A customised Content-Type replaces application/json instead of adding a second one."""
    parameters = {"gatewayresponse.header.content-type": "'application/problem+json'"}
    response = rendered(MISSING, spec("DEFAULT_4XX", parameters=parameters))
    assert [v for k, v in response.headers if k.lower() == "content-type"] == [
        "application/problem+json"
    ]


def test_context_reference_forms():
    """$context.x, ${context.x} and $!context.x are replaced; a full stop after a reference
    is kept."""
    template = (
        '{"a":"${context.error.message}","b":"$!context.stage","c":"$context.apiId.",'
        '"d":"$!{context.extendedRequestId}","e":"$context.httpMethod"}'
    )
    response = rendered(
        TIMEOUT, spec("INTEGRATION_TIMEOUT", templates={"application/json": template})
    )
    assert json.loads(response.body) == {
        "a": "Endpoint request timed out",
        "b": "Prod",
        "c": "abc123.",
        "d": "ext-1=",
        "e": "GET",
    }


def test_message_string_is_json_escaped():
    """$context.error.messageString is a JSON string literal, quotes and escapes included."""
    error = GatewayError("DEFAULT_5XX", 502, 'said "no"')
    response = rendered(
        error, spec("DEFAULT_5XX", templates={"application/json": "$context.error.messageString"})
    )
    assert json.loads(response.body) == 'said "no"'


def test_vtl_beyond_context_references_is_served_as_written(caplog):
    """Local limit: directives, $util/$input calls and unknown $context variables are not
    evaluated; the text is served as written and the log says so."""
    template = (
        '#if(true){"v":"$context.authorizer.principalId","m":$context.error.messageString}#end'
    )
    with caplog.at_level(logging.WARNING, logger="localcloud.apigateway"):
        response = rendered(
            MISSING, spec("MISSING_AUTHENTICATION_TOKEN", templates={"application/json": template})
        )
    assert response.body.decode() == (
        '#if(true){"v":"$context.authorizer.principalId","m":"Missing Authentication Token"}#end'
    )
    assert "$context.authorizer.principalId" in caplog.text


def test_json_template_is_chosen_by_media_type():
    """The application/json template is the body (media type matched without case); without
    one the default template applies."""
    templates = {"text/plain": "plain", "Application/JSON": '{"json":true}'}
    assert rendered(MISSING, spec("DEFAULT_4XX", templates=templates)).body == b'{"json":true}'
    only_text = rendered(MISSING, spec("DEFAULT_4XX", templates={"text/plain": "plain"}))
    assert only_text.body == b'{"message":"Missing Authentication Token"}'


def test_request_too_large_ignores_customisations():
    """413 REQUEST_TOO_LARGE is not customisable on REST APIs."""
    too_large = GatewayError("REQUEST_TOO_LARGE", 413, "Request Too Long")
    response = rendered(too_large, spec("REQUEST_TOO_LARGE", "400"), spec("DEFAULT_4XX", "400"))
    assert response.status == 413
    assert json.loads(response.body) == {"message": "Request Too Long"}
