"""SNS subscription on the change topic: delete the cache entries of the reports that changed.

SNS invokes this function asynchronously. If the cache cannot be reached or an event is
malformed the invocation fails; Lambda retries it twice, then sends the event to the
function's DLQ. Until the entry is deleted readers may see the old report, at most for the
cache TTL.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from common_layer.observability import MetricUnit, instrument, logger, metrics
from reporting_common import cache

from report_invalidator import invalidation

# Created at cold start and reused. No cooldown: a failed invalidation must fail now so
# that Lambda retries it, not be skipped.
_cache = cache.connect(
    os.environ["CACHE_ENDPOINT"],
    int(os.environ["CACHE_PORT"]),
    tls=cache.truthy(os.environ.get("CACHE_TLS")),
    cooldown_seconds=0.0,
)


@instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages = [record["Sns"]["Message"] for record in event.get("Records", [])]
    result = invalidation.invalidate(messages, _cache)
    metrics.add_metric(name="CacheEntriesInvalidated", unit=MetricUnit.Count, value=result.deleted)
    logger.info("cache invalidated", extra={"keys": list(result.keys), "deleted": result.deleted})
    return {"keys": list(result.keys), "deleted": result.deleted}
