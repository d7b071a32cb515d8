"""Who is told, and by when, from the policy's routes and monitoring section (issue 8, STM-007)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schoolgate.engine.alerting import deadline, is_staffed, routing, within_is_known
from schoolgate.engine.policy.checks import cross_reference_problems
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.policy.schema import AlertLevel, AlertRoute

TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Europe/London is UTC in November
SATURDAY_22 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy(policy_path):
    return load_policy(policy_path("st-thomas-more"))


def test_in_hours_the_route_contacts_are_told(policy) -> None:
    routed = routing(policy, AlertLevel.CRITICAL, TUESDAY_10)
    assert not routed.out_of_hours
    assert routed.roles == ("dsl", "principal", "online-safety-coordinator")
    assert {r.order for r in routed.recipients} == {0}


def test_at_22_on_a_saturday_the_call_order_applies(policy) -> None:
    assert not is_staffed(policy, SATURDAY_22)
    routed = routing(policy, AlertLevel.CRITICAL, SATURDAY_22)
    assert routed.out_of_hours and routed.roles == ("dsl", "principal")
    assert [r.role for r in routed.told_at_once()] == ["dsl"]
    assert routed.next_after(0).role == "principal" and routed.next_after(1) is None


def test_low_alerts_wait_for_the_route_contacts_out_of_hours(policy) -> None:
    routed = routing(policy, AlertLevel.LOW, SATURDAY_22)
    assert not routed.out_of_hours and routed.roles == ("online-safety-coordinator",)


def test_deadlines(policy) -> None:
    assert deadline(policy, None, TUESDAY_10) is None
    assert deadline(policy, "immediately", TUESDAY_10) == TUESDAY_10 + timedelta(minutes=15)
    assert deadline(policy, "30 minutes", TUESDAY_10) == TUESDAY_10 + timedelta(minutes=30)
    assert deadline(policy, "2 hours", TUESDAY_10) == TUESDAY_10 + timedelta(hours=2)
    assert deadline(policy, "same school day", TUESDAY_10) == TUESDAY_10.replace(hour=18)
    # Saturday night: by the end of Monday's staffed hours.
    monday_end = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    assert deadline(policy, "same school day", SATURDAY_22) == monday_end


def test_unknown_deadlines_and_roles_are_policy_problems(policy) -> None:
    assert within_is_known("Immediately") and not within_is_known("asap")
    routes = [*policy.alert_routes, AlertRoute(level=AlertLevel.LOW, notify=["dsl"], within="asap")]
    monitoring = policy.monitoring.model_copy(update={"out_of_hours": ["caretaker"]})
    broken = policy.model_copy(update={"alert_routes": routes, "monitoring": monitoring})
    problems = dict(cross_reference_problems(broken))
    assert "'asap' is not a delivery deadline" in problems[("alert_routes", 4, "within")]
    assert problems[("monitoring", "out_of_hours", 0)] == "no contact has role 'caretaker'"
