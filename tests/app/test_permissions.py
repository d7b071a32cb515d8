"""Every view and endpoint, for every role: who gets in and who is refused."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone

from schoolgate.app.alerts.models import Alert
from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.concerns import workflow as concern_workflow
from schoolgate.app.concerns.models import ExclusionProposal
from schoolgate.app.roles import Role

from .conftest import signed_in

SAFEGUARDING = {"dsl", "deputy-dsl", "online-safety-coordinator"}
DSL = {"dsl", "deputy-dsl"}  # issue 13: concerns, alerts and chronologies
ADMIN = SAFEGUARDING | {"network-manager"}
STAFF = ADMIN | {"teacher"}
EVERYONE = {r.value for r in Role}

# (url name, what its arguments are, method, roles allowed). Written out by hand from issues 4
# and 13, not derived from the app's own table, so a change to the table that breaks the rules
# fails here. "case"/"concern" is somebody else's record; "pupil" another pupil.
MATRIX = [
    ("report", None, "get", EVERYONE),
    ("case-list", None, "get", STAFF),
    ("case-detail", "case", "get", SAFEGUARDING),  # a case somebody else reported
    ("case-triage", "case", "post", SAFEGUARDING),
    ("case-actions", "case", "post", SAFEGUARDING),
    ("case-review", "case", "post", SAFEGUARDING),
    ("case-evidence", "case", "post", SAFEGUARDING),
    ("case-parents", "case", "post", SAFEGUARDING),
    ("case-note", "case", "post", SAFEGUARDING),
    ("case-close", "case", "post", SAFEGUARDING),
    ("case-to-concern", "case", "post", DSL),
    ("incident-log", None, "get", SAFEGUARDING),
    ("incident-log-csv", None, "get", SAFEGUARDING),
    ("reporting-log", None, "get", SAFEGUARDING),
    ("reporting-log-csv", None, "get", SAFEGUARDING),
    ("governor-report", None, "get", SAFEGUARDING | {"governor"}),
    ("directory", None, "get", ADMIN),
    ("import-people", None, "get", {"dsl", "online-safety-coordinator", "network-manager"}),
    ("import-confirm", None, "post", {"dsl", "online-safety-coordinator", "network-manager"}),
    ("audit-list", None, "get", {"dsl", "deputy-dsl"}),
    ("concern-raise", None, "get", STAFF),
    ("concern-list", None, "get", DSL),
    ("concern-detail", "concern", "get", DSL),
    ("concern-update", "concern", "post", DSL),
    ("concern-task", "concern", "post", DSL),
    ("concern-task-done", "task", "post", DSL),
    ("concern-referral", "concern", "post", DSL),
    ("concern-note", "concern", "post", DSL),
    ("concern-close", "concern", "post", DSL),
    ("pupil-chronology", "pupil", "get", DSL),
    ("find-people", None, "get", STAFF),
    ("notifications", None, "get", EVERYONE),
    # Only the named second reviewer, in their own session; not even the DSL who recorded it.
    ("review-confirm", "review", "get", {"deputy-dsl"}),
    ("alert-history", "username", "get", SAFEGUARDING),
    ("my-work", None, "get", DSL),
    ("alert-inbox", None, "get", DSL),
    ("alert-detail", "alert", "get", DSL),
    ("alert-triage", "alert", "post", DSL),
    ("alert-assign", "alert", "post", DSL),
    ("exclusion-list", None, "get", DSL),
    ("exclusion-decide", "exclusion", "post", DSL),  # issue 8's monitoring history
    # Issue 11: agreements, consents, training. "child" is the parent's own child.
    ("my-agreement", None, "get", EVERYONE - {"parent"}),
    ("parent-home", None, "get", {"parent"}),
    ("parent-sign", "child", "post", {"parent"}),
    ("parent-consents", "child", "post", {"parent"}),
    ("agreement-register", None, "get", STAFF),
    ("agreement-register-csv", None, "get", STAFF),
    ("agreement-remind", None, "post", ADMIN),
    ("child-consents", "pupil", "get", ADMIN),
    ("publish-check", None, "get", STAFF),
    ("training", None, "get", ADMIN),
    ("training-csv", None, "get", ADMIN),
]
# URLs checked by their own tests below or elsewhere (object checks, not role checks).
CHECKED_ELSEWHERE = {
    "case-evidence-file",  # test_evidence_download_only_for_safeguarding
    "notification-open",  # test_concerns: only your own
    # Runs the self-test against the gateway: every refused role in test_reviews_permissions,
    # the allowed ones against a real gateway in test_selftest_page.
    "selftest-run",
}
# parent-link checks its own signed token (test_agreements: a tampered link opens nothing).
OPEN = {"home", "login", "logout", "otp-enrol", "otp-verify", "api-alerts", "parent-link"}


@pytest.fixture
def others_case(people) -> Case:
    return workflow.open_case(
        people["teacher-2"],
        Source.STAFF,
        {"summary": "Someone else's report", "details": "d"},
        [people["pupil-2"]],
    )


@pytest.fixture
def records(people, others_case) -> dict[str, list[object]]:
    concern = concern_workflow.open_concern(
        people["teacher-2"],
        "staff",
        {"category": "bullying", "summary": "Someone else's concern", "details": "d"},
        [people["pupil-2"]],
    )
    task = concern_workflow.add_task(
        concern, people["dsl"], "Check in", people["dsl"], date(2026, 12, 4)
    )
    review = workflow.record_review(
        others_case,
        people["dsl"],
        {
            "reason_for_investigation": "r",
            "first_position": "DSL",
            "second_reviewer": people["deputy-dsl"],
            "second_position": "Deputy",
            "computer": "c",
            "sites": "s",
            "reason_for_concern": "r",
            "conclusion": "c",
        },
    )
    moment = timezone.now()
    alert = Alert.objects.create(
        subject=people["pupil-2"].username,
        user=people["pupil-2"].username,
        person=people["pupil-2"],
        theme="bullying",
        level="medium",
        first=moment,
        last=moment,
    )
    proposal = ExclusionProposal.objects.create(
        kind="term",
        value="a harmless phrase",
        reason="false positive",
        proposed_by=people["deputy-dsl"],
        proposed_at=moment,
    )
    return {
        "alert": [alert.pk],
        "exclusion": [proposal.pk],
        "review": [review.pk],
        "case": [others_case.pk],
        "concern": [concern.pk],
        "task": [concern.pk, task.pk],
        "pupil": [people["pupil-2"].pk],
        "child": [people["pupil"].pk],
        "username": [people["pupil-2"].username],
    }


def _url(name: str, args_of: str | None, records: dict[str, list[object]]) -> str:
    return reverse(name, args=records[args_of]) if args_of else reverse(name)


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_every_role_against_every_view(people, records, role) -> None:
    client = signed_in(people[role])
    for name, args_of, method, allowed in MATRIX:
        response = getattr(client, method)(_url(name, args_of, records))
        refused = response.status_code == 403
        assert refused == (role not in allowed), (name, role, response.status_code)
        if not refused:
            assert response.status_code in {200, 302, 400}, (name, role, response.status_code)


def test_evidence_download_only_for_safeguarding(people, others_case, tmp_path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    evidence = workflow.store_evidence(
        others_case, people["dsl"], SimpleUploadedFile("shot.png", b"png-bytes"), ""
    )
    url = reverse("case-evidence-file", args=[others_case.pk, evidence.pk])
    for role in EVERYONE:
        status = signed_in(people[role]).get(url).status_code
        assert (status == 200) == (role in SAFEGUARDING), (role, status)


def test_signed_out_users_go_to_sign_in(people, records) -> None:
    from django.test import Client

    client = Client()
    for name, args_of, method, _ in MATRIX:
        response = getattr(client, method)(_url(name, args_of, records))
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_pupil_cannot_open_another_pupils_case_by_url(people) -> None:
    mine = signed_in(people["pupil"])
    mine.post(reverse("report"), {"details": "someone sent me a horrible message"})
    theirs = workflow.open_case(
        people["pupil-2"],
        Source.PUPIL,
        {"summary": "private", "details": "private"},
        [people["pupil-2"]],
    )
    response = mine.get(reverse("case-detail", args=[theirs.pk]))
    assert response.status_code == 403
    assert b"private" not in response.content
    own = Case.objects.get(reporter=people["pupil"])
    # Pupils report and see nothing else, not even their own case page.
    assert mine.get(reverse("case-detail", args=[own.pk])).status_code == 403
    assert mine.get(reverse("case-list")).status_code == 403


def test_teacher_sees_own_reports_only(people, others_case) -> None:
    client = signed_in(people["teacher"])
    client.post(reverse("report"), {"summary": "Y8 on a proxy", "details": "seen in IT2"})
    listing = client.get(reverse("case-list")).content.decode()
    assert "Y8 on a proxy" in listing and "Someone else" not in listing
    assert client.get(reverse("case-detail", args=[others_case.pk])).status_code == 403


def test_governor_cannot_open_a_named_record(people, others_case) -> None:
    client = signed_in(people["governor"])
    for url in (
        reverse("case-detail", args=[others_case.pk]),
        reverse("directory"),
        reverse("incident-log"),
        reverse("incident-log-csv"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert people["pupil-2"].last_name.encode() not in response.content


def test_admin_roles_reach_nothing_before_two_factor(people) -> None:
    from django.test import Client

    for role in sorted(ADMIN):
        client = Client()
        client.force_login(people[role])
        response = client.get(reverse("case-list"))
        assert response.status_code == 302 and response["Location"] == reverse("otp-verify")
        assert client.get(reverse("directory")).status_code == 302


def test_every_url_declares_its_access_rule() -> None:
    patterns = [p for p in get_resolver().url_patterns if isinstance(p, URLPattern)]
    assert len(patterns) >= 25
    for pattern in patterns:
        assert hasattr(pattern.callback, "capability"), f"{pattern.name} has no access rule"
    open_views = {p.name for p in patterns if p.callback.capability is None}
    assert open_views == OPEN


def test_every_url_is_in_the_matrix() -> None:
    """A new URL must be added to a matrix (every role is then tried against it)."""
    from .test_console_permissions import MATRIX as CONSOLE_MATRIX
    from .test_governance_permissions import MATRIX as GOVERNANCE_MATRIX
    from .test_reports_permissions import MATRIX as REPORTS_MATRIX
    from .test_reviews_permissions import MATRIX as REVIEWS_MATRIX

    names = {p.name for p in get_resolver().url_patterns if isinstance(p, URLPattern)}
    matrices = [*MATRIX, *CONSOLE_MATRIX, *GOVERNANCE_MATRIX, *REVIEWS_MATRIX, *REPORTS_MATRIX]
    covered = {name for name, *_ in matrices} | CHECKED_ELSEWHERE | OPEN
    assert names - covered == set(), "add these URLs to the permission matrix"
