"""HTTP_PROXY and HTTP integrations of REST APIs, through the local cloud's endpoint.

APIs are created with the real control-plane calls; requests go to the local cloud's
execute-api URL; the integration target is a tiny HTTP server on loopback. AWS rules: API
Gateway developer guide, "Set up HTTP integrations in API Gateway", "Set up HTTP proxy
integrations", "Integration passthrough behaviors", "Parameter mapping for REST APIs",
"Amazon API Gateway quotas" (29 s integration timeout).
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from _apigateway_integration_helpers import (
    Answer,
    Backend,
    apigw_fixture,  # noqa: F401
    backend_fixture,  # noqa: F401
    create_api,
    execute_url,
)

from localcloud.apigateway.config import TIMEOUT_ENV


@pytest.fixture
def endpoint(local_cloud: Any) -> str:
    return str(local_cloud.endpoint_url)


def proxy_route(uri: str, **extra: Any) -> dict[str, Any]:
    return {
        "integration": {
            "type": "HTTP_PROXY",
            "integrationHttpMethod": "ANY",
            "uri": uri,
            **extra,
        }
    }


def test_http_proxy_passes_the_request_and_returns_the_answer_as_is(apigw, backend, endpoint):
    """HTTP_PROXY: the client's method, query string, headers and body reach the endpoint;
    its status, headers and body come back unchanged."""
    backend.answer = Answer(
        status=201, headers=[("X-Backend", "yes"), ("Content-Type", "text/plain")], body=b"made"
    )
    api_id = create_api(apigw, {("/orders", "ANY"): proxy_route(f"{backend.url}/legacy/orders")})
    response = requests.put(
        execute_url(endpoint, api_id, "/orders"),
        params={"a": "1", "b": "two words"},
        headers={"X-Client": "c1", "Content-Type": "application/xml"},
        data=b"<order/>",
        timeout=10,
    )
    assert response.status_code == 201
    assert response.text == "made"
    assert response.headers["X-Backend"] == "yes"
    assert response.headers["Content-Type"] == "text/plain"
    seen = backend.last
    assert seen.method == "PUT"
    assert seen.path == "/legacy/orders?a=1&b=two+words"
    assert seen.headers["X-Client"] == "c1"
    assert seen.headers["Content-Type"] == "application/xml"
    assert seen.headers["Host"] == backend.url.split("://", 1)[1]
    assert seen.body == b"<order/>"


def test_greedy_path_is_substituted_into_the_uri(apigw, backend, endpoint):
    """A {proxy+} resource with integration.request.path.proxy = method.request.path.proxy:
    the greedy path replaces {proxy} in the integration URI."""
    api_id = create_api(
        apigw,
        {
            ("/{proxy+}", "ANY"): proxy_route(
                f"{backend.url}/v1/{{proxy}}",
                requestParameters={"integration.request.path.proxy": "method.request.path.proxy"},
            )
        },
    )
    response = requests.get(execute_url(endpoint, api_id, "/shop/items/7"), timeout=10)
    assert response.status_code == 200
    assert backend.last.path == "/v1/shop/items/7"
    assert backend.last.method == "GET"


def test_request_parameters_set_headers_and_query(apigw, backend, endpoint):
    """requestParameters: integration.request.header/querystring from method.request.* and
    static 'values'."""
    api_id = create_api(
        apigw,
        {
            ("/p", "GET"): proxy_route(
                f"{backend.url}/p",
                requestParameters={
                    "integration.request.header.X-Tenant": "method.request.header.X-Org",
                    "integration.request.header.X-Static": "'fixed'",
                    "integration.request.querystring.source": "'apigw'",
                },
            )
        },
    )
    requests.get(execute_url(endpoint, api_id, "/p"), headers={"X-Org": "acme"}, timeout=10)
    assert backend.last.headers["X-Tenant"] == "acme"
    assert backend.last.headers["X-Static"] == "fixed"
    assert backend.last.path == "/p?source=apigw"


def test_slow_endpoint_is_504(apigw, backend, endpoint, monkeypatch):
    """An endpoint slower than the integration timeout (29 s, lowered here) is a 504
    "Endpoint request timed out"."""
    monkeypatch.setenv(TIMEOUT_ENV, "0.3")
    backend.answer = Answer(delay=30)
    api_id = create_api(apigw, {("/slow", "GET"): proxy_route(f"{backend.url}/slow")})
    response = requests.get(execute_url(endpoint, api_id, "/slow"), timeout=10)
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}


def test_refused_connection_is_502(apigw, endpoint):
    """An endpoint that refuses the connection: 502 {"message": "Internal server error"}."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    api_id = create_api(apigw, {("/down", "GET"): proxy_route(f"http://127.0.0.1:{port}/x")})
    response = requests.get(execute_url(endpoint, api_id, "/down"), timeout=10)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_unknown_host_is_502(apigw, endpoint):
    """An endpoint whose host name does not resolve (.invalid never does, RFC 6761): 502
    {"message": "Internal server error"}, like a refused connection."""
    api_id = create_api(apigw, {("/nowhere", "GET"): proxy_route("http://no-such-host.invalid/x")})
    response = requests.get(execute_url(endpoint, api_id, "/nowhere"), timeout=20)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_method_timeout_in_millis_caps_the_wait(apigw, backend, endpoint, monkeypatch):
    """timeoutInMillis of the integration: a shorter per-method timeout than the 29 s one
    answers 504 when the endpoint is slower than it."""
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    backend.answer = Answer(delay=30)
    api_id = create_api(
        apigw, {("/slow", "GET"): proxy_route(f"{backend.url}/slow", timeoutInMillis=300)}
    )
    response = requests.get(execute_url(endpoint, api_id, "/slow"), timeout=10)
    assert response.status_code == 504


