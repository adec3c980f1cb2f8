"""The REST API Lambda proxy event (payload format 1.0), built without a server.

AWS rules checked here (API Gateway developer guide, "Input format of a Lambda function for
proxy integration"): ``resource`` is the resource's path template and ``path`` the request path
without the stage, while ``requestContext.path`` keeps the stage; ``headers`` and
``queryStringParameters`` hold the last value of a repeated name and their ``multiValue``
twins hold every value; maps with nothing in them are ``null``; the body is base64 with
``isBase64Encoded: true`` only when the request's Content-Type is one of the API's
binaryMediaTypes.
"""

from __future__ import annotations

import base64
import re
import uuid

from localcloud.apigateway.messages import HttpRequest
from localcloud.apigateway.model import DeployedStage, MethodSpec, ResourceSpec
from localcloud.apigateway.proxy_event import (
    RequestIds,
    build_proxy_event,
    media_type_matches,
    request_time,
    trace_id_for,
)

STAGE = DeployedStage(
    account_id="123456789012",
    region="eu-west-1",
    api_id="abc123",
    stage_name="Prod",
    resources=(),
    stage_variables={"alias": "live"},
    binary_media_types=("image/png", "application/vnd.custom+*"),
)
RESOURCE = ResourceSpec(id="res42", path="/items/{id}", methods={"GET": MethodSpec("GET")})
IDS = RequestIds(
    request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    extended_request_id="KxQ2YEMxoAMFkEA=",
    trace_id="Root=1-5759e988-bd862e3fe1be46a994272793",
    epoch_millis=1_428_582_896_000,
)


def event_for(request: HttpRequest, stage: DeployedStage = STAGE, params=None) -> dict:
    return build_proxy_event(
        request,
        stage=stage,
        resource=RESOURCE,
        path_parameters=params if params is not None else {"id": "7"},
        ids=IDS,
        forwarded_port="4566",
        forwarded_proto="http",
    )


def get(path="/items/7", query="", headers=(), body=b"", method="GET") -> HttpRequest:
    return HttpRequest(
        method=method,
        path=path,
        segments=tuple(path.strip("/").split("/")),
        query_string=query,
        headers=tuple(headers),
        body=body,
        source_ip="10.1.2.3",
    )


def test_resource_path_and_stage_fields():
    """``resource`` is the template, ``path`` has no stage, ``requestContext.path`` has it."""
    event = event_for(get())
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/7"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"alias": "live"}
    context = event["requestContext"]
    assert context["stage"] == "Prod"
    assert context["path"] == "/Prod/items/7"
    assert context["resourcePath"] == "/items/{id}"
    assert context["resourceId"] == "res42"
    assert context["httpMethod"] == "GET"


