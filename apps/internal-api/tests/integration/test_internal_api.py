"""The Internal API as its callers see it: a Lambda function reached only through Invoke.

These tests know only the deployed stack (its outputs and its resources), so the same file
runs against the embedded local cloud (default) and against a stack on AWS
(``--target aws``). Catalogue items get skus unique to the run and are deleted afterwards,
as is every order a test places.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from common_layer.lambda_client import LambdaServiceClient, RemoteError
from stack_testing import Stack


@dataclass(frozen=True)
class Invocation:
    """What a RequestResponse invoke returned."""

    status: int
    function_error: str | None
    payload: Any

    @property
    def error_type(self) -> str | None:
        return self.payload.get("errorType") if self.function_error else None

    @property
    def error_message(self) -> str:
        assert self.function_error, f"the invoke succeeded: {self.payload}"
        return str(self.payload["errorMessage"])


Invoke = Callable[[str, Any], Invocation]


@pytest.fixture
def invoke(stack: Stack) -> Invoke:
    """Invoke a function of the stack synchronously, as another function would."""
    lambda_client = stack.client("lambda")

    def call(function_name: str, event: Any) -> Invocation:
        response = lambda_client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        return Invocation(
            status=response["StatusCode"],
            function_error=response.get("FunctionError"),
            payload=json.loads(response["Payload"].read() or b"null"),
        )

    return call


@pytest.fixture
def pricing(stack: Stack) -> str:
    return stack.output("PricingFunctionName")


@pytest.fixture
def orders_function(stack: Stack) -> str:
    return stack.output("OrdersFunctionName")


@pytest.fixture
def catalogue(stack: Stack, unique_id: str) -> Iterator[dict[str, str]]:
    """Two catalogue items with skus unique to this test: a mug, and a pen sold 15% off
    from 10. Returns {"mug": sku, "pen": sku}; deletes them afterwards."""
    dynamodb = stack.client("dynamodb")
    table = stack.output("CatalogueTableName")
    prefix = unique_id.upper()
    skus = {"mug": f"{prefix}-MUG", "pen": f"{prefix}-PEN"}
    dynamodb.put_item(
        TableName=table,
        Item={
            "sku": {"S": skus["mug"]},
            "name": {"S": "Mug"},
            "unit_price_cents": {"N": "1250"},
        },
    )
    dynamodb.put_item(
        TableName=table,
        Item={
            "sku": {"S": skus["pen"]},
            "name": {"S": "Pen"},
            "unit_price_cents": {"N": "199"},
            "bulk_min_quantity": {"N": "10"},
            "bulk_percent_off": {"N": "15"},
        },
    )
    yield skus
    for sku in skus.values():
        dynamodb.delete_item(TableName=table, Key={"sku": {"S": sku}})


@pytest.fixture
def placed_orders(stack: Stack) -> Iterator[list[str]]:
    """Order ids to delete after the test."""
    order_ids: list[str] = []
    yield order_ids
    dynamodb = stack.client("dynamodb")
    for order_id in order_ids:
        dynamodb.delete_item(
            TableName=stack.output("OrdersTableName"), Key={"order_id": {"S": order_id}}
        )


def quote_request(*items: dict[str, Any], version: int = 1) -> dict[str, Any]:
    return {"action": "quote", "version": version, "payload": {"items": list(items)}}


def orders_of(stack: Stack, customer_id: str) -> list[dict[str, Any]]:
    """Every stored order of ``customer_id`` (a scan: the test table is small)."""
    dynamodb = stack.client("dynamodb")
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": stack.output("OrdersTableName"),
        "FilterExpression": "customer_id = :c",
        "ExpressionAttributeValues": {":c": {"S": customer_id}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.scan(**kwargs)
        found.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- the service, invoked directly --------------------------------------------------------------


def test_a_quote_prices_the_cart_with_volume_discounts(invoke, pricing, catalogue):
    result = invoke(
        pricing,
        quote_request(
            {"sku": catalogue["mug"], "quantity": 2}, {"sku": catalogue["pen"], "quantity": 10}
        ),
    )

    assert result.function_error is None, result.payload
    assert result.status == 200
    quote = result.payload
    assert [(line["sku"], line["total_cents"]) for line in quote["lines"]] == [
        (catalogue["mug"], 2500),
        # 10 pens at 1.99 = 19.90, 15% off = 2.985 -> 2.99 (half up)
        (catalogue["pen"], 1990 - 299),
    ]
    assert quote["subtotal_cents"] == 4490
    assert quote["discount_cents"] == 299
    assert quote["total_cents"] == 4191
    assert quote["currency"] == "USD"


def test_price_describes_one_item(invoke, pricing, catalogue):
    result = invoke(
        pricing, {"action": "price", "version": 1, "payload": {"sku": catalogue["pen"]}}
    )

    assert result.function_error is None, result.payload
    assert result.payload["unit_price_cents"] == 199
    assert result.payload["bulk_discount"] == {"min_quantity": 10, "percent_off": 15}


def test_invalid_input_is_a_typed_function_error_not_a_successful_answer(
    invoke, pricing, catalogue
):
    """Lambda reports an exception that escapes the handler as FunctionError "Unhandled",
    with the exception's class name as errorType: the contract's ValidationFailed."""
    result = invoke(pricing, quote_request({"sku": catalogue["mug"], "quantity": 0}))

    assert result.function_error == "Unhandled"
    assert result.error_type == "ValidationFailed"
    assert result.error_message == "field 'items[0].quantity' must be at least 1"
    assert "total_cents" not in result.payload


def test_an_unknown_item_is_not_found(invoke, pricing, unique_id):
    missing = f"{unique_id.upper()}-NOPE"

    result = invoke(pricing, quote_request({"sku": missing, "quantity": 1}))

    assert result.function_error == "Unhandled"
    assert result.error_type == "NotFound"
    assert f"'{missing}'" in result.error_message


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "quote", "version": 2, "payload": {}}, "version 2 of action 'quote'"),
        ({"action": "refund", "version": 1, "payload": {}}, "unknown action 'refund'"),
        ({"action": "quote", "payload": {}}, "missing required field 'version'"),
        ({"items": []}, "missing required field"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_requests_outside_the_envelope_contract_are_validation_failed(
    invoke, pricing, event, message
):
    result = invoke(pricing, event)

    assert result.error_type == "ValidationFailed"
    assert message in result.error_message


def test_the_layer_client_raises_the_services_error_types(stack, pricing, catalogue, unique_id):
    """The caller side's client turns the FunctionError payload into the mapped exception."""

    class NotFound(RemoteError):
        pass

    client = LambdaServiceClient(
        pricing, lambda_client=stack.client("lambda"), error_types={"NotFound": NotFound}
    )

    answer = client.call("quote", {"items": [{"sku": catalogue["mug"], "quantity": 1}]})
    assert answer["total_cents"] == 1250
    with pytest.raises(NotFound) as raised:
        client.call("price", {"sku": f"{unique_id.upper()}-NOPE"})
    assert raised.value.type == "NotFound"
    assert raised.value.request_id


