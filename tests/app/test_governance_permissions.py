"""Every filter-change URL for every role (issue 12), written out by hand."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from schoolgate.app.governance.models import FilterChange
from schoolgate.app.roles import Role

from .conftest import signed_in

ADMIN = {"dsl", "deputy-dsl", "online-safety-coordinator", "network-manager"}
EVERYONE = {r.value for r in Role}

# (url name, object, method, roles allowed). STM-017/STM-327: the governor reads the log.
MATRIX = [
    ("filter-changes", None, "get", ADMIN | {"governor"}),
    ("filter-change-propose", None, "get", ADMIN),
    ("filter-change", "change", "get", ADMIN | {"governor"}),
    ("filter-change-log", None, "get", ADMIN | {"governor"}),
    ("filter-change-decide", "change", "post", ADMIN),
    # An approver or a DSL may withdraw someone else's change (the author too, tested apart).
    ("filter-change-withdraw", "change", "post", ADMIN),
]


@pytest.fixture
def change(people) -> FilterChange:
    return FilterChange.objects.create(
        action="block",
        groups=["ks3-pupils"],
        sites=["x.example"],
        reason="r",
        proposed_by=people["teacher-2"],
    )


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_every_role_against_every_change_view(people, change, role) -> None:
    client = signed_in(people[role])
    for name, obj, method, allowed in MATRIX:
        url = reverse(name, args=[change.pk]) if obj else reverse(name)
        # A decision without a "decision" field rejects: harmless, and it proves the way in.
        response = getattr(client, method)(url, {"decision": "hold"} if method == "post" else None)
        refused = response.status_code == 403
        assert refused == (role not in allowed), (name, role, response.status_code)


def test_signed_out_users_go_to_sign_in(change) -> None:
    for name, obj, method, _ in MATRIX:
        url = reverse(name, args=[change.pk]) if obj else reverse(name)
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_the_author_sees_no_approve_button_and_cannot_post_one(people, settings, tmp_path):
    change = FilterChange.objects.create(
        action="allow",
        groups=["ks3-pupils"],
        sites=["y.example"],
        reason="r",
        proposed_by=people["network-manager"],
    )
    client = signed_in(people["network-manager"])
    page = client.get(reverse("filter-change", args=[change.pk])).content.decode()
    assert 'id="approve"' not in page and "Waiting for someone other than" in page
    client.post(reverse("filter-change-decide", args=[change.pk]), {"decision": "approve"})
    change.refresh_from_db()
    assert change.status == FilterChange.Status.PROPOSED
    other = signed_in(people["dsl"]).get(reverse("filter-change", args=[change.pk]))
    assert 'id="approve"' in other.content.decode()
