"""The case workflow: policy-driven sanctions, the illegal-content flow, the two-person review,
evidence custody, parents informed and closing."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, CustodyEntry, Source, Status

from .conftest import signed_in


@pytest.fixture
def case(people) -> Case:
    client = signed_in(people["teacher"])
    response = client.post(
        reverse("report"),
        {
            "summary": "Pupil using a VPN app",
            "details": "Seen in IT2 during period 3",
            "occurred_at": "2025-10-06T11:00",
            "involved": [people["pupil"].pk],
            "room": "IT2",
            "device": "PC-14",
            "url": "https://vpn.example",
        },
    )
    assert response.status_code == 302
    return Case.objects.get()


def test_teacher_report_records_what_the_logs_ask_for(case, people) -> None:
    assert case.reporter == people["teacher"] and case.source == Source.STAFF
    assert (case.room, case.device, case.year_group) == ("IT2", "PC-14", "8")
    assert list(case.involved.all()) == [people["pupil"]]
    assert case.status == Status.REPORTED


def test_sanctions_are_suggested_by_the_policy_and_changes_need_a_reason(case, people) -> None:
    dsl = signed_in(people["dsl"])
    dsl.post(
        reverse("case-triage", args=[case.pk]),
        {"incident_type": "pupil:subverting-filtering", "status": "triaged"},
    )
    page = dsl.get(reverse("case-detail", args=[case.pk])).content.decode()
    # STM-190: the matrix row pre-selects its actions.
    for action in (
        "refer-class-teacher",
        "refer-principal",
        "inform-parents",
        "remove-network-access",
    ):
        assert f'value="{action}"' in page
    assert page.count("checked") >= 4
    missing_reason = dsl.post(
        reverse("case-actions", args=[case.pk]), {"actions": ["refer-class-teacher"]}
    )
    assert missing_reason.status_code == 400
    dsl.post(
        reverse("case-actions", args=[case.pk]),
        {"actions": ["refer-class-teacher", "warning"], "reason": "first offence"},
    )
    applied = {a.action_id: a.suggested for a in case.actions.all()}
    assert applied == {"refer-class-teacher": True, "warning": False}
    case.refresh_from_db()
    assert case.status == Status.ACTION_TAKEN


def test_actions_outside_the_policy_are_refused(case, people) -> None:
    workflow.triage(case, people["dsl"], "pupil:social-media", "triaged", "")
    with pytest.raises(workflow.WorkflowError, match="not in the policy"):
        workflow.apply_actions(case, people["dsl"], ["refer-hr"], "staff action on a pupil")
    with pytest.raises(workflow.WorkflowError, match="not in the school's policy"):
        workflow.triage(case, people["dsl"], "pupil:made-up", "triaged", "")


def test_illegal_content_stops_and_refuses_uploads(people) -> None:
    client = signed_in(people["teacher"])
    client.post(
        reverse("report"),
        {"summary": "Awful images", "details": "on a pupil phone", "suspected_illegal": "on"},
    )
    case = Case.objects.get()
    assert case.illegal
    dsl = signed_in(people["dsl"])
    page = dsl.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "STOP — do not view further" in page and "IWF" in page and "CEOP" in page
    upload = SimpleUploadedFile("image.jpg", b"\xff\xd8 not to be stored")
    response = dsl.post(reverse("case-evidence", args=[case.pk]), {"file": upload})
    assert response.status_code == 400 and b"must not be uploaded" in response.content
    assert not case.evidence.exists()
    # STM-173: closing needs a recorded referral, not a review of the material.
    workflow.triage(case, people["dsl"], "pupil:illegal-material", "referred", "")
    assert workflow.closing_problems(case)
    workflow.apply_actions(case, people["dsl"], ["refer-police"], "CEOP and police informed")
    case.refresh_from_db()
    assert case.status == Status.REFERRED
    workflow.close_case(case, people["dsl"], "handed to police")


def test_illegal_incident_type_marks_the_case(case, people) -> None:
    workflow.triage(case, people["dsl"], "pupil:illegal-material", "triaged", "")
    case.refresh_from_db()
    assert case.illegal


REVIEW_FORM = {
    "reason_for_investigation": "VPN use",
    "first_position": "DSL",
    "second_position": "Deputy DSL",
    "computer": "Office PC-1, DSL office",
    "sites": "vpn.example",
    "reason_for_concern": "bypass",
    "conclusion": "sanction",
}


def test_review_needs_two_different_named_staff(case, people) -> None:
    dsl = signed_in(people["dsl"])
    url = reverse("case-review", args=[case.pk])
    response = dsl.post(url, REVIEW_FORM | {"second_reviewer": people["dsl"].pk})
    assert response.status_code == 400 and b"different people" in response.content
    response = dsl.post(url, REVIEW_FORM | {"second_reviewer": people["pupil"].pk})
    assert response.status_code == 400  # a pupil is not a reviewer
    # A first reviewer typed in by someone else is ignored: it is whoever is signed in.
    dsl.post(
        url,
        REVIEW_FORM
        | {"second_reviewer": people["deputy-dsl"].pk, "first_reviewer": people["teacher"].pk},
    )
    review = case.reviews.get()
    assert (review.first_reviewer, review.second_reviewer) == (people["dsl"], people["deputy-dsl"])
    assert not review.is_confirmed


def test_second_reviewer_confirms_in_their_own_session_only(case, people) -> None:
    """Issue 13: nobody can confirm for someone else; the record shows who and when."""
    from schoolgate.app.audit.models import AuditEntry
    from schoolgate.app.concerns.models import Notification

    signed_in(people["dsl"]).post(
        reverse("case-review", args=[case.pk]),
        REVIEW_FORM | {"second_reviewer": people["teacher-2"].pk},
    )
    review = case.reviews.get()
    note = Notification.objects.get(user=people["teacher-2"])
    assert note.url == reverse("review-confirm", args=[review.pk])
    confirm = reverse("review-confirm", args=[review.pk])
    for someone_else in ("dsl", "deputy-dsl", "teacher"):
        client = signed_in(people[someone_else])
        assert client.get(confirm).status_code == 403
        assert client.post(confirm).status_code == 403
    refused = AuditEntry.objects.filter(action="case.review-confirm-refused")
    assert refused.count() == 6
    review.refresh_from_db()
    assert not review.is_confirmed
    # The case cannot close on an unconfirmed review.
    workflow.triage(case, people["dsl"], "pupil:social-media", "investigating", "")
    assert "not yet confirmed" in " ".join(workflow.closing_problems(case, "done"))
    second = signed_in(people["teacher-2"])
    page = second.get(confirm)
    assert page.status_code == 200 and b"Office PC-1" in page.content
    assert second.post(confirm).status_code == 302
    review.refresh_from_db()
    assert review.is_confirmed
    entry = AuditEntry.objects.get(action="case.review-confirm")
    assert entry.actor == people["teacher-2"] and entry.object_id == str(case.pk)
    assert workflow.closing_problems(case, "done") == []
    text = signed_in(people["dsl"]).get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "confirmed the two-person review in their own session" in text
    assert "case.review" not in text


def test_closing_needs_type_review_and_outcome(case, people) -> None:
    dsl = signed_in(people["dsl"])
    response = dsl.post(reverse("case-close", args=[case.pk]), {"outcome": "done"})
    assert response.status_code == 400 and b"STM-168" in response.content
    workflow.triage(case, people["dsl"], "pupil:social-media", "investigating", "")
    review = workflow.record_review(
        case,
        people["dsl"],
        {
            "reason_for_investigation": "r",
            "first_position": "DSL",
            "second_reviewer": people["online-safety-coordinator"],
            "second_position": "OSC",
            "computer": "c",
            "sites": "s",
            "reason_for_concern": "r",
            "conclusion": "c",
        },
    )
    assert dsl.post(reverse("case-close", args=[case.pk]), {"outcome": "done"}).status_code == 400
    workflow.confirm_review(review, people["online-safety-coordinator"])
    assert dsl.post(reverse("case-close", args=[case.pk]), {"outcome": "done"}).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closed_at
    with pytest.raises(workflow.WorkflowError, match="closed"):
        workflow.add_note(case, people["dsl"], "late note")


def test_case_list_search_and_filters(case, people) -> None:
    other = workflow.open_case(
        people["teacher"],
        Source.STAFF,
        {"summary": "Games in lessons", "details": "d"},
        [people["pupil-2"]],
    )
    client = signed_in(people["dsl"])

    def listed(**query) -> set[str]:
        text = client.get(reverse("case-list"), query).content.decode()
        return {c.reference for c in (case, other) if c.reference in text}

    assert listed() == {case.reference, other.reference}
    assert listed(q="10C") == {other.reference}
    assert listed(q="vpn") == {case.reference}
    assert listed(q=other.reference) == {other.reference}
    assert listed(source="alert") == set()
    assert listed(illegal="yes") == set()


def test_case_page_opens_only_the_next_step(case, people) -> None:
    text = signed_in(people["dsl"]).get(reverse("case-detail", args=[case.pk])).content.decode()
    assert text.count("<details") == 8
    assert text.count(" open><summary>") == 1
    assert '<details class="step" id="step-triage" open>' in text


def test_evidence_is_stored_by_sha256_with_custody(case, people, settings) -> None:
    data = b"screenshot bytes \x00\x01"
    dsl = signed_in(people["dsl"])
    dsl.post(
        reverse("case-evidence", args=[case.pk]),
        {"file": SimpleUploadedFile("shot.png", data), "description": "screen"},
    )
    evidence = case.evidence.get()
    sha = hashlib.sha256(data).hexdigest()
    assert evidence.sha256 == sha
    stored = workflow.evidence_path(sha)
    assert stored.read_bytes() == data and str(settings.MEDIA_ROOT) in str(stored)
    response = dsl.get(reverse("case-evidence-file", args=[case.pk, evidence.pk]))
    assert response.content == data and response["X-Evidence-SHA256"] == sha
    events = list(CustodyEntry.objects.values_list("event", "actor__username"))
    assert events == [("received", "dsl-1"), ("released", "dsl-1")]
    stored.chmod(0o640)
    stored.write_bytes(b"altered")
    response = dsl.get(reverse("case-evidence-file", args=[case.pk, evidence.pk]))
    assert response.status_code == 409
    assert CustodyEntry.objects.last().event == "integrity-failure"


def test_parents_informed_who_when_how(case, people) -> None:
    dsl = signed_in(people["dsl"])
    page = dsl.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert people["parent"].get_full_name() in page  # pupil's linked parent is offered
    dsl.post(
        reverse("case-parents", args=[case.pk]),
        {
            "parent_name": "Parent Parentson",
            "method": "phone",
            "informed_at": "2025-10-06T15:30",
            "note": "mum will talk to him",
        },
    )
    contact = case.parent_contacts.get()
    assert (contact.method, contact.informed_by) == ("phone", people["dsl"])


def test_pupil_and_parent_forms(people) -> None:
    pupil = signed_in(people["pupil"])
    page = pupil.get(reverse("report")).content.decode()
    assert "Tell us about something online that upset you" in page
    response = pupil.post(reverse("report"), {"details": "A game chat said mean things"})
    assert b"Thank you for telling us" in response.content
    parent = signed_in(people["parent"])
    parent.post(reverse("report"), {"child": people["pupil"].pk, "details": "Worrying messages"})
    other_child = parent.post(reverse("report"), {"child": people["pupil-2"].pk, "details": "x"})
    assert b"Select a valid choice" in other_child.content
    sources = sorted(Case.objects.values_list("source", flat=True))
    assert sources == ["parent", "pupil"]