# --- through the example caller -----------------------------------------------------------------


def test_the_caller_places_an_order_priced_by_the_service(
    stack, invoke, orders_function, catalogue, placed_orders, unique_id
):
    result = invoke(
        orders_function,
        {"customer_id": unique_id, "items": [{"sku": catalogue["pen"], "quantity": 12}]},
    )

    assert result.function_error is None, result.payload
    order = result.payload
    placed_orders.append(order["order_id"])
    # 12 x 199 = 2388; 15% = 358.2 -> 358
    assert order["total_cents"] == 2388 - 358
    assert order["lines"][0]["discount_cents"] == 358
    assert order["status"] == "PLACED"
    # Written before the function answered, and read back strongly consistent.
    stored = orders_of(stack, unique_id)
    assert [item["order_id"]["S"] for item in stored] == [order["order_id"]]
    assert stored[0]["total_cents"] == {"N": "2030"}


@pytest.mark.parametrize(
    ("items", "error_type", "text"),
    [
        ([{"sku": "{pen}", "quantity": 1001}], "ValidationFailed", "'items[0].quantity'"),
        ([{"sku": "{pen}"}], "ValidationFailed", "'items[0].quantity'"),
        ([{"sku": "{missing}", "quantity": 1}], "NotFound", "{missing}"),
    ],
)
def test_the_services_typed_error_reaches_the_callers_caller_and_no_order_is_stored(
    stack, invoke, orders_function, catalogue, unique_id, items, error_type, text
):
    missing = f"{unique_id.upper()}-NOPE"
    items = [
        {
            k: v.format(pen=catalogue["pen"], missing=missing) if k == "sku" else v
            for k, v in i.items()
        }
        for i in items
    ]

    result = invoke(orders_function, {"customer_id": unique_id, "items": items})

    assert result.function_error == "Unhandled"
    assert result.error_type == error_type
    assert text.format(missing=missing) in result.error_message
    assert orders_of(stack, unique_id) == []


