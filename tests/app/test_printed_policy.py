"""The staff app's printed policy (issue 12): dated from the signed-off annual reviews, never
from the written policy's own old dates; named people or blanks; audited (STM-004, STM-006,
STM-016, HG-001)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.urls import reverse

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.reviews.models import Review
from schoolgate.engine.policy.render import BLANK

from .conftest import signed_in

POLICIES = Path(__file__).resolve().parents[2] / "policies"
LONDON = ZoneInfo("Europe/London")


def _review(people, day: date, name: str, position: str) -> Review:
    return Review.objects.create(
        due_on=day,
        checklist={"roles": True},
        outcome="Fit for the school.",
        signed_off_by=people["governor"],
        signed_off_name=name,
        signed_off_position=position,
        signed_off_at=datetime(day.year, day.month, day.day, 16, 0, tzinfo=LONDON),
    )


def _head(page: str) -> str:
    return page.split("<h2>", 1)[0]


def test_without_a_review_the_dates_are_blanks_not_the_seeds_stm_006(people, settings) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    response = signed_in(people["governor"]).get(reverse("printed-policy"))
    page = response.content.decode()
    assert response.status_code == 200 and page.startswith("<!doctype html>")
    assert f"<strong>Approved:</strong> {BLANK}" in _head(page)
    assert f"<strong>Next review:</strong> {BLANK}" in _head(page)
    assert "2016" not in _head(page) and "2017" not in _head(page)
    history = page.split("Appendix: document history", 1)[1]
    assert "approved December 2016" in history and "December 2017" in history
    assert AuditEntry.objects.filter(action="review.printed-policy").count() == 1


def test_dates_are_the_last_signed_off_review_and_the_next_due_stm_004(people, settings) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    _review(people, date(2025, 2, 3), "Ann Old", "Principal")
    _review(people, date(2026, 2, 10), "Gill Governor", "Online Safety Governor")
    page = signed_in(people["dsl"]).get(reverse("printed-policy")).content.decode()
    head = _head(page)
    assert "<strong>Approved:</strong> 10 February 2026, signed off by Gill Governor" in head
    assert "<strong>Next review:</strong> 10 February 2027" in head
    assert "Approved 10 February 2026 · Next review 10 February 2027" in page  # page footer
    history = page.split("Appendix: document history", 1)[1]
    assert "3 February 2025: annual filtering and monitoring review signed off by Ann Old" in (
        history
    )


def test_named_contacts_and_blanks_from_the_roles_register_hg_001(people, settings) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "heanor-gate.yaml"
    page = signed_in(people["governor"]).get(reverse("printed-policy")).content.decode()
    register = page.split("Responsible for filtering and monitoring", 1)[1].split("<h2>", 1)[0]
    assert "Stephen Huntington" in register
    assert f'<td>Governors</td>\n<td class="blank">{BLANK}</td>' in register
    review_list = signed_in(people["governor"]).get(reverse("review-list")).content.decode()
    assert reverse("printed-policy") in review_list
