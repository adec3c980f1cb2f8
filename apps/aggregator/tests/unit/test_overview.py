"""Combining the three answers: complete, partial with reasons, 404, essential failures."""

from __future__ import annotations

import threading

import pytest
from common_layer.lambda_client import (
    InvalidResponse,
    RemoteError,
    ServiceThrottled,
    ServiceTimeout,
    TransportError,
)
from overview_api.overview import (
    CustomerNotFound,
    EssentialPartFailed,
    build_overview,
    reason_of,
)
from overview_api.services import PartRejected, PartUnavailable


def remote(cls: type[RemoteError], error_type: str, message: str = "nope") -> RemoteError:
    return cls(error_type, message, [], function_name="fn", request_id="r-1")


def test_a_complete_overview_has_every_part_and_nothing_unavailable(fake_services):
    services = fake_services()

    overview = build_overview(services, "c-1", budget=5, correlation_id="corr-1")

    assert overview.to_json() == {
        "customer_id": "c-1",
        "partial": False,
        "profile": {"name": "Ada", "email": "ada@example.com"},
        "recent_orders": {"orders": [{"order_id": "O-1"}], "count": 1},
        "loyalty": {"member": True, "points": 120, "tier": "SILVER"},
        "unavailable": [],
    }
    assert sorted(name for name, _, _ in services.calls) == ["loyalty", "profile", "recent_orders"]
    assert ("profile", "c-1", "corr-1") in services.calls
    assert ("recent_orders", "c-1", 5) in services.calls


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (remote(PartUnavailable, "Unavailable", "fault drill"), "unavailable"),
        (ServiceTimeout("timed out", function_name="fn"), "timeout"),
        (ServiceThrottled("throttled", function_name="fn", attempts=2), "throttled"),
        (TransportError("no such function", code="ResourceNotFoundException"), "unavailable"),
        (remote(RemoteError, "KeyError", "'points'"), "error"),
        (remote(PartRejected, "ValidationFailed"), "error"),
        (InvalidResponse("returned 'null', not a JSON object"), "error"),
    ],
)
def test_a_failed_optional_part_gives_a_partial_overview_naming_it(error, reason, fake_services):
    overview = build_overview(fake_services(loyalty=error), "c-1", budget=5)

    body = overview.to_json()
    assert body["partial"] is True
    assert body["loyalty"] is None
    assert body["unavailable"] == [{"part": "loyalty", "reason": reason}]
    assert body["profile"]["name"] == "Ada"
    assert body["recent_orders"]["count"] == 1


def test_an_optional_part_that_is_too_slow_is_left_out_as_timeout(fake_services):
    hang = threading.Event()
    try:
        overview = build_overview(fake_services(recent_orders=hang), "c-1", budget=0.3)
    finally:
        hang.set()

    assert overview.partial
    assert overview.to_json()["recent_orders"] is None
    assert overview.to_json()["unavailable"] == [{"part": "recent_orders", "reason": "timeout"}]
    assert overview.to_json()["loyalty"]["points"] == 120


def test_both_optional_parts_can_be_missing_at_once(fake_services):
    overview = build_overview(
        fake_services(
            recent_orders=remote(PartUnavailable, "Unavailable"),
            loyalty=ServiceTimeout("late"),
        ),
        "c-1",
        budget=5,
    )

    assert overview.to_json()["unavailable"] == [
        {"part": "recent_orders", "reason": "unavailable"},
        {"part": "loyalty", "reason": "timeout"},
    ]


def test_an_unknown_customer_is_not_found_whatever_the_other_parts_did(fake_services):
    not_found = remote(CustomerNotFound, "NotFound", "no customer 'c-9'")

    with pytest.raises(CustomerNotFound):
        build_overview(
            fake_services(profile=not_found, loyalty=ServiceTimeout("late")), "c-9", budget=5
        )


@pytest.mark.parametrize(
    ("error", "reason", "transient"),
    [
        (remote(PartUnavailable, "Unavailable"), "unavailable", True),
        (ServiceTimeout("timed out"), "timeout", True),
        (ServiceThrottled("throttled"), "throttled", True),
        (remote(RemoteError, "Runtime.ImportModuleError"), "error", False),
        (InvalidResponse("not an object"), "error", False),
    ],
)
def test_a_failed_essential_part_means_no_overview(error, reason, transient, fake_services):
    with pytest.raises(EssentialPartFailed) as failed:
        build_overview(fake_services(profile=error), "c-1", budget=5)

    assert failed.value.part == "profile"
    assert failed.value.reason == reason
    assert failed.value.transient is transient
    assert [m.to_json() for m in failed.value.missing] == [{"part": "profile", "reason": reason}]


def test_a_too_slow_essential_part_is_a_transient_failure(fake_services):
    hang = threading.Event()
    try:
        with pytest.raises(EssentialPartFailed) as failed:
            build_overview(fake_services(profile=hang), "c-1", budget=0.2)
    finally:
        hang.set()
    assert failed.value.reason == "timeout"
    assert failed.value.transient


def test_once_the_profile_failed_the_optional_parts_are_not_waited_for(fake_services):
    """The optional services hang for 30 s; the budget is 30 s: only stopping early ends it."""
    hang = threading.Event()
    try:
        with pytest.raises(EssentialPartFailed):
            build_overview(
                fake_services(
                    profile=remote(PartUnavailable, "Unavailable"), recent_orders=hang, loyalty=hang
                ),
                "c-1",
                budget=30,
            )
    finally:
        hang.set()


def test_reason_of_an_unexpected_exception_is_error():
    assert reason_of(KeyError("x")) == "error"