def test_the_callers_own_fields_are_validated_too(stack, invoke, orders_function, unique_id):
    result = invoke(orders_function, {"customer_id": "not valid!", "items": []})

    assert result.error_type == "ValidationFailed"
    assert "'customer_id'" in result.error_message


# --- no HTTP front door; IAM is the access control ------------------------------------------------

HTTP_RESOURCE_TYPES = (
    "AWS::ApiGateway::",
    "AWS::ApiGatewayV2::",
    "AWS::Lambda::Url",
    "AWS::Lambda::Permission",
    "AWS::ElasticLoadBalancingV2::",
    "AWS::AppSync::",
)


def test_the_service_has_no_http_api(stack, pricing):
    """No API Gateway, function URL, load balancer or resource-based permission: the only
    way in is an Invoke signed by a principal whose IAM policy allows it."""
    lambda_client = stack.client("lambda")
    assert not any(
        "execute-api" in value or "lambda-url" in value for value in stack.outputs.values()
    )
    assert "ApiUrl" not in stack.outputs
    resources = stack.client("cloudformation").describe_stack_resources(StackName=stack.name)
    types = {resource["ResourceType"] for resource in resources["StackResources"]}
    assert not [t for t in types if t.startswith(HTTP_RESOURCE_TYPES)], types

    with pytest.raises(ClientError) as no_url:
        lambda_client.get_function_url_config(FunctionName=pricing)
    assert no_url.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_policy:
        lambda_client.get_policy(FunctionName=pricing)
    assert no_policy.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_caller_may_invoke_the_pricing_service_and_nothing_else(stack, orders_function):
    """The caller's role grants lambda:InvokeFunction on the pricing function's ARN only."""
    iam = stack.client("iam")
    role_arn = stack.client("lambda").get_function_configuration(FunctionName=orders_function)[
        "Role"
    ]
    role_name = role_arn.rsplit("/", 1)[-1]
    statements = []
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        statements.extend(document["Statement"])
    invoke_resources = [
        resource
        for statement in statements
        if "lambda:InvokeFunction" in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    ]

    pricing_arn = stack.output("PricingFunctionArn")
    assert invoke_resources, statements
    # SAM's LambdaInvokePolicy: the function's ARN, with a trailing * for versions/aliases.
    assert all(resource in (pricing_arn, f"{pricing_arn}*") for resource in invoke_resources)
    assert not any(
        action.startswith("lambda:") and action != "lambda:InvokeFunction"
        for statement in statements
        for action in _as_list(statement["Action"])
    )


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# --- capacity and timeouts ------------------------------------------------------------------------


def test_the_service_has_its_reserved_concurrency(stack, pricing):
    """Reserved concurrency guarantees and caps the service's concurrent executions
    (GetFunctionConcurrency); the stack's PricingReservedConcurrency parameter sets it."""
    parameters = stack.client("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0][
        "Parameters"
    ]
    wanted = int(
        next(
            p["ParameterValue"]
            for p in parameters
            if p["ParameterKey"] == "PricingReservedConcurrency"
        )
    )

    assert wanted > 0, "the stack was deployed without a reservation (PricingReservedConcurrency=0)"

    concurrency = stack.client("lambda").get_function_concurrency(FunctionName=pricing)

    assert concurrency.get("ReservedConcurrentExecutions") == wanted


def test_the_caller_waits_longer_than_the_service_may_run(stack, pricing, orders_function):
    """A caller whose Timeout were shorter than the service's would be killed mid-call,
    with the service's answer lost."""
    lambda_client = stack.client("lambda")
    service = lambda_client.get_function_configuration(FunctionName=pricing)
    caller = lambda_client.get_function_configuration(FunctionName=orders_function)

    assert caller["Timeout"] > service["Timeout"]
