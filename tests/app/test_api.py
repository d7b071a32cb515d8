"""The alert-to-case endpoint: token-checked, validated, idempotent."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from schoolgate.app.cases.models import Case

from .conftest import signed_in

AUTH = {"HTTP_AUTHORIZATION": "Bearer test-alert-token"}


def _post(client: Client, body: object, **headers: str):
    return client.post(
        reverse("api-alerts"), json.dumps(body), content_type="application/json", **headers
    )


def test_alert_opens_one_case_however_often_sent(people) -> None:
    alert = {
        "id": "alert-42",
        "user": "pupil-1",
        "category": "vpn",
        "target": "vpn.example/download",
        "level": "medium",
        "reason": "Blocked attempt to reach a VPN",
        "at": "2025-10-06T11:02:00+01:00",
    }
    client = Client()
    first = _post(client, alert, **AUTH)
    assert first.status_code == 201
    again = _post(client, alert, **AUTH)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    case = Case.objects.get()
    assert case.alert_key == "alert-42" and case.reporter is None
    assert case.incident_type == "pupil:subverting-filtering"  # from the policy's categories
    assert list(case.involved.all()) == [people["pupil"]] and case.year_group == "8"


def test_staff_alerts_use_the_staff_matrix_and_illegal_is_flagged(people) -> None:
    client = Client()
    staff = _post(client, {"id": "a1", "user": "teacher-1", "category": "proxy"}, **AUTH).json()
    assert staff["incident_type"] == "staff:proxy-use" and not staff["illegal"]
    illegal = _post(
        client, {"id": "a2", "user": "pupil-1", "category": "child-sexual-abuse"}, **AUTH
    ).json()
    assert illegal["illegal"] and illegal["incident_type"] == "pupil:illegal-material"


def test_tokens_and_input_are_checked(people) -> None:
    client = Client()
    assert _post(client, {"id": "x"}).status_code == 401
    assert _post(client, {"id": "x"}, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    dsl = signed_in(people["dsl"])  # a staff session is not a service token
    assert _post(dsl, {"id": "x"}).status_code == 401
    bad = _post(client, {"user": "pupil-1"}, **AUTH)
    assert bad.status_code == 400 and "'id' is required" in bad.json()["error"]
    assert "unknown fields" in _post(client, {"id": "y", "colour": "red"}, **AUTH).json()["error"]
    assert "'level'" in _post(client, {"id": "y", "level": "dire"}, **AUTH).json()["error"]
    raw = client.post(reverse("api-alerts"), "not json", content_type="application/json", **AUTH)
    assert raw.status_code == 400 and "not JSON" in raw.json()["error"]
    assert client.get(reverse("api-alerts"), **AUTH).status_code == 405
    assert not Case.objects.exists()
