"""A function's partial batch response (``FunctionResponseTypes: [ReportBatchItemFailures]``).

Lambda's rules, the same for SQS and streams:

- complete success: a null or empty response, or ``batchItemFailures`` null or empty;
- complete failure: a response that is not a JSON object, ``batchItemFailures`` that is not a
  list, an entry without an ``itemIdentifier`` key (a bad key name), a null or empty
  identifier, or an identifier naming no record of the batch;
- otherwise the listed records failed (message ids for SQS, sequence numbers for streams).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchResponse:
    """What the response says: everything failed, or which identifiers failed."""

    complete_failure: bool
    failed: frozenset[str] = frozenset()

    @property
    def complete_success(self) -> bool:
        return not self.complete_failure and not self.failed


COMPLETE_FAILURE = BatchResponse(complete_failure=True)
COMPLETE_SUCCESS = BatchResponse(complete_failure=False)


def read_batch_response(payload: bytes, identifiers: Collection[str]) -> BatchResponse:
    """Interpret a successful invocation's payload against the batch's ``identifiers``."""
    text = payload.decode("utf-8", "replace").strip()
    if not text:
        return COMPLETE_SUCCESS
    try:
        document = json.loads(text)
    except ValueError:
        return COMPLETE_FAILURE
    if document is None:
        return COMPLETE_SUCCESS
    if not isinstance(document, dict):
        return COMPLETE_FAILURE
    entries = document.get("batchItemFailures")
    if entries is None:
        return COMPLETE_SUCCESS
    if not isinstance(entries, list):
        return COMPLETE_FAILURE
    failed: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or "itemIdentifier" not in entry:
            return COMPLETE_FAILURE
        identifier = entry["itemIdentifier"]
        if not isinstance(identifier, str) or not identifier or identifier not in identifiers:
            return COMPLETE_FAILURE
        failed.add(identifier)
    return BatchResponse(complete_failure=False, failed=frozenset(failed))
