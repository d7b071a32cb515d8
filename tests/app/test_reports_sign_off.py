"""A governor signs off the termly report in their own session (CAV-075, CAV-S12; STM-016,
STM-018): who, when, in what position and exactly what they signed are kept, audited, and any
later change to the figures is shown against the signed copy. Nobody else can sign."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.cases.terms import Term
from schoolgate.app.reports.models import SignOffError, TermReportSignOff
from schoolgate.app.reports.termly import fingerprint
from schoolgate.app.reports.views import _view
from schoolgate.app.roles import Role

from .conftest import signed_in

LONDON = ZoneInfo("Europe/London")
POLICIES = Path(__file__).resolve().parents[2] / "policies"
AUTUMN = Term(2025, "autumn")


@pytest.fixture(autouse=True)
def cavendish(settings, tmp_path):
    settings.SCHOOLGATE_POLICY = POLICIES / "cavendish.yaml"
    settings.SCHOOLGATE_EVENTS = f"sqlite:///{tmp_path / 'no-store' / 'events.sqlite3'}"


def _sign(client, term: str = "2025-autumn", **extra):
    data = {"term": term, "position": "Chair of Governors", "read": "yes"} | extra
    return client.post(reverse("governor-report-sign-off"), data)


def _incident(people, day: int) -> Case:
    case = workflow.open_case(
        people["teacher"], Source.STAFF, {"summary": "s", "details": "d"}, [people["pupil"]]
    )
    Case.objects.filter(pk=case.pk).update(reported_at=datetime(2025, 10, day, 9, tzinfo=LONDON))
    return case


def test_the_chair_of_governors_signs_off_the_term_and_it_is_kept_cav_075(people) -> None:
    _incident(people, 6)
    governor = people["governor"]
    response = _sign(signed_in(governor))
    assert response.status_code == 302 and response["Location"].endswith(
        "?term=2025-autumn#sign-off"
    )
    signed = TermReportSignOff.objects.get()
    assert (signed.term, signed.signed_by, signed.position) == (
        "2025-autumn",
        governor,
        "Chair of Governors",
    )
    assert signed.signed_by_name == governor.get_full_name()
    assert signed.figures == _view(AUTUMN) and signed.sha256 == fingerprint(signed.figures)
    assert signed.figures["totals"]["total"] == "fewer than 5"  # what was signed is anonymised
    entry = AuditEntry.objects.get(action="report.governor-signed-off")
    assert entry.actor == governor and entry.detail["sha256"] == signed.sha256
    assert entry.detail["term"] == "2025-autumn"
    page = signed_in(governor).get(reverse("governor-report") + "?term=2025-autumn")
    text = page.content.decode()
    assert f"Signed off by <strong>{governor.get_full_name()}</strong>, Chair of Governors" in text
    assert "The figures are the same as when signed" in text
    assert 'id="sign-off-form"' not in text  # signed once; nothing more to sign


def test_a_later_change_is_shown_against_what_was_signed_cav_s12(people) -> None:
    _sign(signed_in(people["governor"]))
    for day in range(1, 7):
        _incident(people, day)  # six incidents reported late, after the sign-off
    text = (
        signed_in(people["dsl"]).get(reverse("governor-report") + "?term=2025-autumn")
    ).content.decode()
    assert "The figures have changed since this sign-off" in text
    assert "Incidents reported: 0 when signed, 6 now" in text


def test_an_altered_record_is_detected(people) -> None:
    _sign(signed_in(people["governor"]))
    signed = TermReportSignOff.objects.get()
    figures = signed.figures
    figures["totals"]["total"] = "99"
    TermReportSignOff.objects.filter(pk=signed.pk).update(figures=figures)
    text = (
        signed_in(people["governor"]).get(reverse("governor-report") + "?term=2025-autumn")
    ).content.decode()
    assert "does not match its fingerprint" in text


@pytest.mark.parametrize("role", sorted(r.value for r in Role if r != Role.GOVERNOR))
def test_only_a_governor_can_sign_off(people, role) -> None:
    """The DSL and coordinator who write the figures read the report but do not sign it."""
    assert _sign(signed_in(people[role])).status_code == 403
    assert not TermReportSignOff.objects.exists()
    assert not AuditEntry.objects.filter(action="report.governor-signed-off").exists()


def test_the_model_refuses_a_non_governor_too(people) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        TermReportSignOff.sign(AUTUMN, people["dsl"], "DSL", _view(AUTUMN))
    people["governor"].is_active = False
    with pytest.raises(PermissionDenied):
        TermReportSignOff.sign(AUTUMN, people["governor"], "", _view(AUTUMN))


def test_signing_twice_or_a_future_term_or_without_reading_is_refused(people) -> None:
    client = signed_in(people["governor"])
    assert _sign(client, read="").status_code == 302
    assert not TermReportSignOff.objects.exists()
    _sign(client)
    follow = _sign(client)
    assert TermReportSignOff.objects.count() == 1
    page = client.get(follow["Location"]).content.decode()
    assert "already signed off the Autumn term 2025 report" in page
    with pytest.raises(SignOffError, match="has not started"):
        TermReportSignOff.sign(Term(2099, "spring"), people["governor"], "", {})
    assert _sign(client, term="2025-winter").status_code == 400


def test_a_second_governor_signs_separately(people) -> None:
    from .conftest import make_user

    other = make_user("governor", "gov-two", first_name="Grace", last_name="Other")
    _sign(signed_in(people["governor"]))
    _sign(signed_in(other), position="Online Safety Governor")
    assert [s.signed_by for s in TermReportSignOff.objects.all()] == [people["governor"], other]


def test_others_see_who_signs_but_no_form(people) -> None:
    text = (
        signed_in(people["dsl"]).get(reverse("governor-report") + "?term=2025-autumn")
    ).content.decode()
    assert "Not signed off yet." in text and 'id="sign-off-form"' not in text
    assert "A governor signs off this report" in text
