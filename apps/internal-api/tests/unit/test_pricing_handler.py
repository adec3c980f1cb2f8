"""The pricing service's Lambda handler in process, with moto's DynamoDB as the catalogue,
and the catalogue adapter's handling of a struggling DynamoDB."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pricing_quotes.catalogue import MAX_ROUNDS, DynamoDBCatalogue, item_from_record
from pricing_quotes.contract import NotFound, Unavailable, ValidationFailed

CATALOGUE_TABLE = "internal-api-catalogue-unit"


def emitted_metrics(output: str) -> set[str]:
    """Names of the metrics in the EMF lines a handler printed."""
    names: set[str] = set()
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def test_quote_through_the_handler_reads_the_catalogue(invoke_pricing, capsys):
    result = invoke_pricing(
        {
            "action": "quote",
            "version": 1,
            "payload": {
                "items": [{"sku": "PEN-10", "quantity": 20}, {"sku": "MUG-01", "quantity": 1}]
            },
        }
    )

    # 20 x 199 = 3980, 15% off = 597; plus one mug at 1250.
    assert [line["total_cents"] for line in result["lines"]] == [3383, 1250]
    assert result["total_cents"] == 4633
    assert result["discount_cents"] == 597
    assert result["currency"] == "USD"
    assert "QuoteServed" in emitted_metrics(capsys.readouterr().out)


def test_price_through_the_handler(invoke_pricing):
    result = invoke_pricing({"action": "price", "version": 1, "payload": {"sku": "MUG-01"}})

    assert result["name"] == "Mug"
    assert result["unit_price_cents"] == 1250


@pytest.mark.parametrize(
    ("event", "error", "text"),
    [
        ({"action": "quote", "version": 1}, ValidationFailed, "'payload'"),
        ({"action": "quote", "version": 3, "payload": {}}, ValidationFailed, "supported: 1"),
        ({"action": "bill", "version": 1, "payload": {}}, ValidationFailed, "unknown action"),
        (
            {"action": "quote", "version": 1, "payload": {"items": [{"sku": "MUG-01"}]}},
            ValidationFailed,
            "'items[0].quantity'",
        ),
        (
            {
                "action": "quote",
                "version": 1,
                "payload": {"items": [{"sku": "NO-1", "quantity": 1}]},
            },
            NotFound,
            "'NO-1'",
        ),
    ],
)
def test_refused_requests_raise_the_contract_error_and_count_as_client_errors(
    invoke_pricing, capsys, event, error, text
):
    """The exception escapes the handler: Lambda then reports its class name as errorType."""
    with pytest.raises(error) as raised:
        invoke_pricing(event)

    assert text in str(raised.value)
    assert "ClientErrors" in emitted_metrics(capsys.readouterr().out)


def test_a_bug_is_not_counted_as_a_client_error(invoke_pricing, tables, capsys):
    tables["catalogue"].put_item(Item={"sku": "BROKEN-1", "name": "no price"})

    with pytest.raises(ValueError, match="has no 'unit_price_cents'"):
        invoke_pricing(
            {"action": "price", "version": 1, "payload": {"sku": "BROKEN-1"}},
        )

    assert "ClientErrors" not in emitted_metrics(capsys.readouterr().out)


def test_the_correlation_id_of_the_envelope_is_logged(invoke_pricing, log_lines):
    invoke_pricing(
        {"action": "price", "version": 1, "payload": {"sku": "MUG-01"}, "correlation_id": "c-7"}
    )

    served = [line for line in log_lines() if line["message"] == "served"]
    assert served, log_lines()
    assert served[0]["correlation_id"] == "c-7"
    assert served[0]["action"] == "price"


# --- the DynamoDB adapter --------------------------------------------------------------------


class FakeDynamoDB:
    """``batch_get_item`` of the DynamoDB service resource, scripted."""

    def __init__(self, *outcomes: dict[str, Any] | Exception) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def found(*records: dict[str, Any], unprocessed: list[str] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"Responses": {CATALOGUE_TABLE: list(records)}}
    if unprocessed:
        response["UnprocessedKeys"] = {
            CATALOGUE_TABLE: {"Keys": [{"sku": sku} for sku in unprocessed]}
        }
    return response


MUG_RECORD = {"sku": "MUG-01", "name": "Mug", "unit_price_cents": Decimal(1250)}
PEN_RECORD = {"sku": "PEN-10", "name": "Pen", "unit_price_cents": Decimal(199)}


def test_unprocessed_keys_are_fetched_again():
    """BatchGetItem may return part of the keys as UnprocessedKeys (throttled): ask again."""
    waits: list[float] = []
    dynamodb = FakeDynamoDB(found(MUG_RECORD, unprocessed=["PEN-10"]), found(PEN_RECORD))
    catalogue = DynamoDBCatalogue(dynamodb, CATALOGUE_TABLE, sleep=waits.append)  # type: ignore[arg-type]

    items = catalogue.fetch(["MUG-01", "PEN-10", "MUG-01"])

    assert set(items) == {"MUG-01", "PEN-10"}
    first, second = dynamodb.requests
    assert first[CATALOGUE_TABLE] == {
        "Keys": [{"sku": "MUG-01"}, {"sku": "PEN-10"}],
        "ConsistentRead": True,
    }
    assert second[CATALOGUE_TABLE]["Keys"] == [{"sku": "PEN-10"}]
    assert len(waits) == 1


def test_keys_left_unprocessed_round_after_round_make_the_catalogue_unavailable():
    dynamodb = FakeDynamoDB(*(found(unprocessed=["MUG-01"]) for _ in range(MAX_ROUNDS)))
    catalogue = DynamoDBCatalogue(dynamodb, CATALOGUE_TABLE, sleep=lambda _: None)  # type: ignore[arg-type]

    with pytest.raises(Unavailable, match="throttled"):
        catalogue.fetch(["MUG-01"])

    assert len(dynamodb.requests) == MAX_ROUNDS


@pytest.mark.parametrize(
    "error",
    [
        ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "BatchGetItem",
        ),
        ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "BatchGetItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
    ],
)
def test_transient_store_failures_are_unavailable(error):
    catalogue = DynamoDBCatalogue(FakeDynamoDB(error), CATALOGUE_TABLE)  # type: ignore[arg-type]

    with pytest.raises(Unavailable):
        catalogue.fetch(["MUG-01"])


def test_a_misconfigured_store_is_a_bug_not_unavailable():
    error = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "BatchGetItem"
    )
    catalogue = DynamoDBCatalogue(FakeDynamoDB(error), CATALOGUE_TABLE)  # type: ignore[arg-type]

    with pytest.raises(ClientError):
        catalogue.fetch(["MUG-01"])


def test_records_with_fractional_cents_are_refused():
    with pytest.raises(ValueError, match="whole number of cents"):
        item_from_record({"sku": "X", "name": "x", "unit_price_cents": Decimal("1.5")})
