"""JWT authorizers of HTTP APIs (API Gateway developer guide, "Control access to HTTP APIs with
JWT authorizers"), validated with joserfc.

- The token is the value of the first identity source (``$request.header.Authorization`` by
  default), with or without a ``Bearer`` prefix. Missing: 401.
- The signing key comes from the issuer's ``/.well-known/openid-configuration`` ``jwks_uri``;
  only RSA signatures are accepted. ``iss`` must equal the issuer; ``aud`` (or, when there is
  no ``aud``, ``client_id``) must be one of the audience; ``exp`` must be in the future and
  ``nbf`` in the past. Any failure: 401 ``{"message":"Unauthorized"}`` with a
  ``www-authenticate`` header saying why.
- A route with authorization scopes needs a token whose ``scope`` (or ``scp``) holds at least
  one of them: 403 ``{"message":"Forbidden"}`` otherwise.
- The integration sees ``requestContext.authorizer.jwt`` with the claims (as strings) and the
  token's scopes.

Amazon Cognito issuers (``https://cognito-idp.{region}.amazonaws.com/{pool}``) are answered by
the local cloud's own Cognito (moto), so its tokens validate offline.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from localcloud.apigatewayv2.authorizers import Admitted, forbidden, identity_values
from localcloud.apigatewayv2.events import EventContext
from localcloud.apigatewayv2.messages import HttpResponse, error_response
from localcloud.apigatewayv2.model import AuthorizerSpec

log = logging.getLogger("localcloud.apigatewayv2")

DEFAULT_IDENTITY_SOURCE = ("$request.header.Authorization",)
ALGORITHMS = ("RS256", "RS384", "RS512")
# HTTP API quotas: the discovery and JWKS endpoints must answer within 1500 ms.
FETCH_TIMEOUT_SECONDS = 1.5
_COGNITO_HOST = re.compile(r"^cognito-idp\.[a-z0-9-]+\.amazonaws\.com$")

# URL -> its JSON document.
FetchJson = Callable[[str], Any]


class JwtRejected(Exception):
    """The token is not valid for this authorizer (AWS: 401)."""


def local_fetcher(endpoint_url: str) -> FetchJson:
    """Fetches issuer documents, sending Amazon Cognito's to the local cloud."""

    def fetch(url: str) -> Any:
        parts = urlsplit(url)
        headers = {}
        if _COGNITO_HOST.match(parts.hostname or ""):
            # moto's Cognito is found by its Host header, on the local cloud's port.
            local = urlsplit(endpoint_url)
            headers["Host"] = parts.netloc
            url = urlunsplit(parts._replace(scheme=local.scheme, netloc=local.netloc))
        response = requests.get(url, headers=headers, timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()

    return fetch


def _unauthorized(reason: str) -> HttpResponse:
    response = error_response(401, "Unauthorized")
    description = reason.replace('"', "'")
    response.headers.append(
        (
            "www-authenticate",
            f'Bearer scope="" error="invalid_token" error_description="{description}"',
        )
    )
    return response


def _claim_text(value: Any) -> str:
    # AWS hands claims on as strings; arrays in the "[a b]" form it uses.
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def token_scopes(claims: dict[str, Any]) -> tuple[str, ...] | None:
    raw = claims.get("scope", claims.get("scp"))
    if raw is None:
        return None
    if isinstance(raw, str):
        return tuple(raw.split())
    return tuple(str(s) for s in raw)


class JwtAuthorizers:
    """Validates bearer tokens; keeps each issuer's key set until a token names a new key."""

    def __init__(self, fetch: FetchJson, clock: Callable[[], float] = time.time) -> None:
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, KeySet] = {}
        self._lock = threading.Lock()

    def authorize(
        self, authorizer: AuthorizerSpec, scopes: tuple[str, ...], context: EventContext
    ) -> Admitted | HttpResponse:
        source = authorizer.identity_source or DEFAULT_IDENTITY_SOURCE
        values = identity_values(source[:1], context)
        if not values:
            return _unauthorized("no token")
        token = values[0]
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            claims = self._validate(authorizer, token)
        except JwtRejected as error:
            log.info("401: JWT authorizer %s rejected the token: %s", authorizer.name, error)
            return _unauthorized(str(error))
        granted = token_scopes(claims)
        if scopes and not set(scopes) & set(granted or ()):
            log.info("403: token scopes %s hold none of %s", granted, scopes)
            return forbidden()
        return Admitted(
            "jwt", context={k: _claim_text(v) for k, v in claims.items()}, scopes=granted
        )

    def _validate(self, authorizer: AuthorizerSpec, token: str) -> dict[str, Any]:
        issuer = authorizer.jwt_issuer
        if not issuer:
            raise JwtRejected("the authorizer has no issuer")
        try:
            header = jwt.decode(token, self._key_set(issuer, refresh=False), ALGORITHMS)
        except (JoseError, ValueError) as error:
            if not isinstance(error, JoseError) or "key" not in type(error).__name__.lower():
                raise JwtRejected(f"invalid token: {error}") from error
            # A key the cached set does not know yet: the issuer may have rotated its keys.
            try:
                header = jwt.decode(token, self._key_set(issuer, refresh=True), ALGORITHMS)
            except (JoseError, ValueError) as again:
                raise JwtRejected(f"invalid token: {again}") from again
        claims = dict(header.claims)
        if claims.get("iss") != issuer:
            raise JwtRejected(f"the issuer {claims.get('iss')!r} is not {issuer!r}")
        now = self._clock()
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= now:
            raise JwtRejected("the token has expired")
        not_before = claims.get("nbf")
        if isinstance(not_before, int | float) and not_before > now:
            raise JwtRejected("the token is not valid yet")
        audience = set(authorizer.jwt_audience)
        if "aud" in claims:
            aud = claims["aud"]
            presented = set(aud) if isinstance(aud, list) else {aud}
            if not presented & audience:
                raise JwtRejected("the audience does not match")
        elif claims.get("client_id") not in audience:
            raise JwtRejected("the client_id does not match the audience")
        return claims

    def _key_set(self, issuer: str, refresh: bool) -> KeySet:
        with self._lock:
            if not refresh and issuer in self._keys:
                return self._keys[issuer]
        try:
            configuration = self._fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
            keys = KeySet.import_key_set(self._fetch(str(configuration["jwks_uri"])))
        except (requests.RequestException, KeyError, TypeError, ValueError, JoseError) as error:
            raise JwtRejected(f"cannot read the signing keys of {issuer}: {error}") from error
        with self._lock:
            self._keys[issuer] = keys
        return keys