def http_route(**extra: Any) -> dict[str, Any]:
    return {
        "integration": {"type": "HTTP", "integrationHttpMethod": "POST", **extra},
        "responses": [
            {
                "statusCode": "200",
                "responseTemplates": {
                    "application/json": "{\"id\": $input.json('$.orderId'), "
                    '"request": "$context.requestId"}'
                },
                "responseParameters": {
                    "method.response.header.X-Order": "integration.response.body.orderId",
                    "method.response.header.X-From": "integration.response.header.X-Backend",
                },
            },
            {
                "statusCode": "404",
                "selectionPattern": "4\\d{2}",
                "responseTemplates": {
                    "application/json": '{"error": "not found: $input.path(\'$.why\')"}'
                },
            },
        ],
    }


def test_http_integration_maps_request_and_response(apigw, backend, endpoint):
    """HTTP (non-proxy): the request template renders the body sent with the integration's
    method; the default integration response maps the endpoint's 2xx answer through its
    template and responseParameters."""
    backend.answer = Answer(
        status=200,
        headers=[("Content-Type", "application/json"), ("X-Backend", "b1")],
        body=json.dumps({"orderId": "o-7"}).encode(),
    )
    api_id = create_api(
        apigw,
        {
            ("/orders/{id}", "GET"): http_route(
                uri=f"{backend.url}/orders",
                requestTemplates={
                    "application/json": '{"lookup": "$input.params(\'id\')", '
                    '"verbose": "$input.params(\'verbose\')"}'
                },
            )
        },
    )
    response = requests.get(
        execute_url(endpoint, api_id, "/orders/o-7"), params={"verbose": "1"}, timeout=10
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "o-7"
    assert body["request"] == response.headers["x-amzn-RequestId"]
    assert response.headers["X-Order"] == "o-7"
    assert response.headers["X-From"] == "b1"
    assert backend.last.method == "POST"
    assert json.loads(backend.last.body) == {"lookup": "o-7", "verbose": "1"}


def test_selection_pattern_picks_the_response_by_status(apigw, backend, endpoint):
    """selectionPattern is a regex matched against the endpoint's status code: a 404 from the
    endpoint selects the 4\\d{2} integration response and its template."""
    backend.answer = Answer(status=404, body=json.dumps({"why": "gone"}).encode())
    api_id = create_api(apigw, {("/orders", "POST"): http_route(uri=f"{backend.url}/orders")})
    response = requests.post(execute_url(endpoint, api_id, "/orders"), json={}, timeout=10)
    assert response.status_code == 404
    assert response.json() == {"error": "not found: gone"}


def test_without_a_matching_template_the_body_passes_through(apigw, backend, endpoint):
    """passthroughBehavior WHEN_NO_MATCH (the default): a Content-Type without template sends
    the body unchanged."""
    backend.answer = Answer(body=b'{"orderId": "x"}')
    api_id = create_api(
        apigw,
        {
            ("/orders", "POST"): http_route(
                uri=f"{backend.url}/orders",
                requestTemplates={"application/json": '{"wrapped": $input.body}'},
            )
        },
    )
    requests.post(
        execute_url(endpoint, api_id, "/orders"),
        data=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert backend.last.body == b"a=1"
    requests.post(execute_url(endpoint, api_id, "/orders"), json={"k": 1}, timeout=10)
    assert json.loads(backend.last.body) == {"wrapped": {"k": 1}}


@pytest.mark.parametrize("behavior", ["NEVER", "WHEN_NO_TEMPLATES"])
def test_strict_passthrough_refuses_unmapped_content_types(apigw, backend, endpoint, behavior):
    """passthroughBehavior NEVER, or WHEN_NO_TEMPLATES on an integration with templates: a
    Content-Type without template is 415 Unsupported Media Type, the endpoint is not called."""
    api_id = create_api(
        apigw,
        {
            ("/orders", "POST"): http_route(
                uri=f"{backend.url}/orders",
                passthroughBehavior=behavior,
                requestTemplates={"application/json": "$input.body"},
            )
        },
    )
    response = requests.post(
        execute_url(endpoint, api_id, "/orders"),
        data=b"<x/>",
        headers={"Content-Type": "application/xml"},
        timeout=10,
    )
    assert response.status_code == 415
    assert response.json() == {"message": "Unsupported Media Type"}
    assert backend.requests == []


def test_no_integration_response_for_the_status_is_a_configuration_error(apigw, backend, endpoint):
    """No integration response selected and no default: "No match for output mapping and no
    default output mapping specified", a 500."""
    backend.answer = Answer(status=200, body=b"{}")
    route = http_route(uri=f"{backend.url}/orders")
    route["responses"] = [route["responses"][1]]  # only the 4xx one
    api_id = create_api(apigw, {("/orders", "GET"): route})
    response = requests.get(execute_url(endpoint, api_id, "/orders"), timeout=10)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}


def test_backend_fixture_records_requests(backend: Backend):
    """The helper server itself: a request is recorded and answered (guards the other tests)."""
    backend.answer = Answer(status=418, body=b"teapot")
    response = requests.get(f"{backend.url}/x?y=1", timeout=5)
    assert response.status_code == 418
    assert backend.last.path == "/x?y=1"


# --- integrations whose URL is another API of the local cloud ---------------------------------


def greedy_proxy_route(uri: str) -> dict[str, Any]:
    return proxy_route(
        uri, requestParameters={"integration.request.path.proxy": "method.request.path.proxy"}
    )


def test_execute_api_url_of_a_local_api_is_served_by_the_local_data_plane(apigw, backend, endpoint):
    """An HTTP_PROXY whose URI is ``https://{api}.execute-api.{region}.amazonaws.com/{stage}/...``
    of an API that exists on the local cloud is answered by that API here (on AWS the host is
    public; offline it resolves nowhere). Both hops keep the method, path, query and body, and
    the inner API's answer comes back unchanged."""
    backend.answer = Answer(status=202, headers=[("X-Legacy", "1")], body=b"from legacy")
    inner = create_api(
        apigw, {("/{proxy+}", "ANY"): greedy_proxy_route(f"{backend.url}/{{proxy}}")}
    )
    inner_url = f"https://{inner}.execute-api.eu-west-1.amazonaws.com/Prod"
    outer = create_api(
        apigw, {("/{proxy+}", "ANY"): greedy_proxy_route(f"{inner_url}/app/{{proxy}}")}
    )
    response = requests.post(
        execute_url(endpoint, outer, "/customers/42"),
        params=[("tag", "a"), ("tag", "b c")],
        headers={"Content-Type": "application/json", "X-Client": "c1"},
        data=b'{"name": "Ada"}',
        timeout=10,
    )
    assert response.status_code == 202, response.text
    assert response.text == "from legacy"
    assert response.headers["X-Legacy"] == "1"
    # One request id: the outer API's (the inner API's answer does not add a second one).
    assert "," not in response.headers["x-amzn-RequestId"]
    seen = backend.last
    assert (seen.method, seen.path) == ("POST", "/app/customers/42?tag=a&tag=b+c")
    assert seen.headers["X-Client"] == "c1"
    assert seen.body == b'{"name": "Ada"}'


def test_execute_api_url_of_a_missing_stage_is_forbidden_like_aws(apigw, backend, endpoint):
    """The local API exists but has no such stage: its own 403 "Forbidden" comes back, as the
    public endpoint answers on AWS."""
    inner = create_api(
        apigw, {("/{proxy+}", "ANY"): greedy_proxy_route(f"{backend.url}/{{proxy}}")}
    )
    outer = create_api(
        apigw,
        {
            ("/{proxy+}", "ANY"): greedy_proxy_route(
                f"https://{inner}.execute-api.us-east-1.amazonaws.com/Nope/{{proxy}}"
            )
        },
    )
    response = requests.get(execute_url(endpoint, outer, "/x"), timeout=10)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    assert backend.requests == []


def test_local_apis_proxying_in_a_loop_end_in_a_timeout(apigw, endpoint):
    """An API whose HTTP_PROXY points at itself loops until the outer call times out on AWS;
    the local cloud stops the loop at once with that same 504."""
    api_id = apigw.create_rest_api(name="loop")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri=f"https://{api_id}.execute-api.us-east-1.amazonaws.com/Prod/",
    )
    apigw.create_deployment(restApiId=api_id, stageName="Prod")
    response = requests.get(execute_url(endpoint, api_id, "/"), timeout=10)
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}


