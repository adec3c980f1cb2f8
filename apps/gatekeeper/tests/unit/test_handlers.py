"""The authorizer and reports handlers in process, DynamoDB played by moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/reports"


def _add_client(load_handler, lambda_context, routes):
    admin = load_handler("gatekeeper_admin")
    return admin.lambda_handler(
        {"action": "add_client", "payload": {"name": "unit", "routes": routes}}, lambda_context
    )


def test_authorizer_returns_a_policy_and_counts_the_decision(load_handler, tables, lambda_context):
    added = _add_client(load_handler, lambda_context, ["GET /reports"])
    authorizer = load_handler("gatekeeper_authorizer")
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {added['token']}",
        "methodArn": METHOD_ARN,
    }

    answer = authorizer.lambda_handler(event, lambda_context)

    assert answer["policyDocument"]["Statement"][0]["Resource"] == [METHOD_ARN]
    assert answer["context"]["clientId"] == added["client_id"]
    record = tables.clients.get_item(Key={"client_id": added["client_id"]})["Item"]
    assert record["authorizations"] == 1


def test_authorizer_denies_a_bad_token_with_a_policy(load_handler, tables, lambda_context):
    """A bad token is not an error of the function: it answers an explicit Deny (403)."""
    authorizer = load_handler("gatekeeper_authorizer")
    event = json.loads((EVENTS_DIR / "authorizer_token.json").read_text())

    answer = authorizer.lambda_handler(event, lambda_context)

    assert answer["principalId"] == "anonymous"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_authorizer_raises_exactly_unauthorized_without_a_bearer_token(
    load_handler, tables, lambda_context
):
    """API Gateway answers 401 only when the authorizer fails with the message 'Unauthorized'."""
    authorizer = load_handler("gatekeeper_authorizer")
    event = {"type": "TOKEN", "authorizationToken": "Basic dXNlcjpwYXNz", "methodArn": METHOD_ARN}

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(event, lambda_context)


def _proxy_event(method, resource, path, client_id, *, body=None, path_parameters=None):
    event = json.loads((EVENTS_DIR / "get_reports.json").read_text())
    event.update(
        httpMethod=method, resource=resource, path=path, body=body, pathParameters=path_parameters
    )
    event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/v1{path}")
    event["requestContext"]["authorizer"]["clientId"] = client_id
    event["requestContext"]["requestId"] = f"req-{method}-{path}"
    return event


def test_reports_echo_the_authorizers_client_and_record_each_call(
    load_handler, tables, lambda_context
):
    reports = load_handler("gatekeeper_reports")

    created = reports.lambda_handler(
        _proxy_event("POST", "/reports", "/reports", "c-a", body=json.dumps({"title": "Q4"})),
        lambda_context,
    )
    report = json.loads(created["body"])["report"]
    fetched = reports.lambda_handler(
        _proxy_event(
            "GET",
            "/reports/{report_id}",
            f"/reports/{report['report_id']}",
            "c-a",
            path_parameters={"report_id": report["report_id"]},
        ),
        lambda_context,
    )
    other = reports.lambda_handler(
        _proxy_event(
            "GET",
            "/reports/{report_id}",
            f"/reports/{report['report_id']}",
            "c-b",
            path_parameters={"report_id": report["report_id"]},
        ),
        lambda_context,
    )

    assert created["statusCode"] == 201
    assert json.loads(fetched["body"]) == {"clientId": "c-a", "report": report}
    # Reports are keyed by the caller: another client cannot read this one.
    assert other["statusCode"] == 404
    calls = tables.calls.scan()["Items"]
    assert sorted((c["client_id"], c["route"]) for c in calls) == [
        ("c-a", "GET /reports/{report_id}"),
        ("c-a", "POST /reports"),
        ("c-b", "GET /reports/{report_id}"),
    ]
    assert all(c["expires_at"] > 0 for c in calls)


def test_reports_refuse_an_invalid_body_with_400(load_handler, tables, lambda_context):
    reports = load_handler("gatekeeper_reports")

    response = reports.lambda_handler(
        _proxy_event("POST", "/reports", "/reports", "c-a", body=json.dumps({"title": 5})),
        lambda_context,
    )

    assert response["statusCode"] == 400
    assert "title" in json.loads(response["body"])["message"]


def test_reports_list_only_the_callers_reports(load_handler, tables, lambda_context):
    reports = load_handler("gatekeeper_reports")
    for client_id in ("c-a", "c-b"):
        reports.lambda_handler(
            _proxy_event(
                "POST", "/reports", "/reports", client_id, body=json.dumps({"title": client_id})
            ),
            lambda_context,
        )

    listed = json.loads(
        reports.lambda_handler(_proxy_event("GET", "/reports", "/reports", "c-b"), lambda_context)[
            "body"
        ]
    )

    assert listed["clientId"] == "c-b"
    assert [r["title"] for r in listed["reports"]] == ["c-b"]
