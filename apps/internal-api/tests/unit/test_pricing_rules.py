"""The pricing rules and the request contract, against an in-memory catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from pricing_quotes import contract, pricing
from pricing_quotes.contract import NotFound, Request, ValidationFailed
from pricing_quotes.pricing import CatalogueItem

MUG = CatalogueItem(sku="MUG-01", name="Mug", unit_price_cents=1250)
PEN = CatalogueItem(
    sku="PEN-10", name="Pen", unit_price_cents=199, bulk_min_quantity=10, bulk_percent_off=15
)


class InMemoryCatalogue:
    def __init__(self, *items: CatalogueItem) -> None:
        self.items = {item.sku: item for item in items}
        self.fetched: list[list[str]] = []

    def fetch(self, skus: Sequence[str]) -> dict[str, CatalogueItem]:
        self.fetched.append(list(skus))
        return {sku: self.items[sku] for sku in skus if sku in self.items}


@pytest.fixture
def catalogue() -> InMemoryCatalogue:
    return InMemoryCatalogue(MUG, PEN)


def fixed_clock() -> datetime:
    return datetime(2026, 11, 23, 9, 30, 0, 123_000, tzinfo=UTC)


def quote(catalogue: InMemoryCatalogue, *items: dict[str, object]) -> dict[str, object]:
    return pricing.quote(catalogue, {"items": list(items)}, currency="USD", clock=fixed_clock)


# --- quote ----------------------------------------------------------------------------------


def test_quote_prices_each_line_and_totals_the_cart(catalogue):
    result = quote(catalogue, {"sku": "MUG-01", "quantity": 2}, {"sku": "PEN-10", "quantity": 3})

    assert result == {
        "currency": "USD",
        "lines": [
            {
                "sku": "MUG-01",
                "name": "Mug",
                "quantity": 2,
                "unit_price_cents": 1250,
                "subtotal_cents": 2500,
                "discount_cents": 0,
                "total_cents": 2500,
            },
            {
                "sku": "PEN-10",
                "name": "Pen",
                "quantity": 3,
                "unit_price_cents": 199,
                "subtotal_cents": 597,
                "discount_cents": 0,
                "total_cents": 597,
            },
        ],
        "subtotal_cents": 3097,
        "discount_cents": 0,
        "total_cents": 3097,
        "priced_at": "2026-11-23T09:30:00.123Z",
    }
    assert catalogue.fetched == [["MUG-01", "PEN-10"]]


def test_volume_discount_applies_from_the_minimum_quantity(catalogue):
    below = quote(catalogue, {"sku": "PEN-10", "quantity": 9})
    at = quote(catalogue, {"sku": "PEN-10", "quantity": 10})

    assert below["discount_cents"] == 0
    # 10 x 199 = 1990; 15% = 298.5 -> 299 (half up)
    assert at["lines"][0]["discount_cents"] == 299
    assert at["total_cents"] == 1990 - 299


@pytest.mark.parametrize(
    ("unit", "quantity", "percent", "expected"),
    [(100, 1, 10, 10), (5, 1, 10, 1), (4, 1, 10, 0), (333, 3, 33, 330), (1, 1000, 50, 500)],
)
def test_discounts_round_half_up_to_the_cent(unit, quantity, percent, expected):
    item = CatalogueItem("X", "x", unit, bulk_min_quantity=1, bulk_percent_off=percent)

    assert item.discount_cents(quantity) == expected


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "items"),
        ({"items": []}, "items"),
        ({"items": "MUG-01"}, "items"),
        ({"items": [{"sku": "MUG-01"}]}, "items[0].quantity"),
        ({"items": [{"sku": "MUG-01", "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"sku": "MUG-01", "quantity": 1001}]}, "items[0].quantity"),
        ({"items": [{"sku": "MUG-01", "quantity": 1.5}]}, "items[0].quantity"),
        ({"items": [{"sku": "MUG-01", "quantity": "2"}]}, "items[0].quantity"),
        ({"items": [{"sku": "mug-01", "quantity": 1}]}, "items[0].sku"),
        ({"items": [{"sku": "", "quantity": 1}]}, "items[0].sku"),
        ({"items": [{"sku": "MUG-01", "quantity": 1, "price": 1}]}, "items[0].price"),
        ({"items": [{"sku": "MUG-01", "quantity": 1}], "coupon": "X"}, "coupon"),
    ],
)
def test_invalid_quote_payloads_are_validation_failed_naming_the_field(catalogue, payload, field):
    with pytest.raises(ValidationFailed) as raised:
        pricing.quote(catalogue, payload, currency="USD")

    assert f"'{field}'" in str(raised.value)
    assert catalogue.fetched == [], "an invalid request must not reach the catalogue"


def test_more_than_fifty_lines_is_validation_failed(catalogue):
    items = [{"sku": f"SKU-{n}", "quantity": 1} for n in range(pricing.MAX_LINES + 1)]

    with pytest.raises(ValidationFailed, match="'items' must have at most 50 entries"):
        pricing.quote(catalogue, {"items": items}, currency="USD")


def test_a_sku_listed_twice_is_validation_failed(catalogue):
    with pytest.raises(ValidationFailed, match="sku 'MUG-01' more than once"):
        quote(catalogue, {"sku": "MUG-01", "quantity": 1}, {"sku": "MUG-01", "quantity": 2})


def test_unknown_skus_are_not_found_naming_each_in_cart_order(catalogue):
    with pytest.raises(NotFound) as raised:
        quote(
            catalogue,
            {"sku": "NOPE-2", "quantity": 1},
            {"sku": "MUG-01", "quantity": 1},
            {"sku": "NOPE-1", "quantity": 1},
        )

    assert str(raised.value) == "unknown skus 'NOPE-2', 'NOPE-1': not in the catalogue"


# --- price ----------------------------------------------------------------------------------


def test_price_describes_one_item_with_its_volume_discount(catalogue):
    assert pricing.price(catalogue, {"sku": "PEN-10"}, currency="EUR") == {
        "sku": "PEN-10",
        "name": "Pen",
        "currency": "EUR",
        "unit_price_cents": 199,
        "bulk_discount": {"min_quantity": 10, "percent_off": 15},
    }
    assert pricing.price(catalogue, {"sku": "MUG-01"}, currency="EUR")["bulk_discount"] is None


def test_price_of_an_unknown_sku_is_not_found(catalogue):
    with pytest.raises(NotFound, match="unknown sku 'NOPE-1'"):
        pricing.price(catalogue, {"sku": "NOPE-1"}, currency="USD")


def test_price_payload_is_validated(catalogue):
    with pytest.raises(ValidationFailed, match="missing required field 'sku'"):
        pricing.price(catalogue, {}, currency="USD")


# --- catalogue items --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"unit_price_cents": -1},
        {"unit_price_cents": 1, "bulk_min_quantity": 5},
        {"unit_price_cents": 1, "bulk_percent_off": 5},
        {"unit_price_cents": 1, "bulk_min_quantity": 5, "bulk_percent_off": 100},
        {"unit_price_cents": 1, "bulk_min_quantity": 5, "bulk_percent_off": 0},
    ],
)
def test_inconsistent_catalogue_items_are_refused(kwargs):
    with pytest.raises(ValueError, match="catalogue item 'X'"):
        CatalogueItem(sku="X", name="x", **kwargs)


# --- the envelope and dispatch ----------------------------------------------------------------


def test_a_valid_envelope_is_read():
    event = {"action": "quote", "version": 1, "payload": {"items": []}, "correlation_id": "c-1"}

    assert contract.parse_request(event) == Request("quote", 1, {"items": []}, "c-1")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ([], "must be a JSON object"),
        ("quote", "must be a JSON object"),
        (None, "must be a JSON object"),
        ({"version": 1, "payload": {}}, "missing required field 'action'"),
        ({"action": "quote", "payload": {}}, "missing required field 'version'"),
        ({"action": "quote", "version": 1}, "missing required field 'payload'"),
        ({"action": "quote", "version": "1", "payload": {}}, "field 'version' must be an integer"),
        ({"action": "quote", "version": 0, "payload": {}}, "field 'version' must be at least 1"),
        ({"action": "quote", "version": 1, "payload": []}, "field 'payload' must be an object"),
        ({"action": "Quote!", "version": 1, "payload": {}}, "field 'action' must match"),
        ({"action": "quote", "version": 1, "payload": {}, "extra": 1}, "unexpected field 'extra'"),
        (
            {"action": "quote", "version": 1, "payload": {}, "correlation_id": "a b"},
            "field 'correlation_id'",
        ),
    ],
)
def test_a_malformed_envelope_is_validation_failed(event, expected):
    with pytest.raises(ValidationFailed) as raised:
        contract.parse_request(event)

    assert expected in str(raised.value)


def test_dispatch_runs_the_action_at_the_requested_version(catalogue):
    actions = pricing.actions(catalogue, currency="USD", clock=fixed_clock)

    result = contract.dispatch(Request("price", 1, {"sku": "MUG-01"}), actions)

    assert result["unit_price_cents"] == 1250


def test_an_unknown_action_is_validation_failed_listing_the_supported_ones(catalogue):
    actions = pricing.actions(catalogue, currency="USD")

    with pytest.raises(ValidationFailed) as raised:
        contract.dispatch(Request("refund", 1, {}), actions)

    assert str(raised.value) == "unknown action 'refund'; supported: 'price', 'quote'"


def test_an_unsupported_version_is_validation_failed_listing_the_supported_ones(catalogue):
    actions = pricing.actions(catalogue, currency="USD")

    with pytest.raises(ValidationFailed) as raised:
        contract.dispatch(Request("quote", 2, {}), actions)

    assert str(raised.value) == "version 2 of action 'quote' is not supported; supported: 1"


def test_the_contract_error_names_are_stable():
    """Callers map these class names (the Lambda errorType); renaming one breaks them."""
    assert [error.__name__ for error in (ValidationFailed, NotFound, contract.Unavailable)] == [
        "ValidationFailed",
        "NotFound",
        "Unavailable",
    ]
    assert set(contract.CLIENT_ERRORS) == {ValidationFailed, NotFound}
