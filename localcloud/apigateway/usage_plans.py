"""API keys, usage plans and throttling of REST APIs.

The rules (API Gateway developer guide, "Usage plans and API keys for REST APIs", "Throttle
requests to your REST APIs for better throughput", "Gateway response types"):

- A method with ``apiKeyRequired`` needs an API key: from the ``x-api-key`` header when the
  API's ``apiKeySource`` is HEADER (the default), from the Lambda authorizer's
  ``usageIdentifierKey`` when it is AUTHORIZER. The key must exist, be enabled and be
  associated (a usage plan key) to a usage plan that includes this API stage; otherwise 403
  ``{"message": "Forbidden"}`` (INVALID_API_KEY).
- A usage plan's ``throttle`` (``rateLimit`` per second refilling a bucket of ``burstLimit``
  requests) applies per API key: over it, 429 ``Too Many Requests`` (THROTTLED). A throttle
  the plan sets for one method of the stage (``apiStages[].throttle["/items/GET"]``) applies
  per key to that method instead. Its ``quota``
  (``limit`` requests per DAY, WEEK or MONTH, calendar periods in UTC) also applies per key:
  over it, 429 ``Limit Exceeded`` (QUOTA_EXCEEDED).
- A stage's method settings (``throttlingRateLimit``/``throttlingBurstLimit``) limit each
  method of the stage for all callers together; a setting for the method
  (``~1items/GET``) wins over the stage default ``*/*``. Over it, 429 ``Too Many Requests``.

Throttles are token buckets: a bucket starts full with ``burst`` tokens and refills at
``rate`` tokens per second; a request takes one token or is throttled. API Gateway checks the
usage plan's per-client limits before the stage's per-method limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from localcloud.apigateway.gateway_responses import GatewayError
from localcloud.apigateway.messages import HttpRequest
from localcloud.apigateway.model import ApiKeySpec, DeployedStage, ThrottleSpec, UsagePlanSpec

INVALID_API_KEY = "INVALID_API_KEY"
THROTTLED = "THROTTLED"
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
API_KEY_HEADER = "x-api-key"


def forbidden() -> GatewayError:
    return GatewayError(INVALID_API_KEY, 403, "Forbidden", "ForbiddenException")


def too_many_requests() -> GatewayError:
    return GatewayError(THROTTLED, 429, "Too Many Requests", "TooManyRequestsException")


def limit_exceeded() -> GatewayError:
    return GatewayError(QUOTA_EXCEEDED, 429, "Limit Exceeded", "LimitExceededException")


class TokenBuckets:
    """Token buckets by key, refilled from a monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[object, ...], tuple[float, float, ThrottleSpec]] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[object, ...], throttle: ThrottleSpec) -> bool:
        """Take one token from the bucket ``key``; False when it is empty."""
        with self._lock:
            now = self._clock()
            entry = self._buckets.get(key)
            if entry is None or entry[2] != throttle:  # new, or its limits changed
                tokens = float(throttle.burst_limit)
            else:
                tokens, last, _ = entry
                tokens = min(
                    float(throttle.burst_limit), tokens + (now - last) * throttle.rate_limit
                )
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now, throttle)
            return allowed


def quota_window(period: str, now: datetime) -> str:
    """The calendar period (UTC) a request at ``now`` counts in."""
    if period == "MONTH":
        return f"{now.year}-{now.month:02d}"
    if period == "WEEK":
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    return now.date().isoformat()


class Quotas:
    """Requests counted per usage plan, key and period."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def take(self, plan: UsagePlanSpec, key: ApiKeySpec) -> bool:
        """Count one request; False (and not counted) when the quota is used up."""
        if plan.quota_limit is None:
            return True
        window = quota_window(plan.quota_period or "DAY", self._clock())
        counter = (plan.id, key.id, window)
        with self._lock:
            used = self._counts.get(counter, 0)
            if used >= plan.quota_limit:
                return False
            self._counts[counter] = used + 1
            return True


def method_settings_key(resource_path: str, http_method: str) -> str:
    """GetStage's methodSettings key of a method: ``/items/{id}`` GET -> ``~1items~1{id}/GET``."""
    return f"{resource_path.replace('/', '~1')}/{http_method}"


def method_throttle(
    stage: DeployedStage, resource_path: str, http_method: str
) -> ThrottleSpec | None:
    """The stage's throttle of this method: its own setting, else the stage default."""
    settings = stage.method_throttles
    for key in (
        method_settings_key(resource_path, http_method),
        method_settings_key(resource_path, "*"),
        "*/*",
    ):
        if key in settings:
            return settings[key]
    return None


class UsageControl:
    """API key checks, usage plan throttles and quotas, and stage method throttling."""

    def __init__(self, buckets: TokenBuckets | None = None, quotas: Quotas | None = None) -> None:
        self.buckets = buckets or TokenBuckets()
        self.quotas = quotas or Quotas()

    def check_api_key(
        self,
        request: HttpRequest,
        stage: DeployedStage,
        authorizer_key: str | None,
        resource_path: str = "",
        http_method: str = "",
    ) -> GatewayError | None:
        """None when the request's API key may call this method within its plan's limits."""
        if stage.api_key_source == "AUTHORIZER":
            value = authorizer_key
        else:
            value = request.header(API_KEY_HEADER)
        if not value:
            return forbidden()
        for plan in stage.usage_plans:
            for key in plan.keys:
                if key.value == value and key.enabled:
                    return self._within_plan(plan, key, f"{resource_path}/{http_method}")
        return forbidden()

    def _within_plan(
        self, plan: UsagePlanSpec, key: ApiKeySpec, method_key: str
    ) -> GatewayError | None:
        # The plan's throttle of this method, when it has one, replaces its plan-wide one.
        method_throttle = plan.method_throttles.get(method_key)
        if method_throttle is not None:
            if not self.buckets.take(("plan-method", plan.id, key.id, method_key), method_throttle):
                return too_many_requests()
        elif plan.throttle is not None and not self.buckets.take(
            ("plan", plan.id, key.id), plan.throttle
        ):
            return too_many_requests()
        if not self.quotas.take(plan, key):
            return limit_exceeded()
        return None

    def check_method_throttle(
        self, stage: DeployedStage, resource_path: str, http_method: str
    ) -> GatewayError | None:
        """None unless the stage's throttle of this method is exhausted."""
        throttle = method_throttle(stage, resource_path, http_method)
        if throttle is None:
            return None
        key = ("method", stage.api_id, stage.stage_name, resource_path, http_method)
        return None if self.buckets.take(key, throttle) else too_many_requests()
