"""The orders function: its rules with fakes, its pricing adapter, and the whole caller side
in process (orders handler -> layer client -> Invoke -> pricing handler -> moto DynamoDB)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from common_layer.lambda_client import LambdaServiceClient, RemoteError, TransportError
from pricing_orders import orders
from pricing_orders.orders import NotFound, Order, Unavailable, ValidationFailed
from pricing_orders.pricing_client import ERROR_TYPES, LambdaPricing

QUOTE = {
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
        }
    ],
    "subtotal_cents": 2500,
    "discount_cents": 0,
    "total_cents": 2500,
    "priced_at": "2026-11-23T09:00:00.000Z",
}
REQUEST = {"customer_id": "cust-1", "items": [{"sku": "MUG-01", "quantity": 2}]}


class FakePricing:
    def __init__(self, answer: dict[str, Any] | Exception = QUOTE) -> None:
        self.answer = answer
        self.calls: list[tuple[list[Any], str | None]] = []

    def quote(
        self, items: Sequence[Mapping[str, Any]], *, correlation_id: str | None = None
    ) -> dict[str, Any]:
        self.calls.append((list(items), correlation_id))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class InMemoryOrders:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def insert(self, order: Order) -> None:
        assert order.order_id not in self.orders
        self.orders[order.order_id] = order


def place(request: Mapping[str, Any], pricing: FakePricing, store: InMemoryOrders) -> Order:
    return orders.place_order(
        request,
        pricing=pricing,
        store=store,
        correlation_id="corr-1",
        clock=lambda: datetime(2026, 11, 23, 9, 0, 1, tzinfo=UTC),
        new_id=lambda: "order-1",
    )


# --- the rules --------------------------------------------------------------------------------


def test_an_order_is_priced_by_the_service_then_stored():
    pricing, store = FakePricing(), InMemoryOrders()

    order = place(REQUEST, pricing, store)

    assert pricing.calls == [(REQUEST["items"], "corr-1")]
    assert store.orders == {"order-1": order}
    assert order.to_json() == {
        "order_id": "order-1",
        "customer_id": "cust-1",
        "status": "PLACED",
        "currency": "USD",
        "lines": [
            {
                "sku": "MUG-01",
                "name": "Mug",
                "quantity": 2,
                "unit_price_cents": 1250,
                "discount_cents": 0,
                "total_cents": 2500,
            }
        ],
        "total_cents": 2500,
        "priced_at": "2026-11-23T09:00:00.000Z",
        "created_at": "2026-11-23T09:00:01.000Z",
    }


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"items": []}, "customer_id"),
        ({"customer_id": "c 1", "items": []}, "customer_id"),
        ({"customer_id": "c1"}, "items"),
        ({"customer_id": "c1", "items": {}}, "items"),
        ({"customer_id": "c1", "items": [], "total": 1}, "total"),
    ],
)
def test_the_orders_own_fields_are_checked_before_calling_pricing(request_, field):
    pricing, store = FakePricing(), InMemoryOrders()

    with pytest.raises(ValidationFailed) as raised:
        place(request_, pricing, store)

    assert f"'{field}'" in str(raised.value)
    assert pricing.calls == []


@pytest.mark.parametrize(
    "error", [ValidationFailed("bad quantity"), NotFound("unknown sku"), Unavailable("later")]
)
def test_a_refused_quote_stores_no_order_and_raises_the_same_error(error):
    store = InMemoryOrders()

    with pytest.raises(type(error)):
        place(REQUEST, FakePricing(error), store)

    assert store.orders == {}


# --- the pricing adapter ----------------------------------------------------------------------


class ScriptedLambda:
    def __init__(self, *outcomes: dict[str, Any] | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def failed(error_type: str, message: str) -> dict[str, Any]:
    body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
    return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(body)}


def adapter(fake: ScriptedLambda) -> LambdaPricing:
    client = LambdaServiceClient(
        "pricing",
        lambda_client=fake,  # type: ignore[arg-type]
        error_types=ERROR_TYPES,
        sleep=lambda _: None,
    )
    return LambdaPricing(client)


@pytest.mark.parametrize("error", [ValidationFailed, NotFound, Unavailable])
def test_the_pricing_contracts_error_types_become_the_orders_own(error):
    fake = ScriptedLambda(failed(error.__name__, "from pricing"))

    with pytest.raises(error, match="from pricing") as raised:
        adapter(fake).quote([])

    assert isinstance(raised.value.__cause__, RemoteError)


@pytest.mark.parametrize(
    "outcomes",
    [
        [failed("Sandbox.Timedout", "Task timed out after 5.00 seconds")],
        [
            ClientError(
                {
                    "Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."},
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                "Invoke",
            )
        ]
        * 3,
    ],
    ids=["timed out", "throttled"],
)
def test_a_pricing_service_that_cannot_answer_is_unavailable(outcomes):
    with pytest.raises(Unavailable, match="did not answer"):
        adapter(ScriptedLambda(*outcomes)).quote([])


def test_a_bug_in_pricing_is_not_disguised():
    with pytest.raises(RemoteError) as raised:
        adapter(ScriptedLambda(failed("KeyError", "'price'"))).quote([])

    assert raised.value.type == "KeyError"


def test_a_misconfigured_caller_is_not_disguised():
    denied = ClientError(
        {
            "Error": {"Code": "AccessDeniedException", "Message": "not authorized"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "Invoke",
    )

    with pytest.raises(TransportError) as raised:
        adapter(ScriptedLambda(denied)).quote([])

    assert raised.value.code == "AccessDeniedException"


# --- the caller side end to end, in process ---------------------------------------------------


@pytest.fixture
def orders_handler(
    tables: dict[str, Any], pricing_handler: ModuleType, in_process_lambda: Any
) -> Iterator[tuple[ModuleType, Any]]:
    """The orders handler, calling the pricing handler through the Invoke API's contract."""
    sys.modules.pop("pricing_orders.handler", None)
    from pricing_orders import handler

    invoke_api = in_process_lambda(pricing_handler.lambda_handler)
    handler._pricing = LambdaPricing(
        LambdaServiceClient(
            handler._pricing._service.function_name,
            lambda_client=invoke_api,
            error_types=ERROR_TYPES,
        )
    )
    yield handler, invoke_api
    sys.modules.pop("pricing_orders.handler", None)


