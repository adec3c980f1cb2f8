"""Stage throttling of HTTP APIs: a token bucket per stage and route.

A stage's ``DefaultRouteSettings`` (``ThrottlingBurstLimit``, ``ThrottlingRateLimit``) apply to
every route, ``RouteSettings`` override them per route key. A request finding the bucket empty
is answered 429 ``{"message":"Too Many Requests"}`` without reaching the integration. A
setting left out does not throttle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from localcloud.apigatewayv2.model import ThrottleSettings


class StageThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # key -> (tokens, last refill, settings the bucket was made for)
        self._buckets: dict[tuple[str, ...], tuple[float, float, ThrottleSettings]] = {}
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, ...], settings: ThrottleSettings) -> bool:
        """Whether one more request may pass now; takes its token when it may."""
        burst, rate = settings.burst_limit, settings.rate_limit
        if burst is None or rate is None:
            return True
        now = self._clock()
        with self._lock:
            tokens, last, known = self._buckets.get(key, (float(burst), now, settings))
            if known != settings:
                tokens, last = float(burst), now  # the stage was updated: a new bucket
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now, settings)
                return False
            self._buckets[key] = (tokens - 1, now, settings)
            return True
