"""The DSL's alerts inbox (issue 13): alerts with their context, triage into a concern or as a
false positive with a reason, assignment, and exclusions that a second person approves."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from schoolgate.app.alerts.models import Alert
from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.cases.models import Case
from schoolgate.app.cases.reports import governor_figures
from schoolgate.app.cases.terms import term_of
from schoolgate.app.concerns.models import (
    Concern,
    ExclusionProposal,
    Notification,
    ProposalStatus,
)
from schoolgate.engine.policy.loader import load_policy

from .conftest import HERE, signed_in

AUTH = {"HTTP_AUTHORIZATION": "Bearer test-alert-token"}


def _raise_alert(user: str, theme: str = "self-harm", search: str = "example search") -> Alert:
    body = {
        "id": f"{user}|{theme}",
        "theme": theme,
        "level": "high",
        "user": user,
        "address": "10.0.0.7",
        "group": "ks3-pupils",
        "count": 3,
        "first": "2026-12-03T10:00:00Z",
        "last": "2026-12-03T10:04:00Z",
        "notify": ["dsl"],
        "context": {
            "window_minutes": 30,
            "events": [
                {
                    "at": "2026-12-03T10:01:00Z",
                    "action": "allow",
                    "target": "https://www.google.co.uk/search?q=x",
                    "search": search,
                    "categories": ["search-engines"],
                }
            ],
        },
    }
    response = Client().post(
        reverse("api-alerts"), json.dumps(body), content_type="application/json", **AUTH
    )
    assert response.status_code == 201, response.content
    return Alert.objects.get(pk=response.json()["alert"])


@pytest.fixture
def alert(people) -> Alert:
    return _raise_alert(people["pupil"].username)


def test_inbox_lists_new_alerts_with_their_context(alert, people) -> None:
    dsl = signed_in(people["dsl"])
    listing = dsl.get(reverse("alert-inbox")).content.decode()
    assert reverse("alert-detail", args=[alert.pk]) in listing
    page = dsl.get(reverse("alert-detail", args=[alert.pk])).content.decode()
    assert "example search" in page and "www.google.co.uk" in page
    assert "Self-harm" in page  # the policy's suggested concern category
    assert AuditEntry.objects.filter(action="alert.view", object_id=str(alert.pk)).count() == 1
    assert AuditEntry.objects.filter(action="alert.list").count() == 1
    for role in ("online-safety-coordinator", "teacher", "network-manager"):
        assert signed_in(people[role]).get(reverse("alert-inbox")).status_code == 403


def test_true_positive_opens_a_concern_and_is_no_ict_incident(alert, people) -> None:
    dsl = signed_in(people["dsl"])
    response = dsl.post(
        reverse("alert-triage", args=[alert.pk]),
        {
            "verdict": "true-positive",
            "reason": "Searches over several minutes; talk to pupil today",
            "category": "self-harm",
            "priority": "urgent",
            "assigned_to": people["deputy-dsl"].pk,
        },
    )
    concern = Concern.objects.get()
    assert response["Location"] == reverse("concern-detail", args=[concern.pk])
    assert list(concern.pupils.all()) == [people["pupil"]]
    assert (concern.category, concern.priority) == ("self-harm", "urgent")
    assert concern.assigned_to == people["deputy-dsl"] and concern.source == "alert"
    alert.refresh_from_db()
    assert alert.status == "triaged" and alert.work.concern == concern
    assert alert.work.decided_by == people["dsl"]
    # The case the monitor opened is closed as "not an ICT incident", out of the figures.
    case = Case.objects.get()
    assert case.is_closed and case.handled_as == "concern" and concern.reference in case.outcome
    assert governor_figures(term_of(case.reported_at.date()))["total"] == 0
    page = dsl.get(reverse("concern-detail", args=[concern.pk])).content.decode()
    assert f"A-{alert.pk:06d}" in page and "Opened from monitoring alert" in page
    chronology = dsl.get(reverse("pupil-chronology", args=[people["pupil"].pk])).content.decode()
    assert "Monitoring alert: Self-harm and suicide (high), 3 attempts" in chronology
    assert f"Triaged: True positive — a real concern → {concern.reference}" in chronology
    again = dsl.post(
        reverse("alert-triage", args=[alert.pk]),
        {"verdict": "false-positive", "reason": "second go", "priority": "low"},
    )
    assert again.status_code == 400 and b"already been triaged" in again.content


def test_true_positive_can_join_an_open_concern(alert, people) -> None:
    from schoolgate.app.concerns import workflow

    concern = workflow.open_concern(
        people["teacher"],
        "staff",
        {"category": "self-harm", "summary": "s", "details": "d"},
        [people["pupil"]],
    )
    signed_in(people["dsl"]).post(
        reverse("alert-triage", args=[alert.pk]),
        {
            "verdict": "true-positive",
            "reason": "same worry",
            "attach_to": concern.pk,
            "priority": "high",
        },
    )
    assert Concern.objects.count() == 1
    alert.refresh_from_db()
    assert alert.work.concern == concern
    assert AuditEntry.objects.filter(action="concern.alert-attached").exists()


def test_reason_is_required_and_a_true_positive_needs_a_category(alert, people) -> None:
    dsl = signed_in(people["dsl"])
    url = reverse("alert-triage", args=[alert.pk])
    assert dsl.post(url, {"verdict": "true-positive", "priority": "high"}).status_code == 400
    no_category = {"verdict": "true-positive", "reason": "r", "category": "", "priority": "high"}
    assert dsl.post(url, no_category).status_code == 400
    alert.refresh_from_db()
    assert alert.status == "new" and Concern.objects.count() == 0


def test_false_positive_proposes_an_exclusion_that_a_second_person_approves(
    alert, people, settings, tmp_path
) -> None:
    # An approval publishes the changes file beside the policy: a copy, never the repository's.
    settings.SCHOOLGATE_POLICY = tmp_path / "policy.yaml"
    settings.SCHOOLGATE_POLICY.write_text((HERE / "policy.yaml").read_text())
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "snapshot.sgs"
    dsl, deputy = people["dsl"], people["deputy-dsl"]
    signed_in(dsl).post(
        reverse("alert-triage", args=[alert.pk]),
        {
            "verdict": "false-positive",
            "reason": "A history lesson about a battle",
            "priority": "low",
            "exclude_kind": "term",
            "exclude_value": "battle of hastings",
        },
    )
    alert.refresh_from_db()
    assert alert.status == "dismissed" and Case.objects.get().handled_as == "false-positive"
    proposal = ExclusionProposal.objects.get()
    assert (proposal.proposed_by, proposal.status) == (dsl, ProposalStatus.PENDING)
    assert Notification.objects.filter(user=deputy, text__contains="proposes").exists()
    # The proposer cannot approve their own proposal (four eyes) …
    signed_in(dsl).post(reverse("exclusion-decide", args=[proposal.pk]), {"decision": "approve"})
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert AuditEntry.objects.filter(action="exclusion.decide-refused").exists()
    # … nor can the database be made to say so.
    with pytest.raises(IntegrityError), transaction.atomic():
        ExclusionProposal.objects.filter(pk=proposal.pk).update(decided_by=dsl)
    signed_in(deputy).post(
        reverse("exclusion-decide", args=[proposal.pk]), {"decision": "approve", "note": "ok"}
    )
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == (ProposalStatus.APPROVED, deputy)
    assert AuditEntry.objects.filter(action="exclusion.approve", actor=deputy).exists()
    assert Notification.objects.filter(user=dsl, text__contains="approved").exists()
    [published] = load_policy(settings.SCHOOLGATE_POLICY).alert_exclusions  # issue 12
    assert (published.kind, published.value) == ("term", "battle of hastings")


def test_assignment_notifies_and_only_to_a_safeguarding_lead(alert, people) -> None:
    dsl = signed_in(people["dsl"])
    url = reverse("alert-assign", args=[alert.pk])
    assert (
        dsl.post(url, {"priority": "high", "assigned_to": people["teacher"].pk}).status_code == 400
    )
    assert (
        dsl.post(url, {"priority": "high", "assigned_to": people["deputy-dsl"].pk}).status_code
        == 302
    )
    alert.refresh_from_db()
    assert alert.work.assigned_to == people["deputy-dsl"] and alert.work.priority == "high"
    assert Notification.objects.filter(user=people["deputy-dsl"], text__contains="alert").exists()
    mine = signed_in(people["deputy-dsl"]).get(reverse("alert-inbox"), {"assigned": "me"})
    assert reverse("alert-detail", args=[alert.pk]) in mine.content.decode()
