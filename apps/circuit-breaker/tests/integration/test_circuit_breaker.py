"""The circuit breaker as a client of the API sees it, with the stand-in supplier switched
between healthy, failing and slow through its health item.

These tests know only the deployed stack (its outputs), so the same file runs against the
embedded local cloud (default) and against a stack on AWS (``--target aws``). Every test
uses a supplier id of its own (``unique_id``), hence a breaker of its own, and deletes the
breaker and the supplier's records afterwards, even when it fails.

What they prove: calls pass while the supplier is healthy; FailureThreshold failures open
the breaker, after which calls are refused at once (503 + Retry-After) and no longer reach
the supplier (its call count stops growing); after the open period exactly one trial call
reaches it, even when many callers arrive together; a good trial closes the breaker, a
failed one opens it again for twice as long; a supplier slower than the dependency timeout
counts as failing (504).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from stack_testing import Stack, wait_for

TIMEOUT = 30  # seconds per HTTP request; API Gateway's own limit is 29 s


@dataclass
class Supplier:
    """One supplier of the stand-in (its health switch and call records) and its breaker."""

    stack: Stack
    supplier_id: str
    base_url: str
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def dynamodb(self) -> Any:
        return self.stack.client("dynamodb")

    def switch(self, mode: str, delay_seconds: float | None = None) -> None:
        item = {
            "supplier_id": {"S": self.supplier_id},
            "record": {"S": "HEALTH"},
            "mode": {"S": mode},
        }
        if delay_seconds is not None:
            item["delay_seconds"] = {"N": str(delay_seconds)}
        self.dynamodb.put_item(TableName=self.stack.output("SupplierTableName"), Item=item)

    def calls(self) -> int:
        """How many calls the supplier has received (its call records)."""
        response = self.dynamodb.query(
            TableName=self.stack.output("SupplierTableName"),
            KeyConditionExpression="supplier_id = :s AND begins_with(#r, :call)",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":s": {"S": self.supplier_id}, ":call": {"S": "CALL#"}},
            Select="COUNT",
            ConsistentRead=True,
        )
        return int(response["Count"])

    def breaker(self) -> dict[str, Any]:
        item = self.dynamodb.get_item(
            TableName=self.stack.output("BreakerTableName"),
            Key={"breaker_key": {"S": self.supplier_id}},
            ConsistentRead=True,
        ).get("Item", {})
        return {
            name: (int(value["N"]) if "N" in value else value["S"]) for name, value in item.items()
        }

    def get_stock(self, sku: str = "MUG-1") -> requests.Response:
        return self.http.get(
            f"{self.base_url}suppliers/{self.supplier_id}/stock/{sku}", timeout=TIMEOUT
        )

    def trip(self, threshold: int) -> None:
        """Switch the supplier to failing and fail `threshold` calls: the breaker opens."""
        self.switch("failing")
        statuses = [self.get_stock().status_code for _ in range(threshold)]
        assert statuses == [502] * threshold
        assert self.breaker()["state"] == "OPEN"

    def first_call_not_refused(self) -> requests.Response:
        """Poll until a call is let through: every poll before it is refused without reaching
        the supplier, so the one returned is the breaker's trial call."""

        def attempt() -> list[requests.Response] | None:
            response = self.get_stock()
            # In a list: a requests.Response with a 4xx/5xx status is falsy itself.
            return None if response.status_code == 503 else [response]

        return wait_for(attempt, timeout=120, interval=0.25, description="a call let through")[0]

    def clean_up(self) -> None:
        self.http.close()
        table = self.stack.output("SupplierTableName")
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="supplier_id = :s",
            ExpressionAttributeValues={":s": {"S": self.supplier_id}},
            ProjectionExpression="supplier_id, #r",
            ExpressionAttributeNames={"#r": "record"},
        )
        for page in pages:
            for key in page["Items"]:
                self.dynamodb.delete_item(TableName=table, Key=key)
        self.dynamodb.delete_item(
            TableName=self.stack.output("BreakerTableName"),
            Key={"breaker_key": {"S": self.supplier_id}},
        )


@pytest.fixture
def supplier(stack: Stack, unique_id: str) -> Iterator[Supplier]:
    base_url = stack.url("ApiUrl")
    one = Supplier(
        stack, f"sup-{unique_id}", base_url if base_url.endswith("/") else base_url + "/"
    )
    yield one
    one.clean_up()


@pytest.fixture
def threshold(stack: Stack) -> int:
    return int(stack.output("FailureThreshold"))


@pytest.fixture
def open_ms(stack: Stack) -> int:
    return int(stack.output("OpenSeconds")) * 1000


