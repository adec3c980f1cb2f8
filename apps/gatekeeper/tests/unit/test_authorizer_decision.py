"""The authorizer's decision, against an in-memory client store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from gatekeeper_admin.admin import add_client, revoke_client
from gatekeeper_authorizer.decision import MethodArn, Unauthorized, authorize, is_denied

METHOD_ARN_BASE = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1"


def fixed_clock() -> datetime:
    return datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _add(store, routes):
    return add_client(store, {"name": "unit", "routes": routes}, clock=fixed_clock)


def test_allows_exactly_the_clients_routes_on_the_called_api_and_stage(store):
    added = _add(store, ["GET /reports", "GET /reports/{id}"])

    answer = authorize(
        store, f"Bearer {added['token']}", f"{METHOD_ARN_BASE}/GET/reports", clock=fixed_clock
    )

    assert answer["principalId"] == added["client_id"]
    assert answer["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": [f"{METHOD_ARN_BASE}/GET/reports", f"{METHOD_ARN_BASE}/GET/reports/*"],
        }
    ]
    assert answer["context"] == {
        "clientId": added["client_id"],
        "scopes": "GET /reports,GET /reports/{id}",
    }
    # Context values must be plain strings, numbers or booleans for API Gateway.
    assert all(isinstance(v, str | int | float | bool) for v in answer["context"].values())


def test_the_policy_does_not_depend_on_the_route_called(store):
    """One cached policy serves every route: it must not be built from the called path."""
    added = _add(store, ["GET /reports"])
    header = f"Bearer {added['token']}"

    first = authorize(store, header, f"{METHOD_ARN_BASE}/GET/reports", clock=fixed_clock)
    other = authorize(store, header, f"{METHOD_ARN_BASE}/POST/reports", clock=fixed_clock)

    assert first["policyDocument"] == other["policyDocument"]


def test_each_decision_is_counted_on_the_client(store):
    added = _add(store, ["GET /reports"])

    for _ in range(3):
        authorize(
            store, f"Bearer {added['token']}", f"{METHOD_ARN_BASE}/GET/reports", clock=fixed_clock
        )

    client = store.fetch(added["client_id"])
    assert client.authorizations == 3
    assert client.last_authorized_at == "2026-11-23T09:00:00.000Z"


EXPLICIT_DENY = [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ["*"]}]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer  ", "Basic dXNlcjpwYXNz"])
def test_no_bearer_token_is_unauthorized(store, header):
    """No credential at all: the message 'Unauthorized' is API Gateway's signal for 401."""
    with pytest.raises(Unauthorized, match=r"^Unauthorized$") as refused:
        authorize(store, header, f"{METHOD_ARN_BASE}/GET/reports", clock=fixed_clock)

    assert refused.value.reason == "no bearer token"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-token", "malformed token"),
        ("c-" + "0" * 32, "malformed token"),  # no secret
        ("c-" + "0" * 32 + "." + "x" * 200, "malformed token"),  # longer than any we issue
        ("c-" + "0" * 32 + ".x", "unknown token"),
    ],
)
def test_a_bad_token_gets_an_explicit_deny(store, token, reason):
    """A credential that proves nothing: an explicit Deny, which API Gateway answers with 403."""
    answer = authorize(
        store, f"Bearer {token}", f"{METHOD_ARN_BASE}/GET/reports", clock=fixed_clock
    )

    assert is_denied(answer)
    assert answer["principalId"] == "anonymous"
    assert answer["policyDocument"]["Statement"] == EXPLICIT_DENY
    assert answer["context"] == {"denyReason": reason}


def test_a_wrong_secret_for_a_real_client_is_denied_and_not_counted(store):
    added = _add(store, ["GET /reports"])
    forged = added["token"][:-2] + ("AA" if not added["token"].endswith("AA") else "BB")

    answer = authorize(
        store, f"Bearer {forged}", f"{METHOD_ARN_BASE}/GET/reports", clock=fixed_clock
    )

    assert answer["policyDocument"]["Statement"] == EXPLICIT_DENY
    # The principal is not the client: the token did not prove who the caller is.
    assert answer["principalId"] == "anonymous"
    assert answer["context"] == {"denyReason": "unknown token"}
    assert store.fetch(added["client_id"]).authorizations == 0


def test_a_revoked_client_is_denied_and_its_attempt_counted(store):
    added = _add(store, ["GET /reports"])
    revoke_client(store, added["client_id"], clock=fixed_clock)

    answer = authorize(
        store, f"Bearer {added['token']}", f"{METHOD_ARN_BASE}/GET/reports", clock=fixed_clock
    )

    assert answer["policyDocument"]["Statement"] == EXPLICIT_DENY
    assert answer["principalId"] == added["client_id"]
    assert answer["context"] == {"denyReason": "client revoked"}
    assert store.fetch(added["client_id"]).authorizations == 1


def test_method_arn_parts():
    arn = MethodArn.parse("arn:aws:execute-api:eu-west-1:111122223333:api9/prod/GET/a/b")

    assert (arn.prefix, arn.api_id, arn.stage) == (
        "arn:aws:execute-api:eu-west-1:111122223333",
        "api9",
        "prod",
    )
    with pytest.raises(ValueError, match="not an execute-api"):
        MethodArn.parse("arn:aws:lambda:us-east-1:1:function:f")
