"""DfE filtering and monitoring standards 1 and 2: the roles register, the annual review (due
date, overdue, sign-off, audit, reminders) and the evidence pack (issue 12; STM-004, STM-006,
STM-S33, STM-016, STM-017, SH-109, HG-001, CAV-083)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.reviews.models import Review
from schoolgate.app.reviews.register import roles_register
from schoolgate.app.reviews.schedule import interval_months, next_review
from schoolgate.app.reviews.workflow import CHECKLIST
from schoolgate.engine.policy.loader import load_policy

from .conftest import make_user, signed_in

POLICIES = Path(__file__).resolve().parents[2] / "policies"
ALL_ITEMS = [item for item, _ in CHECKLIST]


def _policy(name: str):
    return load_policy(POLICIES / f"{name}.yaml")


# --- Standard 1: the roles register ---------------------------------------------------------


def test_register_maps_st_thomas_more_contacts_and_flags_posts_without_names_stm_017() -> None:
    register = {e.duty.id: e for e in roles_register(_policy("st-thomas-more"))}
    assert [c.role for c in register["senior-leader"].contacts] == [
        "principal",
        "assistant-principal",
    ]
    assert [c.role for c in register["governor"].contacts] == ["online-safety-governor"]
    assert [c.role for c in register["dsl"].contacts] == ["dsl"]
    assert [c.role for c in register["it-provider"].contacts] == [
        "filtering-provider",
        "network-manager",
    ]
    # The seed names posts, never people: every duty is a gap until a name is added.
    assert all(e.gap.startswith("Post only, no person named") for e in register.values())


def test_register_shows_a_missing_governor_plainly_sh_109() -> None:
    register = {e.duty.id: e for e in roles_register(_policy("st-hilarys"))}
    assert register["governor"].gap == "No governor named in the policy"
    assert register["senior-leader"].contacts[0].role == "headteacher"


def test_named_contacts_close_the_gap_hg_001() -> None:
    register = {e.duty.id: e for e in roles_register(_policy("heanor-gate"))}
    assert register["senior-leader"].gap == ""
    assert register["senior-leader"].named[0].name == "Stephen Huntington"
    assert register["dsl"].gap == "" and register["it-provider"].gap == ""


def test_register_page_for_the_governor_is_audited(people) -> None:
    page = signed_in(people["governor"]).get(reverse("roles-register")).content.decode()
    assert "Dee Lead" in page  # the test policy's DSL
    assert "No governor named in the policy" in page
    assert "No senior leader named in the policy" in page
    assert AuditEntry.objects.filter(action="review.roles-register-viewed").count() == 1


# --- Standard 2: when the review is due ------------------------------------------------------


def test_interval_from_the_policy_capped_at_a_year_stm_006_sh_109_cav_083() -> None:
    assert interval_months(_policy("st-thomas-more")) == 12  # 2016-12 -> 2017-12
    assert interval_months(_policy("heanor-gate")) == 12
    assert interval_months(_policy("st-hilarys")) == 12  # 17 months in the seed; DfE: yearly
    assert interval_months(_policy("thomas-mills")) == 12  # no dates: a year


def test_due_date_from_the_policy_then_a_year_after_the_last_review_stm_004() -> None:
    policy = _policy("st-thomas-more")
    today = date(2026, 12, 3)
    first = next_review(policy, None, today)
    assert first.due_on == date(2017, 12, 1) and first.overdue(today)
    later = next_review(policy, date(2026, 2, 28), today)
    assert later.due_on == date(2027, 2, 28) and not later.overdue(today)
    assert next_review(_policy("thomas-mills"), None, today).due_on == today


# --- Recording and signing off ---------------------------------------------------------------


def test_list_shows_overdue_for_the_seed_review_date_stm_006(people, settings) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    page = signed_in(people["governor"]).get(reverse("review-list")).content.decode()
    assert "The annual review is overdue" in page and "1 December 2017" in page


def test_sign_off_records_the_person_time_checklist_and_audit_stm_004(people, settings) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    client = signed_in(people["governor"])
    before = timezone.now()
    response = client.post(
        reverse("review-new"),
        {
            "checked": ["roles", "filtering-check", "generative-ai"],
            "outcome": "Filtering works; add AI image tools to the blocked list.",
            "actions": "Block two image generators",
            "position": "Online Safety Governor",
        },
    )
    review = Review.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{review.pk}/")
    assert review.signed_off_by == people["governor"]
    assert review.signed_off_position == "Online Safety Governor"
    assert review.signed_off_at >= before and review.due_on == date(2017, 12, 1)
    assert review.checklist["generative-ai"] is True and review.checklist["devices"] is False
    entry = AuditEntry.objects.get(action="review.signed-off")
    assert entry.actor == people["governor"] and entry.object_id == str(review.pk)
    # Now the next review is a year on, and no longer overdue.
    page = client.get(reverse("review-list")).content.decode()
    assert "overdue" not in page and "Next review due" in page
    detail = client.get(reverse("review-detail", args=[review.pk])).content.decode()
    assert "not done:</strong> Every device" in detail


@pytest.mark.parametrize(
    "form, problem",
    [
        ({"checked": ["roles"], "outcome": "  "}, "outcome: say what the review found"),
        ({"checked": ["roles", "made-up"], "outcome": "x"}, "unknown checklist item(s): made-up"),
    ],
)
def test_a_bad_sign_off_says_why_and_stores_nothing(people, form, problem) -> None:
    response = signed_in(people["dsl"]).post(reverse("review-new"), form)
    assert response.status_code == 400 and problem in response.content.decode()
    assert not Review.objects.exists()


# --- Reminders -----------------------------------------------------------------------------


def test_remind_reviews_emails_the_responsible_roles_once_stm_s33(people, settings) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    for role in ("dsl", "governor", "online-safety-coordinator", "teacher"):
        people[role].email = f"{role}@school.example"
        people[role].save()
    out = io.StringIO()
    call_command("remind_reviews", stdout=out)
    assert "review overdue 2017-12-01: 3 reminder(s) sent" in out.getvalue()
    recipients = sorted(a for m in mail.outbox for a in m.to)
    assert recipients == [
        "dsl@school.example",
        "governor@school.example",
        "online-safety-coordinator@school.example",
    ]
    assert "overdue" in mail.outbox[0].subject
    call_command("remind_reviews", stdout=io.StringIO())
    assert len(mail.outbox) == 3  # once per due date


def test_no_reminder_until_thirty_days_before(people, settings) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    people["dsl"].email = "dsl@school.example"
    people["dsl"].save()
    Review.objects.create(
        due_on=date(2017, 12, 1),
        checklist={},
        outcome="o",
        signed_off_by=people["dsl"],
        signed_off_name="D",
        signed_off_position="DSL",
        signed_off_at=timezone.now() - timedelta(days=300),  # due in about 65 days
    )
    call_command("remind_reviews", stdout=io.StringIO())
    assert mail.outbox == []
    call_command("remind_reviews", "--days", "90", stdout=io.StringIO())
    assert [m.to for m in mail.outbox] == [["dsl@school.example"]]


# --- The evidence pack -----------------------------------------------------------------------


def _stm_staff(people, settings):
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    long_ago = timezone.now() - timedelta(days=400)
    return make_user(
        "teacher", "una.trained", first_name="Una", last_name="Trained", date_joined=long_ago
    )


def test_evidence_pack_flags_overdue_review_and_untrained_staff_stm_006(people, settings) -> None:
    _stm_staff(people, settings)
    page = signed_in(people["governor"]).get(reverse("evidence-pack")).content.decode()
    assert "Review overdue since 1 December 2017" in page and "No review recorded" in page
    assert "Una Trained: Online safety induction" in page
    assert "1 untrained: training overdue" in page
    assert 'href="/filter-changes/log/"' in page and 'href="/filtering-reviews/roles/"' in page
    assert "Post only, no person named" in page
    assert AuditEntry.objects.filter(action="review.evidence-pack").exists()


def test_evidence_pack_csv_has_one_row_per_item_and_safe_cells(people, settings) -> None:
    _stm_staff(people, settings)
    response = signed_in(people["dsl"]).get(reverse("evidence-pack") + "?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Standard", "Item", "Status", "What the records show", "Gaps", "Evidence"]
    by_item = {r[1]: r for r in rows[1:]}
    assert len(by_item) == 6
    assert by_item["Filtering self-test through the running gateway"][4] == "No self-test run"
    review = by_item["Annual filtering and monitoring review"]
    assert review[2] == "Gap" and "Review overdue since 1 December 2017" in review[4]
    assert "Una Trained" in by_item["Staff trained in filtering and monitoring"][3]
