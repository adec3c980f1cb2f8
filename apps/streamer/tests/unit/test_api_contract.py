"""The API's request models (in template.yaml) against the sample requests in events/.

API Gateway validates request bodies with these JSON schemas; the samples a user copies from
events/ must pass them, and the examples of bad payloads must not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from common_layer.validation import SchemaViolation, validate

APP = Path(__file__).resolve().parents[2]


class _Loader(yaml.SafeLoader):
    """Keeps CloudFormation short-form tags (!Sub...) as plain data."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _schemas() -> dict[str, Any]:
    template = yaml.load((APP / "template.yaml").read_text(), Loader=_Loader)
    body = template["Resources"]["IngestApi"]["Properties"]["DefinitionBody"]
    schemas: dict[str, Any] = body["components"]["schemas"]
    # Inline "#/components/schemas/X" references, as API Gateway resolves model references.
    text = json.dumps(schemas)
    for name in schemas:
        text = text.replace(
            json.dumps({"$ref": f"#/components/schemas/{name}"}), json.dumps(schemas[name])
        )
    resolved: dict[str, Any] = json.loads(text)
    return resolved


SCHEMAS = _schemas()


def test_the_sample_requests_pass_the_models() -> None:
    validate(json.loads((APP / "events" / "put_event.json").read_text()), SCHEMAS["Event"])
    validate(
        json.loads((APP / "events" / "put_events_batch.json").read_text()), SCHEMAS["EventBatch"]
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "e", "data": {}}, "type"),
        ({"id": "e", "type": "t", "data": []}, "data"),
        ({"id": "e", "type": "t", "data": {}, "user": "x"}, "user"),
        ({"id": "", "type": "t", "data": {}}, "id"),
        ({"id": "e", "type": ".starts-with-a-dot", "data": {}}, "type"),
        ({"id": "e", "type": "t", "occurred_at": "2026-11-23", "data": {}}, "occurred_at"),
        ({"id": "e", "type": "t", "occurred_at": "2026-11-23T10:00:00", "data": {}}, "occurred_at"),
    ],
)
def test_the_event_model_refuses(body: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaViolation) as caught:
        validate(body, SCHEMAS["Event"])
    assert field in caught.value.message


def test_the_batch_model_takes_1_to_500_valid_events() -> None:
    good = {"id": "e", "type": "t", "data": {}}
    validate({"events": [good] * 500}, SCHEMAS["EventBatch"])
    for events in ([], [good] * 501, [good, {"id": "e", "type": "t"}]):
        with pytest.raises(SchemaViolation):
            validate({"events": events}, SCHEMAS["EventBatch"])