def test_execute_api_url_of_a_local_http_api_reaches_that_http_api(apigw, aws, backend, endpoint):
    """The same holds for an HTTP API (v2) of the local cloud: a REST API's HTTP_PROXY to its
    ``$default`` stage URL is answered by that HTTP API, offline."""
    backend.answer = Answer(status=200, body=b"from the http api")
    apigwv2 = aws("apigatewayv2")
    http_api = apigwv2.create_api(Name="v2-target", ProtocolType="HTTP")["ApiId"]
    try:
        integration = apigwv2.create_integration(
            ApiId=http_api,
            IntegrationType="HTTP_PROXY",
            IntegrationMethod="ANY",
            IntegrationUri=f"{backend.url}/v2/{{proxy}}",
            PayloadFormatVersion="1.0",
        )
        apigwv2.create_route(
            ApiId=http_api,
            RouteKey="ANY /{proxy+}",
            Target=f"integrations/{integration['IntegrationId']}",
        )
        apigwv2.create_stage(ApiId=http_api, StageName="$default", AutoDeploy=True)
        outer = create_api(
            apigw,
            {
                ("/{proxy+}", "ANY"): greedy_proxy_route(
                    f"https://{http_api}.execute-api.us-east-1.amazonaws.com/{{proxy}}"
                )
            },
        )
        response = requests.put(
            execute_url(endpoint, outer, "/a/b") + "?k=v", data=b"payload", timeout=10
        )
        assert response.status_code == 200, response.text
        assert response.text == "from the http api"
        assert (backend.last.method, backend.last.path) == ("PUT", "/v2/a/b?k=v")
        assert backend.last.body == b"payload"
    finally:
        apigwv2.delete_api(ApiId=http_api)
