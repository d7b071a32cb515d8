"""Every reviews URL for every role (issue 12; DfE standards 1 and 2), written out by hand."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from schoolgate.app.reviews.models import Review, SelfTestRun
from schoolgate.app.roles import Role

from .conftest import signed_in

ADMIN = {"dsl", "deputy-dsl", "online-safety-coordinator", "network-manager"}
SAFEGUARDING = {"dsl", "deputy-dsl", "online-safety-coordinator"}
EVERYONE = {r.value for r in Role}

# (url name, object, method, roles allowed). STM-004/STM-006, STM-016/STM-017: the leads and the
# governor review; the network manager reads the register and the pack but does not sign off.
MATRIX = [
    ("roles-register", None, "get", ADMIN | {"governor"}),
    ("review-list", None, "get", ADMIN | {"governor"}),
    ("review-new", None, "get", SAFEGUARDING | {"governor"}),
    ("review-detail", "review", "get", ADMIN | {"governor"}),
    ("evidence-pack", None, "get", ADMIN | {"governor"}),
    ("selftest", None, "get", ADMIN | {"governor"}),
    ("printed-policy", None, "get", ADMIN | {"governor"}),
    ("selftest-run-detail", "run", "get", ADMIN | {"governor"}),
]


@pytest.fixture
def review(people) -> Review:
    return Review.objects.create(
        due_on="2026-01-01",
        checklist={"roles": True},
        outcome="o",
        signed_off_by=people["dsl"],
        signed_off_name="Dee Lead",
        signed_off_position="DSL",
    )


def _url(name: str, obj: str | None, review: Review) -> str:
    if obj == "run":
        return reverse(name, args=[_a_run(review.signed_off_by).pk])
    return reverse(name, args=[review.pk]) if obj else reverse(name)


def _a_run(user) -> SelfTestRun:
    """A stored self-test result (running one asks the gateway: test_selftest_page.py)."""
    report = {"started_at": "2026-12-03T10:00:00+00:00", "finished_at": "", "dns": "127.0.0.1:53",
              "proxy": "127.0.0.1:3128", "policy_sha256": "", "askers": {}, "not_probed": {},
              "results": []}  # fmt: skip
    return SelfTestRun.objects.create(
        ran_by=user, dns="127.0.0.1:53", proxy="127.0.0.1:3128", passed=False, probes=0,
        mismatches=0, not_probed=0, report=report,
    )  # fmt: skip


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_every_role_against_every_review_view(people, review, role) -> None:
    client = signed_in(people[role])
    for name, obj, method, allowed in MATRIX:
        response = getattr(client, method)(_url(name, obj, review))
        refused = response.status_code == 403
        assert refused == (role not in allowed), (name, role, response.status_code)
        if not refused:
            assert response.status_code == 200, (name, role, response.status_code)


def test_signing_off_is_refused_to_the_network_manager_and_teachers(people) -> None:
    for role in ("network-manager", "teacher", "pupil", "parent"):
        response = signed_in(people[role]).post(
            reverse("review-new"), {"checked": ["roles"], "outcome": "fine"}
        )
        assert response.status_code == 403, role
    assert not Review.objects.exists()


def test_only_the_admin_roles_run_the_filtering_self_test(people) -> None:
    """Governors read self-test results; running one asks the gateway, which the DSLs, the
    coordinator and the network manager do (the allowed roles are run against a real gateway
    in test_selftest_page.py)."""
    for role in sorted(EVERYONE - ADMIN):
        response = signed_in(people[role]).post(reverse("selftest-run"))
        assert response.status_code == 403, role
    assert signed_in(people["network-manager"]).get(reverse("selftest-run")).status_code == 405


def test_signed_out_users_go_to_sign_in(review) -> None:
    for name, obj, method, _ in MATRIX:
        response = getattr(Client(), method)(_url(name, obj, review))
        assert response.status_code == 302 and "/login/" in response["Location"], name