def test_healthy_supplier_calls_pass_and_the_breaker_stays_closed(supplier: Supplier) -> None:
    supplier.switch("up")
    for _ in range(3):
        response = supplier.get_stock("MUG-1")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["supplier_id"] == supplier.supplier_id
        assert body["sku"] == "MUG-1"
        assert isinstance(body["available"], int)
        assert body["circuit"]["state"] == "CLOSED"
        assert response.headers["X-Circuit-State"] == "CLOSED"
    assert supplier.calls() == 3


def test_failing_supplier_opens_the_breaker_and_further_calls_never_reach_it(
    supplier: Supplier, threshold: int
) -> None:
    supplier.switch("failing")
    for failures in range(1, threshold):
        response = supplier.get_stock()
        assert response.status_code == 502, response.text
        assert response.json()["circuit"] == {"state": "CLOSED", "failures": failures}
    opening = supplier.get_stock()
    assert opening.status_code == 502
    assert opening.headers["X-Circuit-State"] == "OPEN"
    assert supplier.calls() == threshold

    for _ in range(5):
        refused = supplier.get_stock()
        assert refused.status_code == 503, refused.text
        assert refused.headers["X-Circuit-State"] == "OPEN"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert "not calling it" in refused.json()["message"]
    assert supplier.calls() == threshold  # refused calls never reached the supplier


def test_after_the_open_period_one_trial_and_a_healthy_supplier_closes_the_breaker(
    supplier: Supplier, threshold: int
) -> None:
    supplier.trip(threshold)
    supplier.switch("up")

    trial = supplier.first_call_not_refused()
    assert trial.status_code == 200, trial.text
    assert trial.headers["X-Circuit-State"] == "CLOSED"
    assert supplier.calls() == threshold + 1  # exactly one trial call
    breaker = supplier.breaker()
    assert (breaker["state"], breaker["failures"], breaker["open_ms"]) == ("CLOSED", 0, 0)
    assert supplier.get_stock().status_code == 200


def test_a_failed_trial_opens_the_breaker_again_for_twice_as_long(
    supplier: Supplier, threshold: int, open_ms: int
) -> None:
    supplier.trip(threshold)
    first_period = supplier.breaker()
    assert first_period["open_ms"] == open_ms

    trial = supplier.first_call_not_refused()
    assert trial.status_code == 502, trial.text
    assert trial.headers["X-Circuit-State"] == "OPEN"
    assert supplier.calls() == threshold + 1
    second_period = supplier.breaker()
    assert second_period["state"] == "OPEN"
    assert second_period["open_ms"] == 2 * open_ms
    assert second_period["open_until_ms"] > first_period["open_until_ms"] + 2 * open_ms - 1
    refused = supplier.get_stock()
    assert refused.status_code == 503
    assert supplier.calls() == threshold + 1

    # Back up: the next trial (after the doubled period) closes it and resets the backoff.
    supplier.switch("up")
    closing = supplier.first_call_not_refused()
    assert closing.status_code == 200, closing.text
    assert supplier.calls() == threshold + 2
    assert supplier.breaker()["open_ms"] == 0


def test_many_callers_after_the_open_period_make_a_single_trial_call(
    supplier: Supplier, threshold: int
) -> None:
    supplier.trip(threshold)
    burst = 6

    def burst_until_one_is_let_through() -> list[int] | None:
        with ThreadPoolExecutor(max_workers=burst) as pool:
            statuses = list(pool.map(lambda _: supplier.get_stock().status_code, range(burst)))
        return statuses if any(status != 503 for status in statuses) else None

    statuses = wait_for(
        burst_until_one_is_let_through, timeout=120, interval=0.25, description="a trial call"
    )
    assert sorted(statuses) == [502] + [503] * (burst - 1)
    assert supplier.calls() == threshold + 1
    assert supplier.breaker()["state"] == "OPEN"


def test_a_supplier_slower_than_the_timeout_counts_as_a_failure(
    supplier: Supplier, stack: Stack
) -> None:
    timeout = int(stack.output("DependencyTimeoutSeconds"))
    supplier.switch("slow", delay_seconds=timeout + 2)
    response = supplier.get_stock()
    assert response.status_code == 504, response.text
    assert response.json()["circuit"] == {"state": "CLOSED", "failures": 1}
    assert supplier.calls() == 1


def test_invalid_ids_are_400_and_touch_no_breaker(supplier: Supplier) -> None:
    response = supplier.http.get(
        f"{supplier.base_url}suppliers/{supplier.supplier_id}/stock/bad%20sku!", timeout=TIMEOUT
    )
    assert response.status_code == 400, response.text
    assert "sku" in response.json()["message"]
    assert supplier.breaker() == {}
    assert supplier.calls() == 0
