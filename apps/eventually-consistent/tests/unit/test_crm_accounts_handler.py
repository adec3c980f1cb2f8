"""The write side's REST handler: status codes, ETags and error messages."""

from __future__ import annotations

import json

BODY = json.dumps({"name": "Acme Corp", "email": "billing@acme.example", "plan": "team"})


def test_put_get_delete(accounts_module, api, rest_event):
    created = api(accounts_module, rest_event("PUT", "/accounts/acme", body=BODY))
    assert created.status == 200
    assert created.json()["version"] == 1
    assert created.headers["etag"] == '"1"'

    read = api(accounts_module, rest_event("GET", "/accounts/acme"))
    assert read.status == 200
    assert read.json()["name"] == "Acme Corp"
    assert read.headers["etag"] == '"1"'

    deleted = api(accounts_module, rest_event("DELETE", "/accounts/acme"))
    assert deleted.status == 204
    assert deleted.headers["etag"] == '"2"'
    assert api(accounts_module, rest_event("GET", "/accounts/acme")).status == 404
    assert api(accounts_module, rest_event("DELETE", "/accounts/acme")).status == 404


def test_if_match_on_an_old_version_is_412(accounts_module, api, rest_event):
    api(accounts_module, rest_event("PUT", "/accounts/acme", body=BODY))
    stale = api(
        accounts_module, rest_event("PUT", "/accounts/acme", body=BODY, headers={"If-Match": '"5"'})
    )
    assert stale.status == 412
    assert "not version 5" in stale.message


def test_bad_bodies_are_400_or_413(accounts_module, api, rest_event):
    not_json = api(accounts_module, rest_event("PUT", "/accounts/acme", body="{nope"))
    assert not_json.status == 400
    missing = api(accounts_module, rest_event("PUT", "/accounts/acme", body='{"name": "x"}'))
    assert missing.status == 400
    assert "email" in missing.message
    huge = json.dumps({"name": "x" * 9000, "email": "a@b.co", "plan": "team"})
    assert api(accounts_module, rest_event("PUT", "/accounts/acme", body=huge)).status == 413


def test_other_methods_are_405(accounts_module, api, rest_event):
    response = api(accounts_module, rest_event("POST", "/accounts/acme", body=BODY))
    assert response.status == 405
    assert response.headers["allow"] == "DELETE, GET, PUT"
