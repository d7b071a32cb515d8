"""Safeguarding concerns (issue 13): apart from ICT incidents, never a sanction, DSL and deputies
only, every view and change audited, tasks and notifications, a pupil's chronology."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.cases import workflow as case_workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.concerns import workflow
from schoolgate.app.concerns.models import Concern, ConcernStatus, Notification

from .conftest import signed_in


def _raise(client, pupil, **extra) -> object:
    form = {
        "category": "self-harm",
        "pupils": [pupil.pk],
        "summary": "Marks on arm seen in PE",
        "details": "Noticed during PE; pupil said it was the cat.",
    }
    return client.post(reverse("concern-raise"), form | extra)


@pytest.fixture
def concern(people) -> Concern:
    response = _raise(signed_in(people["teacher"]), people["pupil"])
    assert response.status_code == 200 and b"Thank you" in response.content
    return Concern.objects.get()


def test_teacher_raises_a_concern_and_cannot_read_it_back(concern, people) -> None:
    assert concern.reported_by == people["teacher"] and concern.category == "self-harm"
    assert list(concern.pupils.all()) == [people["pupil"]]
    assert concern.status == ConcernStatus.NEW
    teacher = signed_in(people["teacher"])
    assert teacher.get(reverse("concern-detail", args=[concern.pk])).status_code == 403
    assert teacher.get(reverse("concern-list")).status_code == 403
    # It is not an ICT incident: no case, nothing in the sanction tables.
    assert Case.objects.count() == 0
    assert AuditEntry.objects.filter(action="concern.report", object_id=str(concern.pk)).exists()


def test_safeguarding_leads_are_notified_and_nobody_else(concern, people) -> None:
    told = set(Notification.objects.values_list("user__username", flat=True))
    assert told == {"dsl-1", "deputy-dsl-1"}
    note = Notification.objects.get(user=people["dsl"])
    assert concern.reference in note.text and "Marks on arm" not in note.text
    # Opening marks it read; someone else's notification is not found.
    other = Notification.objects.get(user=people["deputy-dsl"])
    dsl = signed_in(people["dsl"])
    assert dsl.post(reverse("notification-open", args=[other.pk])).status_code == 404
    response = dsl.post(reverse("notification-open", args=[note.pk]))
    assert response["Location"] == reverse("concern-detail", args=[concern.pk])
    note.refresh_from_db()
    assert note.read_at is not None


def test_the_page_offers_no_sanction_and_shows_the_policy_guidance(concern, people) -> None:
    page = signed_in(people["dsl"]).get(reverse("concern-detail", args=[concern.pk]))
    text = page.content.decode()
    assert "never leads to a sanction" in text
    assert "Talk to the child the same day" in text  # the default category's first steps
    for word in ("Sanctions", "Warning", "Removal of network"):
        assert word not in text
    assert "concern.report" not in text and "Raised as Self-harm" in text
    viewed = AuditEntry.objects.filter(action="concern.view", actor=people["dsl"])
    assert viewed.count() == 1


def test_unknown_category_and_no_pupil_are_refused(people) -> None:
    dsl = signed_in(people["dsl"])
    assert _raise(dsl, people["pupil"], category="made-up").status_code == 200
    assert _raise(dsl, people["pupil"], pupils=[]).status_code == 200
    assert _raise(dsl, people["pupil"], pupils=[people["teacher"].pk]).status_code == 200
    assert Concern.objects.count() == 0


def test_triage_assign_task_referral_and_close(concern, people) -> None:
    dsl, deputy = people["dsl"], people["deputy-dsl"]
    client = signed_in(dsl)
    update = {
        "category": "self-harm",
        "status": "open",
        "priority": "urgent",
        "assigned_to": deputy.pk,
        "reason": "seen today",
    }
    assert client.post(reverse("concern-update", args=[concern.pk]), update).status_code == 302
    concern.refresh_from_db()
    assert (concern.priority, concern.assigned_to) == ("urgent", deputy)
    assert Notification.objects.filter(user=deputy, text__contains="assigned").exists()
    # A teacher is no assignee: they cannot see concerns.
    bad = client.post(
        reverse("concern-update", args=[concern.pk]), update | {"assigned_to": people["teacher"].pk}
    )
    assert bad.status_code == 400
    task = {"title": "Call parents", "assigned_to": deputy.pk, "due": "2026-12-04"}
    assert client.post(reverse("concern-task", args=[concern.pk]), task).status_code == 302
    closing = client.post(reverse("concern-close", args=[concern.pk]), {"outcome": "Support"})
    assert closing.status_code == 400 and b"not done yet" in closing.content
    done = concern.tasks.get()
    client.post(reverse("concern-task-done", args=[concern.pk, done.pk]))
    referral = {"service": "CAMHS", "referred_at": "2026-12-03T10:00", "reference": "R-1"}
    assert client.post(reverse("concern-referral", args=[concern.pk]), referral).status_code == 302
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.REFERRED
    client.post(reverse("concern-close", args=[concern.pk]), {"outcome": "Support in place"})
    concern.refresh_from_db()
    assert concern.is_closed
    page = client.get(reverse("concern-detail", args=[concern.pk])).content.decode()
    for words in ("priority Medium → Urgent", "Task for", "Task done", "Referred to CAMHS"):
        assert words in page, words
    assert "concern.update" not in page and "concern.task" not in page


def test_list_search_and_filters(people) -> None:
    dsl = people["dsl"]
    people["pupil"].first_name = "Amelia"
    people["pupil"].save()
    a = workflow.open_concern(
        dsl,
        "dsl",
        {"category": "bullying", "summary": "Group chat", "details": "d"},
        [people["pupil"]],
    )
    b = workflow.open_concern(
        dsl,
        "dsl",
        {"category": "radicalisation", "summary": "Videos", "details": "d"},
        [people["pupil-2"]],
    )
    client = signed_in(dsl)

    def listed(**query) -> set[str]:
        text = client.get(reverse("concern-list"), query).content.decode()
        return {c.reference for c in (a, b) if c.reference in text}

    assert listed() == {a.reference, b.reference}
    assert listed(q="10C") == {b.reference}  # pupil-2's form group
    assert listed(q="amel") == {a.reference}
    assert listed(q=b.reference) == {b.reference}
    assert listed(category="bullying") == {a.reference}
    assert listed(assigned="me") == set()
    assert AuditEntry.objects.filter(action="concern.list").count() == 6


def test_pupil_chronology_puts_concerns_and_cases_in_order(people) -> None:
    pupil = people["pupil"]
    case = case_workflow.open_case(
        people["teacher"], Source.STAFF, {"summary": "VPN", "details": "d"}, [pupil]
    )
    concern = workflow.open_concern(
        people["teacher"],
        "staff",
        {"category": "bullying", "summary": "s", "details": "d"},
        [pupil],
    )
    workflow.add_task(
        concern, people["dsl"], "Talk to form tutor", people["dsl"], date(2026, 12, 4)
    )
    workflow.open_concern(  # another pupil's concern stays out
        people["teacher"],
        "staff",
        {"category": "bullying", "summary": "s", "details": "d"},
        [people["pupil-2"]],
    )
    client = signed_in(people["dsl"])
    text = client.get(reverse("pupil-chronology", args=[pupil.pk])).content.decode()
    order = [text.index(case.reference), text.index("Raised as Bullying"), text.index("Task for")]
    assert order == sorted(order)
    assert text.count("SC-") == 2  # the concern's two entries, not the other pupil's
    assert AuditEntry.objects.filter(action="chronology.view", object_id=str(pupil.pk)).exists()
    assert (
        signed_in(people["teacher"]).get(reverse("pupil-chronology", args=[pupil.pk])).status_code
        == 403
    )


def test_people_picker_keeps_pupils_and_staff_apart(people) -> None:
    client = signed_in(people["teacher"])
    found = client.get(reverse("find-people"), {"kind": "pupil", "q": "pupil"}).json()["results"]
    assert {r["id"] for r in found} == {people["pupil"].pk, people["pupil-2"].pk}
    staff = client.get(reverse("find-people"), {"kind": "staff", "q": "Teacherson"}).json()
    assert {r["id"] for r in staff["results"]} == {people["teacher"].pk, people["teacher-2"].pk}
    by_form = client.get(reverse("find-people"), {"kind": "pupil", "q": "10c"}).json()
    assert [r["id"] for r in by_form["results"]] == [people["pupil-2"].pk]
    assert client.get(reverse("find-people"), {"kind": "parent", "q": "a"}).status_code == 400
    assert signed_in(people["pupil"]).get(reverse("find-people")).status_code == 403


def _autumn(concern: Concern, day: int) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime(2025, 10, day, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    Concern.objects.filter(pk=concern.pk).update(reported_at=moment)


def test_governors_see_concerns_by_category_apart_from_incidents(people) -> None:
    for day in range(1, 7):
        concern = workflow.open_concern(
            people["dsl"],
            "dsl",
            {"category": "bullying", "summary": "s", "details": "d"},
            [people["pupil"]],
        )
        _autumn(concern, day)
    _autumn(
        workflow.open_concern(
            people["dsl"],
            "dsl",
            {"category": "self-harm", "summary": "s", "details": "d"},
            [people["pupil-2"]],
        ),
        9,
    )
    text = (
        signed_in(people["governor"])
        .get(reverse("governor-report") + "?term=2025-autumn")
        .content.decode()
    )
    section = text[text.index('id="concerns"') :]
    assert "<strong>7</strong> safeguarding concerns" in section
    assert "Bullying and cyberbullying</td><td>5 or more" in section  # would give away the 1
    assert "Self-harm</td><td>fewer than 5" in section
    # Not an ICT incident: the incident figures stay empty.
    assert "<strong>0</strong> incidents" in text
    assert people["pupil"].last_name not in text


def test_reporting_log_lists_concerns_under_their_category(people) -> None:
    concern = workflow.open_concern(
        people["teacher"],
        "staff",
        {"category": "radicalisation", "summary": "s", "details": "d"},
        [people["pupil-2"]],
    )
    workflow.add_referral(
        concern, people["dsl"], {"service": "Prevent (Channel)", "referred_at": concern.reported_at}
    )
    _autumn(concern, 14)
    text = (
        signed_in(people["dsl"])
        .get(reverse("reporting-log") + "?term=2025-autumn")
        .content.decode()
    )
    assert "Safeguarding concern: Radicalisation and extremism" in text
    assert "Referred to Prevent (Channel)" in text and "10C" in text


def test_a_pupils_report_moves_from_ict_case_to_concern(people) -> None:
    pupil = signed_in(people["pupil"])
    pupil.post(reverse("report"), {"details": "Someone keeps messaging me and I feel scared"})
    case = Case.objects.get()
    url = reverse("case-to-concern", args=[case.pk])
    form = {"category": "online-contact-x", "reason": "a worry, not misuse"}
    assert signed_in(people["online-safety-coordinator"]).post(url, form).status_code == 403
    dsl = signed_in(people["dsl"])
    assert dsl.post(url, form).status_code == 400  # not a category in the policy
    response = dsl.post(url, form | {"category": "online-abuse"})
    concern = Concern.objects.get()
    assert response["Location"] == reverse("concern-detail", args=[concern.pk])
    assert list(concern.pupils.all()) == [people["pupil"]] and concern.category == "online-abuse"
    case.refresh_from_db()
    assert case.is_closed and case.handled_as == "concern"
    page = dsl.get(reverse("concern-detail", args=[concern.pk])).content.decode()
    assert f"Moved here from ICT case {case.reference}" in page


def test_a_worked_case_stays_an_ict_incident(people) -> None:
    case = case_workflow.open_case(
        people["teacher"], Source.STAFF, {"summary": "s", "details": "d"}, [people["pupil"]]
    )
    case_workflow.triage(case, people["dsl"], "pupil:social-media", "triaged", "")
    case_workflow.apply_actions(case, people["dsl"], ["warning"], "first time")
    response = signed_in(people["dsl"]).post(
        reverse("case-to-concern", args=[case.pk]), {"category": "bullying", "reason": "r"}
    )
    assert response.status_code == 400 and b"stays an ICT incident" in response.content
    assert Concern.objects.count() == 0
    case.refresh_from_db()
    assert not case.is_closed


def test_my_work_shows_what_waits_for_the_lead(people) -> None:
    concern = workflow.open_concern(
        people["teacher"],
        "staff",
        {"category": "bullying", "summary": "s", "details": "d"},
        [people["pupil"]],
    )
    workflow.add_task(
        concern, people["deputy-dsl"], "Overdue call", people["dsl"], date(2020, 1, 1)
    )
    case = case_workflow.open_case(
        people["teacher"], Source.STAFF, {"summary": "VPN", "details": "d"}, [people["pupil"]]
    )
    case_workflow.record_review(
        case,
        people["deputy-dsl"],
        {
            "reason_for_investigation": "r",
            "first_position": "Deputy",
            "second_reviewer": people["dsl"],
            "second_position": "DSL",
            "computer": "c",
            "sites": "s",
            "reason_for_concern": "r",
            "conclusion": "c",
        },
    )
    client = signed_in(people["dsl"])
    assert client.get(reverse("home"))["Location"] == reverse("my-work")
    text = client.get(reverse("my-work")).content.decode()
    assert "Overdue</strong>" in text and "Overdue call" in text
    assert f"Confirm the two-person review of {case.reference}" in text
    assert AuditEntry.objects.filter(action="my-work.view").exists()
