"""Monitoring alerts in the staff app: one open alert and case per user and theme (issue 8)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from schoolgate.app.alerts.models import Alert, Status
from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.cases.models import Case

from .conftest import signed_in

AUTH = {"HTTP_AUTHORIZATION": "Bearer test-alert-token"}
SAFEGUARDING = {"dsl", "deputy-dsl", "online-safety-coordinator"}


def _post(body: object, **headers: str):
    return Client().post(
        reverse("api-alerts"), json.dumps(body), content_type="application/json", **headers
    )


def _alert(count: int, last: str = "2026-11-24T10:05:00Z", **fields: object) -> dict:
    return {
        "id": f"pupil-1|self-harm|{count}",
        "theme": "self-harm",
        "level": "critical",
        "user": "pupil-1",
        "address": "10.0.0.7",
        "group": "pupil-ks2",
        "count": count,
        "first": "2026-11-24T10:00:00Z",
        "last": last,
        "notify": ["dsl"],
        "category": "self-harm",
        "context": {"window_minutes": 30, "events": [{"at": last, "action": "block"}]},
    } | fields


def test_repeats_update_one_alert_and_one_case(people) -> None:
    first = _post(_alert(1), **AUTH)
    assert first.status_code == 201
    again = _post(_alert(1), **AUTH)  # the outbox retried: nothing new
    assert again.status_code == 200 and again.json()["case"] == first.json()["case"]
    _post(_alert(10, last="2026-11-24T10:09:00Z"), **AUTH)
    _post(_alert(4, last="2026-11-24T10:03:00Z"), **AUTH)  # an older delivery, late
    alert = Alert.objects.get()
    assert alert.count == 10 and alert.last.minute == 9
    assert alert.context["events"][0]["at"] == "2026-11-24T10:09:00Z"
    assert Case.objects.count() == 1
    case = Case.objects.get()
    assert case.alert["count"] == 10 and list(case.involved.all()) == [people["pupil"]]
    assert alert.case == case and alert.person == people["pupil"]


def test_a_closed_alert_lets_a_new_one_open(people) -> None:
    _post(_alert(3), **AUTH)
    Alert.objects.update(status=Status.CLOSED)
    assert _post(_alert(1, first="2026-11-25T09:00:00Z", last="2026-11-25T09:00:00Z"), **AUTH)
    assert Alert.objects.count() == 2 and Case.objects.count() == 2


def test_an_unidentified_device_is_its_own_subject(people) -> None:
    body = _alert(2)
    del body["user"]
    assert _post(body, **AUTH).status_code == 201
    assert Alert.objects.get().subject == "address:10.0.0.7"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"count": 0}, "'count'"),
        ({"count": "10"}, "'count'"),
        ({"theme": "Self Harm"}, "'theme'"),
        ({"level": "none"}, "'level'"),
        ({"first": "yesterday"}, "'first'"),
        ({"last": "2026-11-24T10:05:00"}, "no time zone"),
        ({"last": "2026-11-24T09:00:00Z"}, "before 'first'"),
        ({"notify": "dsl"}, "'notify'"),
        ({"context": {"events": "x"}}, "context.events"),
        ({"colour": "red"}, "unknown fields"),
        ({"user": None, "address": None}, "'user' or 'address'"),
    ],
)
def test_bad_alerts_are_refused_with_the_field(people, change, message) -> None:
    body = {k: v for k, v in (_alert(1) | change).items() if v is not None}
    response = _post(body, **AUTH)
    assert response.status_code == 400 and message in response.json()["error"]
    assert not Alert.objects.exists() and not Case.objects.exists()


def test_the_token_is_still_required(people) -> None:
    assert _post(_alert(1)).status_code == 401
    assert not Alert.objects.exists()


def test_only_safeguarding_roles_see_a_pupils_history(people) -> None:
    _post(_alert(10), **AUTH)
    url = reverse("alert-history", args=["pupil-1"])
    for role in sorted({p.role for p in people.values()}):
        response = signed_in(people[role]).get(url)
        assert (response.status_code == 200) == (role in SAFEGUARDING), role
        if role not in SAFEGUARDING:
            assert response.status_code == 403
    page = signed_in(people["dsl"]).get(url).content.decode()
    assert "10 attempts" in page and "Self harm" in page
    assert AuditEntry.objects.filter(action="alerts.history.view").exists()
    assert Client().get(url).status_code == 302  # signed out: to the sign-in page
