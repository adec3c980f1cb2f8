"""AWS service integrations (type ``AWS``): API Gateway calling an AWS API action itself.

The URI names the service and either an action or a path ("Set up an API integration
request", ``uri``): ``arn:aws:apigateway:{region}:{service}:action/{Action}`` or
``arn:aws:apigateway:{region}:{service}:path/{path}``. API Gateway signs the request with the
integration's ``credentials`` role (the local cloud does not enforce IAM: the role is only
logged) and sends the body the request template rendered (:mod:`.mapping`).

How the request is sent to the local cloud's own endpoint, by the service's protocol (read
from botocore's service model, so any service moto serves works):

- JSON protocol actions (Kinesis, DynamoDB, EventBridge...): ``POST /`` with
  ``X-Amz-Target: {targetPrefix}.{Action}`` and ``Content-Type: application/x-amz-json-{v}``;
- query protocol actions (SNS; SQS, whose API Gateway integrations use its query API with
  templates like ``Action=SendMessage&MessageBody=$input.body``): ``POST /?Action={Action}&
  Version={apiVersion}`` with the integration's query parameters and the rendered form body;
  a ``Content-Type`` request parameter naming ``x-amz-json`` selects the JSON protocol instead;
- ``path/...``: the integration's ``httpMethod`` on that path (``path/{account}/{queue}`` is
  the SQS queue URL), with the headers ``requestParameters`` set.

The service's answer is mapped through the integration responses (selection pattern on its
status code). Query-protocol services answer XML; API Gateway asks them for JSON
(``Accept: application/json``), which moto does not do, so the XML is turned into the same
JSON shape (``{"SendMessageResponse": {"SendMessageResult": {...}, ...}}``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import botocore.session
import xmltodict
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.apigateway.gateway_responses import GatewayError
from localcloud.apigateway.http_integration import send
from localcloud.apigateway.integration_uri import (
    IntegrationConfigError,
    substitute_stage_variables,
)
from localcloud.apigateway.mapping import (
    MethodRequest,
    integration_body,
    integration_parameters,
    integration_response,
    substitute_uri,
)
from localcloud.apigateway.messages import HttpResponse
from localcloud.apigateway.model import IntegrationSpec

log = logging.getLogger("localcloud.apigateway")

_SERVICE_URI = re.compile(
    r"^arn:aws[a-z-]*:apigateway:(?P<region>[a-z0-9-]+):(?P<service>[A-Za-z0-9.-]+):"
    r"(?P<kind>action|path)/(?P<rest>.+)$"
)
# Services whose API Gateway integrations speak the query protocol although botocore now
# uses JSON for them (SQS kept its query API for compatibility).
_QUERY_BY_DEFAULT = frozenset({"sqs"})
_CREDENTIALS = Credentials("localcloud", "localcloud")


@dataclass(frozen=True)
class ServiceUri:
    region: str
    service: str
    kind: str
    rest: str


def parse_service_uri(uri: str) -> ServiceUri:
    match = _SERVICE_URI.match(uri)
    if match is None:
        raise IntegrationConfigError(f"not an AWS service integration URI: {uri}")
    # "{subdomain}.{service}" names a service host such as "bucket.s3": keep the service.
    service = match["service"].rsplit(".", 1)[-1].lower()
    return ServiceUri(match["region"], service, match["kind"], match["rest"])


@dataclass(frozen=True)
class ServiceProtocol:
    protocol: str
    target_prefix: str | None
    json_version: str
    api_version: str
    signing_name: str


@lru_cache(maxsize=64)
def service_protocol(endpoint_prefix: str) -> ServiceProtocol:
    """The wire protocol of the service a URI names, from botocore's model."""
    session = botocore.session.get_session()
    names = [endpoint_prefix] + [
        name
        for name in session.get_available_services()
        if name != endpoint_prefix and endpoint_prefix in name
    ]
    for name in names:
        try:
            model = session.get_service_model(name)
        except Exception:
            continue
        if model.endpoint_prefix != endpoint_prefix:
            continue
        return ServiceProtocol(
            protocol=str(model.metadata.get("protocol")),
            target_prefix=model.metadata.get("targetPrefix"),
            json_version=str(model.metadata.get("jsonVersion") or "1.0"),
            api_version=str(model.api_version),
            signing_name=str(model.signing_name or endpoint_prefix),
        )
    raise IntegrationConfigError(f"unknown AWS service in the integration URI: {endpoint_prefix}")


def _signed_headers(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    protocol: ServiceProtocol,
    region: str,
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(_CREDENTIALS, protocol.signing_name, region).add_auth(request)
    return dict(request.headers.items())


def _xml_to_json(body: bytes) -> bytes:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not k.startswith("@")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    try:
        document = xmltodict.parse(body)
    except Exception:
        return body
    return json.dumps(strip(document)).encode("utf-8")


def call_aws(
    integration: IntegrationSpec,
    method_request: MethodRequest,
    endpoint_url: str,
    timeout: float,
) -> HttpResponse | GatewayError:
    """The answer of an ``AWS`` integration, through the local cloud's endpoint."""
    uri = parse_service_uri(
        substitute_stage_variables(integration.uri or "", method_request.stage_variables)
    )
    protocol = service_protocol(uri.service)
    if integration.credentials:
        log.debug("AWS integration credentials %s (not enforced locally)", integration.credentials)
    parameters = integration_parameters(integration, method_request)
    body = integration_body(integration, method_request)
    headers = {"Accept": "application/json"}
    headers.update(parameters.headers)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    http_method = (integration.http_method or "POST").upper()
    query = dict(parameters.querystring)
    if uri.kind == "action":
        use_query = protocol.protocol == "query" or uri.service in _QUERY_BY_DEFAULT
        if content_type and "x-amz-json" in content_type:
            use_query = False
        elif content_type and "x-www-form-urlencoded" in content_type:
            use_query = True
        if use_query:
            query = {"Action": uri.rest, "Version": protocol.api_version, **query}
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            path = "/"
        else:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = f"application/x-amz-json-{protocol.json_version}"
            headers["X-Amz-Target"] = f"{protocol.target_prefix}.{uri.rest}"
            path = "/"
    else:
        path = "/" + substitute_uri(uri.rest, parameters.path, method_request.path_parameters)
        if content_type is None:
            headers["Content-Type"] = "application/json"
    url = endpoint_url.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
    signed = _signed_headers(http_method, url, headers, body, protocol, uri.region)
    answer = send(http_method, url, signed, body, timeout)
    if isinstance(answer, GatewayError):
        return answer
    content = answer.content
    answer_type = answer.headers.get("Content-Type", "")
    if "xml" in answer_type or content.lstrip().startswith(b"<"):
        content = _xml_to_json(content)
    if answer.status_code >= 400:
        log.warning(
            "AWS integration %s %s answered %d: %s",
            uri.service,
            uri.rest,
            answer.status_code,
            content[:500].decode("utf-8", errors="replace"),
        )
    return integration_response(
        integration.responses,
        answer.status_code,
        {"Content-Type": "application/json"},
        content,
        method_request,
    )


__all__ = ["call_aws", "parse_service_uri", "service_protocol"]
