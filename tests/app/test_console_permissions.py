"""Every console URL for every role (issue 13): who gets in and who is refused.

Written out by hand, not derived from roles.py, so a change to the table that opens the query
log (browsing history, STM-099) to teachers or anyone else fails here.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from schoolgate.app.console.models import Device, UnblockRequest
from schoolgate.app.roles import Role

from .conftest import signed_in
from .console_support import configure, console_files

SAFEGUARDING = {"dsl", "deputy-dsl", "online-safety-coordinator"}
ADMIN = SAFEGUARDING | {"network-manager"}
EVERYONE = {r.value for r in Role}

# (url name, object, method, roles allowed)
MATRIX = [
    ("console-dashboard", None, "get", ADMIN),
    ("console-query-log", None, "get", {"dsl", "deputy-dsl", "network-manager"}),
    ("console-tester", None, "get", ADMIN),
    ("console-devices", None, "get", {"network-manager"}),
    ("console-device-new", None, "get", {"network-manager"}),
    ("console-device-edit", "device", "get", {"network-manager"}),
    ("console-device-delete", "device", "post", {"network-manager"}),
    ("console-requests", None, "get", ADMIN),
    ("console-request", "request", "get", ADMIN),
    ("console-request", "request", "post", ADMIN),
]


@pytest.fixture
def objects(db, settings, tmp_path) -> dict[str, int]:
    configure(settings, console_files(tmp_path))
    device = Device.objects.create(name="PC", address="10.0.0.5", group="staff")
    request = UnblockRequest.objects.create(
        source_key="k1",
        kind="unblock-request",
        url="http://a.test/",
        requested_at="2026-12-01T10:00Z",
    )
    return {"device": device.pk, "request": request.pk}


def _url(name: str, obj: str | None, objects: dict[str, int]) -> str:
    return reverse(name, args=[objects[obj]]) if obj else reverse(name)


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_every_role_against_every_console_view(people, objects, role) -> None:
    client = signed_in(people[role])
    for name, obj, method, allowed in MATRIX:
        if name == "console-device-delete" and role in allowed:
            continue  # deleting is checked last, below, so the other views still find it
        response = getattr(client, method)(_url(name, obj, objects))
        refused = response.status_code == 403
        assert refused == (role not in allowed), (name, method, role, response.status_code)
        if not refused:
            assert response.status_code in {200, 302}, (name, role, response.status_code)
    delete = client.post(_url("console-device-delete", "device", objects))
    assert (delete.status_code == 403) == (role != "network-manager"), role
    assert Device.objects.exists() == (role != "network-manager")


def test_signed_out_users_go_to_sign_in(objects) -> None:
    client = Client()
    for name, obj, method, _ in MATRIX:
        response = getattr(client, method)(_url(name, obj, objects))
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_delete_needs_a_post(people, objects) -> None:
    client = signed_in(people["network-manager"])
    assert client.get(_url("console-device-delete", "device", objects)).status_code == 405
    assert Device.objects.exists()