def test_an_order_is_placed_through_the_pricing_service(orders_handler, tables, lambda_context):
    handler, invoke_api = orders_handler

    order = handler.lambda_handler(
        {"customer_id": "cust-9", "items": [{"sku": "PEN-10", "quantity": 10}]}, lambda_context
    )

    assert order["total_cents"] == 1990 - 299
    assert invoke_api.events == [
        {
            "action": "quote",
            "version": 1,
            "payload": {"items": [{"sku": "PEN-10", "quantity": 10}]},
            "correlation_id": lambda_context.aws_request_id,
        }
    ]
    stored = tables["orders"].get_item(Key={"order_id": order["order_id"]})["Item"]
    assert stored["total_cents"] == Decimal(1691)
    assert stored["customer_id"] == "cust-9"


@pytest.mark.parametrize(
    ("items", "error", "text"),
    [
        ([{"sku": "PEN-10", "quantity": 0}], ValidationFailed, "'items[0].quantity'"),
        ([{"sku": "GONE-1", "quantity": 1}], NotFound, "'GONE-1'"),
    ],
)
def test_the_pricing_services_refusal_reaches_the_orders_caller_typed(
    orders_handler, tables, lambda_context, items, error, text
):
    handler, _ = orders_handler

    with pytest.raises(error) as raised:
        handler.lambda_handler({"customer_id": "cust-9", "items": items}, lambda_context)

    assert text in str(raised.value)
    assert tables["orders"].scan()["Items"] == []
