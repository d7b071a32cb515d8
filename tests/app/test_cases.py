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


def test_review_needs_two_different_named_staff(case, people) -> None:
    dsl = signed_in(people["dsl"])
    form = {
        "reason_for_investigation": "VPN use",
        "first_reviewer": people["dsl"].pk,
        "first_position": "DSL",
        "second_reviewer": people["dsl"].pk,
        "second_position": "DSL",
        "computer": "Office PC-1, DSL office",
        "sites": "vpn.example",
        "reason_for_concern": "bypass",
        "conclusion": "sanction",
    }
    response = dsl.post(reverse("case-review", args=[case.pk]), form)
    assert response.status_code == 400 and b"different people" in response.content
    response = dsl.post(
        reverse("case-review", args=[case.pk]), form | {"second_reviewer": people["pupil"].pk}
    )
    assert response.status_code == 400  # a pupil is not a reviewer
    dsl.post(
        reverse("case-review", args=[case.pk]), form | {"second_reviewer": people["deputy-dsl"].pk}
    )
    review = case.reviews.get()
    assert (review.first_reviewer, review.second_reviewer) == (people["dsl"], people["deputy-dsl"])


def test_closing_needs_type_review_and_outcome(case, people) -> None:
    dsl = signed_in(people["dsl"])
    response = dsl.post(reverse("case-close", args=[case.pk]), {"outcome": "done"})
    assert response.status_code == 400 and b"STM-168" in response.content
    workflow.triage(case, people["dsl"], "pupil:social-media", "investigating", "")
    workflow.record_review(
        case,
        people["dsl"],
        {
            "reason_for_investigation": "r",
            "first_reviewer": people["dsl"],
            "first_position": "DSL",
            "second_reviewer": people["online-safety-coordinator"],
            "second_position": "OSC",
            "computer": "c",
            "sites": "s",
            "reason_for_concern": "r",
            "conclusion": "c",
        },
    )
    assert dsl.post(reverse("case-close", args=[case.pk]), {"outcome": "done"}).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closed_at
    with pytest.raises(workflow.WorkflowError, match="closed"):
        workflow.add_note(case, people["dsl"], "late note")


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
