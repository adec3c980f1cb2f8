"""CloudWatch Logs as AWS runs it, where moto 5.2.5 differs.

- :mod:`localcloud.logs.filter_patterns`: a subscription filter delivers only the log events
  its ``FilterPattern`` matches (moto delivers every event); a pattern the local cloud cannot
  evaluate is refused by name at PutSubscriptionFilter (and so fails a deploy), never
  silently treated as "match everything".

Delivery to Lambda subscribers lives with Lambda (:mod:`localcloud.awslambda.logs`).
"""

from __future__ import annotations

from localcloud.settings import CloudSettings


def install(settings: CloudSettings) -> None:
    """Patch moto's Logs models in this process (idempotent); nothing to shut down."""
    from localcloud.logs import filter_patterns

    del settings  # nothing to tune yet; the signature is the one every install shares
    filter_patterns.install()
