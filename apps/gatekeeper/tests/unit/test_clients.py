"""Tokens, their hashes and route patterns (``gatekeeper_clients.clients``)."""

from __future__ import annotations

import hashlib

import pytest
from gatekeeper_clients.clients import (
    InvalidRoute,
    Route,
    client_id_of,
    hash_token,
    new_client_id,
    new_token,
    parse_route,
    parse_routes,
    token_matches,
)


def test_a_new_token_names_its_client_and_only_its_sha256_is_kept():
    client_id = new_client_id()
    token = new_token(client_id)

    assert client_id_of(token) == client_id
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in hash_token(token)
    assert token_matches(token, hash_token(token))
    assert not token_matches(token + "x", hash_token(token))
    assert new_token(client_id) != token


@pytest.mark.parametrize(
    "token",
    ["", "no-dot", "c-123.secret", "c-" + "0" * 32, "c-" + "0" * 32 + ".", "x" * 500],
)
def test_tokens_that_cannot_be_ours_name_no_client(token):
    assert client_id_of(token) is None


@pytest.mark.parametrize(
    ("text", "route", "suffix"),
    [
        ("GET /reports", Route("GET", "/reports"), "GET/reports"),
        ("get /reports/{id}", Route("GET", "/reports/{id}"), "GET/reports/*"),
        ("* /reports/*", Route("*", "/reports/*"), "*/reports/*"),
        ("POST /", Route("POST", "/"), "POST/"),
        ("GET /files/{path+}", Route("GET", "/files/{path+}"), "GET/files/*"),
    ],
)
def test_routes_parse_into_execute_api_resource_suffixes(text, route, suffix):
    parsed = parse_route(text)

    assert parsed == route
    assert parsed.resource_suffix() == suffix


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("GET", "must be 'METHOD /path'"),
        ("FETCH /reports", "method must be one of"),
        ("GET reports", "path must start with '/'"),
        ("GET /reports//x", "path must start with '/'"),
        ("GET /re ports", "must be 'METHOD /path'"),
        ("GET /a?b", "path must start with '/'"),
    ],
)
def test_invalid_routes_say_what_is_wrong(text, problem):
    with pytest.raises(InvalidRoute, match=problem):
        parse_route(text)


def test_duplicate_routes_collapse_in_order():
    assert parse_routes(["GET /a", "POST /a", "get /a"]) == (
        Route("GET", "/a"),
        Route("POST", "/a"),
    )
