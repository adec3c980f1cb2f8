"""The authorizer's decision: a bearer token in, an IAM policy for the client's routes out.

API Gateway hands a TOKEN authorizer ``authorizationToken`` (the ``Authorization`` header)
and ``methodArn`` (``arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{METHOD}/{path}``).
The answer allows exactly the routes the client may call, as execute-api ARNs of the same
API and stage, so the one policy API Gateway caches for the token serves every route: a
route outside it is refused with 403 by API Gateway itself, without calling the authorizer.

Three outcomes, as API Gateway turns them into responses:

- no bearer token at all: :class:`Unauthorized`, which the handler raises as the message
  ``Unauthorized``, API Gateway's signal for 401 (present yourself). API Gateway's identity
  validation expression already answers 401 for these without invoking the authorizer; this
  is the same answer for a caller that reaches the function another way.
- a token that proves no active client (malformed, unknown, wrong secret, revoked): an
  explicit ``Deny`` policy, so 403 (this credential is refused). The Deny is cached for the
  token like an Allow, so a client retrying a bad token costs one run per TTL.
- a known, active client: ``Allow`` for its routes; any other route gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gatekeeper_clients.clients import ClientStore, Route, client_id_of, token_matches

Clock = Callable[[], datetime]
# The principal of a Deny for a token that names no client of ours.
ANONYMOUS = "anonymous"


class Unauthorized(Exception):
    """No bearer token was presented; ``reason`` is for the logs only."""

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MethodArn:
    """The parts of a ``methodArn`` a policy needs."""

    prefix: str  # arn:aws:execute-api:{region}:{account}
    api_id: str
    stage: str

    @classmethod
    def parse(cls, method_arn: str) -> MethodArn:
        parts = method_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "execute-api":
            raise ValueError(f"not an execute-api method ARN: {method_arn!r}")
        api_id, stage, *_ = [*parts[5].split("/"), "", ""]
        if not api_id or not stage:
            raise ValueError(f"method ARN names no API and stage: {method_arn!r}")
        return cls(prefix=":".join(parts[:5]), api_id=api_id, stage=stage)

    def resource(self, route: Route) -> str:
        return f"{self.prefix}:{self.api_id}/{self.stage}/{route.resource_suffix()}"


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("no bearer token")
    return token


def authorize(
    store: ClientStore, authorization: str | None, method_arn: str, *, clock: Clock
) -> dict[str, Any]:
    """The authorizer's answer for this header and method, or :class:`Unauthorized`."""
    token = bearer_token(authorization)
    client_id = client_id_of(token)
    if client_id is None:
        return deny(ANONYMOUS, "malformed token")
    client = store.fetch(client_id)
    if client is None or not token_matches(token, client.token_hash):
        return deny(ANONYMOUS, "unknown token")
    # Counted before the status check: a revoked client still trying is worth seeing.
    store.record_authorization(client.client_id, _timestamp(clock))
    if not client.active:
        return deny(client.client_id, "client revoked")
    arn = MethodArn.parse(method_arn)
    return allow(client.client_id, [arn.resource(route) for route in client.routes], client.routes)


def allow(client_id: str, resources: list[str], routes: tuple[Route, ...]) -> dict[str, Any]:
    if not resources:
        # An Allow needs a resource; a client with no routes may call nothing.
        return deny(client_id, "no routes")
    return {
        "principalId": client_id,
        "policyDocument": _policy("Allow", resources),
        # Context values must be strings, numbers or booleans: routes travel joined.
        "context": {"clientId": client_id, "scopes": ",".join(str(r) for r in routes)},
    }


def deny(principal_id: str, reason: str) -> dict[str, Any]:
    """An explicit Deny of every route: API Gateway answers 403 and caches it for the token.

    ``reason`` goes in the context: the caller never sees it (no backend runs, and the
    default 403 body does not show it), but the handler logs it and an access log format
    can record it as ``$context.authorizer.denyReason``.
    """
    return {
        "principalId": principal_id,
        "policyDocument": _policy("Deny", ["*"]),
        "context": {"denyReason": reason},
    }


def is_denied(answer: dict[str, Any]) -> bool:
    return bool(answer["policyDocument"]["Statement"][0]["Effect"] == "Deny")


def _policy(effect: str, resources: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}],
    }


def utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamp(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
