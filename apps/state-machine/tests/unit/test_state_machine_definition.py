"""The ASL definition wires the saga as the README promises: the error names it retries and
catches are the ones the functions raise, the compensations run in reverse order, and every
``${...}`` it uses is substituted by the template."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from saga_orders import orders

from .conftest import APP_DIR

ASL: dict[str, Any] = json.loads((APP_DIR / "statemachine" / "order_saga.asl.json").read_text())
STATES: dict[str, Any] = ASL["States"]


class _CfnLoader(yaml.SafeLoader):
    """Keeps CloudFormation short-form tags (!Ref, !GetAtt...) as plain data."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix}")


def test_every_substitution_is_declared_in_the_template() -> None:
    template = yaml.load((APP_DIR / "template.yaml").read_text(), Loader=_CfnLoader)
    machine = template["Resources"]["OrderSagaStateMachine"]["Properties"]
    used = set(re.findall(r"\$\{(\w+)\}", json.dumps(ASL)))
    assert used == set(machine["DefinitionSubstitutions"])
    assert machine["DefinitionUri"] == "statemachine/order_saga.asl.json"
    assert machine["Type"] == "STANDARD"


def test_the_happy_path_runs_reserve_charge_wait_confirm() -> None:
    path, state = [], ASL["StartAt"]
    while state:
        path.append(state)
        state = STATES[state].get("Next")
    assert path == [
        "LoadSettings",
        "ReserveInventory",
        "ChargePayment",
        "ConfirmationDelay",
        "ConfirmOrder",
        "OrderConfirmed",
    ]
    assert STATES["ConfirmationDelay"]["Type"] == "Wait"


def test_only_the_transient_payment_error_is_retried_with_backoff() -> None:
    retriers = STATES["ChargePayment"]["Retry"]
    payment = [r for r in retriers if orders.PaymentGatewayUnavailable.__name__ in r["ErrorEquals"]]
    assert len(payment) == 1
    assert payment[0]["BackoffRate"] > 1
    named = {name for r in retriers for name in r["ErrorEquals"]}
    assert orders.PaymentDeclined.__name__ not in named
    assert "States.ALL" not in named


def _compensation_chain(start: str) -> list[str]:
    chain, state = [], start
    while state != "MarkCancelled":
        chain.append(state)
        state = STATES[state]["Next"]
    return chain


def test_a_failure_compensates_in_reverse_order_of_the_steps_done() -> None:
    def catch_target(state: str) -> str:
        (catcher,) = STATES[state]["Catch"]
        assert catcher["ErrorEquals"] == ["States.ALL"]
        return str(catcher["Next"])

    assert _compensation_chain(catch_target("ReserveInventory")) == ["ReleaseInventory"]
    assert _compensation_chain(catch_target("ChargePayment")) == [
        "RefundPayment",
        "ReleaseInventory",
    ]
    assert _compensation_chain(catch_target("ConfirmOrder")) == [
        "RefundPayment",
        "ReleaseInventory",
    ]
    # A compensation is retried but never caught: if it keeps failing the execution fails.
    for state in ("RefundPayment", "ReleaseInventory", "MarkCancelled"):
        assert "Catch" not in STATES[state]
        assert STATES[state]["Retry"]