def test_request_context_identifies_account_api_and_request():
    """requestContext carries the account, API, domain, ids, protocol and request time."""
    context = event_for(get(headers=[("User-Agent", "curl/8.0")]))["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "abc123"
    assert context["domainName"] == "abc123.execute-api.eu-west-1.amazonaws.com"
    assert context["domainPrefix"] == "abc123"
    assert context["requestId"] == IDS.request_id
    assert context["extendedRequestId"] == IDS.extended_request_id
    assert context["protocol"] == "HTTP/1.1"
    assert context["requestTimeEpoch"] == 1_428_582_896_000
    assert context["requestTime"] == "09/Apr/2015:12:34:56 +0000"
    assert context["identity"]["sourceIp"] == "10.1.2.3"
    assert context["identity"]["userAgent"] == "curl/8.0"
    assert context["identity"]["cognitoIdentityId"] is None
    assert "authorizer" not in context  # no authorizer on the method


def test_default_ids_look_like_aws_ones():
    """requestId is a UUID; the extended id is 16 base64 characters; traces are X-Ray roots."""
    ids = RequestIds()
    uuid.UUID(ids.request_id)
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", ids.extended_request_id)
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", ids.trace_id)
    assert request_time(0) == "01/Jan/1970:00:00:00 +0000"


def test_absent_maps_are_null():
    """No query string, no path parameters, no stage variables, no body: all ``null``."""
    stage = DeployedStage(
        account_id="123456789012", region="us-east-1", api_id="a", stage_name="dev", resources=()
    )
    event = event_for(get(), stage=stage, params={})
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_query_string_single_and_multi_values():
    """A repeated parameter: the last value in the single map, all of them in the multi map."""
    event = event_for(get(query="color=red&color=blue&size=L&empty=&name=J%C3%B6rg%20K"))
    assert event["queryStringParameters"] == {
        "color": "blue",
        "size": "L",
        "empty": "",
        "name": "Jörg K",
    }
    assert event["multiValueQueryStringParameters"] == {
        "color": ["red", "blue"],
        "size": ["L"],
        "empty": [""],
        "name": ["Jörg K"],
    }


def test_headers_single_and_multi_values():
    """A repeated header: the last value in ``headers``, all of them in ``multiValueHeaders``."""
    event = event_for(get(headers=[("Accept", "text/plain"), ("X-Tag", "one"), ("X-Tag", "two")]))
    assert event["headers"]["X-Tag"] == "two"
    assert event["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert event["headers"]["Accept"] == "text/plain"
    assert event["multiValueHeaders"]["Accept"] == ["text/plain"]


def test_gateway_adds_forwarding_and_trace_headers():
    """API Gateway adds X-Forwarded-For/Port/Proto and X-Amzn-Trace-Id to what it forwards."""
    event = event_for(get(headers=[("X-Forwarded-For", "192.0.2.1")]))
    headers = event["headers"]
    assert headers["X-Forwarded-For"] == "192.0.2.1, 10.1.2.3"
    assert headers["X-Forwarded-Port"] == "4566"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Amzn-Trace-Id"] == IDS.trace_id
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["192.0.2.1, 10.1.2.3"]


def test_hop_by_hop_headers_are_not_forwarded():
    """Connection-level headers (Connection, Transfer-Encoding...) stop at the gateway."""
    event = event_for(
        get(headers=[("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"), ("A", "b")])
    )
    assert "Connection" not in event["headers"]
    assert "Transfer-Encoding" not in event["multiValueHeaders"]
    assert event["headers"]["A"] == "b"


def test_incoming_trace_header_is_continued():
    """A client that sends an X-Ray trace header keeps its trace; others get a new root."""
    traced = get(headers=[("X-Amzn-Trace-Id", "Root=1-00000000-000000000000000000000001")])
    assert trace_id_for(traced) == "Root=1-00000000-000000000000000000000001"
    assert trace_id_for(get()).startswith("Root=1-")


def test_text_body_is_passed_as_text():
    """A Content-Type outside binaryMediaTypes leaves the body as UTF-8 text."""
    event = event_for(
        get(
            method="POST", headers=[("Content-Type", "application/json")], body='{"a":"é"}'.encode()
        )
    )
    assert event["body"] == '{"a":"é"}'
    assert event["isBase64Encoded"] is False


def test_binary_body_is_base64_when_content_type_is_a_binary_media_type():
    """A Content-Type in binaryMediaTypes (wildcards too) makes the body base64."""
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    event = event_for(get(method="POST", headers=[("Content-Type", "image/png")], body=png))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == png
    wildcard = event_for(
        get(
            method="POST",
            headers=[("Content-Type", "application/vnd.custom+zip; v=2")],
            body=b"\x00\x01",
        )
    )
    assert wildcard["isBase64Encoded"] is True
    assert base64.b64decode(wildcard["body"]) == b"\x00\x01"


def test_media_type_matching():
    """Media types match case-insensitively, without parameters, with ``*`` wildcards."""
    assert media_type_matches("Image/PNG; q=1", ["image/png"])
    assert media_type_matches("image/gif", ["image/*"])
    assert media_type_matches("text/plain", ["*/*"])
    assert not media_type_matches("image/gif", ["image/png"])
    assert not media_type_matches(None, ["*/*"])
