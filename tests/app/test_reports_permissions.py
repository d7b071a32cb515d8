"""Every reports URL for every role, written out by hand (issue 12; CAV-075, STM-016): the
governors and the safeguarding leads read the termly report, only a governor signs it off; the
UKSIC self-check is read by whoever reads the DfE evidence pack."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from schoolgate.app.roles import Role

from .conftest import signed_in

SAFEGUARDING = {"dsl", "deputy-dsl", "online-safety-coordinator"}
ADMIN = SAFEGUARDING | {"network-manager"}
EVERYONE = {r.value for r in Role}

# (url name, method, data, roles allowed)
MATRIX = [
    ("governor-report", "get", {"term": "2025-autumn"}, SAFEGUARDING | {"governor"}),
    ("governor-report-sign-off", "post", {"term": "2025-autumn", "read": "yes"}, {"governor"}),
    ("uksic-self-check", "get", {}, ADMIN | {"governor"}),
]


@pytest.fixture(autouse=True)
def _no_store(settings, tmp_path):
    settings.SCHOOLGATE_EVENTS = f"sqlite:///{tmp_path / 'none' / 'events.sqlite3'}"


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_every_role_against_every_reports_view(people, role) -> None:
    client = signed_in(people[role])
    for name, method, data, allowed in MATRIX:
        response = getattr(client, method)(reverse(name), data)
        refused = response.status_code == 403
        assert refused == (role not in allowed), (name, role, response.status_code)
        if not refused:
            assert response.status_code in (200, 302), (name, role, response.status_code)


def test_signed_out_users_go_to_sign_in(db) -> None:
    for name, method, data, _ in MATRIX:
        response = getattr(Client(), method)(reverse(name), data)
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_sign_off_is_post_only(people) -> None:
    assert signed_in(people["governor"]).get(reverse("governor-report-sign-off")).status_code == 405
