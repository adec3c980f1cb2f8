"""The Lambda handler end to end, in process: a Kinesis event in, counts in moto's DynamoDB."""

from __future__ import annotations

import json
from pathlib import Path

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def test_the_sample_event_is_counted_once(handler, context, item, caplog) -> None:
    event = json.loads((EVENTS_DIR / "kinesis_batch.json").read_text())

    first = handler.lambda_handler(event, context)
    again = handler.lambda_handler(event, context)

    assert first == {"batchItemFailures": []}
    assert again == {"batchItemFailures": []}
    for event_type in ("page.viewed", "cart.updated"):
        total = item(f"type#{event_type}", "total")
        assert total is not None, event_type
        assert total["count"] == {"N": "1"}, event_type
    done = [r for r in caplog.records if r.getMessage() == "stream batch done"]
    assert [(vars(r)["counted"], vars(r)["duplicate"]) for r in done] == [(2, 0), (0, 2)]
