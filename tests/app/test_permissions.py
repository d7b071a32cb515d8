"""Every view and endpoint, for every role: who gets in and who is refused."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, get_resolver, reverse

from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.roles import Role

from .conftest import signed_in

SAFEGUARDING = {"dsl", "deputy-dsl", "online-safety-coordinator"}
ADMIN = SAFEGUARDING | {"network-manager"}
STAFF = ADMIN | {"teacher"}
EVERYONE = {r.value for r in Role}

# (url name, needs a case, method, roles allowed). Written out by hand from issue 4, not
# derived from the app's own table, so a change to the table that breaks the rules fails here.
MATRIX = [
    ("report", False, "get", EVERYONE),
    ("case-list", False, "get", STAFF),
    ("case-detail", True, "get", SAFEGUARDING),  # a case somebody else reported
    ("case-triage", True, "post", SAFEGUARDING),
    ("case-actions", True, "post", SAFEGUARDING),
    ("case-review", True, "post", SAFEGUARDING),
    ("case-evidence", True, "post", SAFEGUARDING),
    ("case-parents", True, "post", SAFEGUARDING),
    ("case-note", True, "post", SAFEGUARDING),
    ("case-close", True, "post", SAFEGUARDING),
    ("incident-log", False, "get", SAFEGUARDING),
    ("incident-log-csv", False, "get", SAFEGUARDING),
    ("reporting-log", False, "get", SAFEGUARDING),
    ("reporting-log-csv", False, "get", SAFEGUARDING),
    ("governor-report", False, "get", SAFEGUARDING | {"governor"}),
    ("directory", False, "get", ADMIN),
    ("import-people", False, "get", {"dsl", "online-safety-coordinator", "network-manager"}),
    ("import-confirm", False, "post", {"dsl", "online-safety-coordinator", "network-manager"}),
    ("audit-list", False, "get", {"dsl", "deputy-dsl"}),
]


@pytest.fixture
def others_case(people) -> Case:
    return workflow.open_case(
        people["teacher-2"],
        Source.STAFF,
        {"summary": "Someone else's report", "details": "d"},
        [people["pupil-2"]],
    )


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_every_role_against_every_view(people, others_case, role) -> None:
    client = signed_in(people[role])
    for name, with_case, method, allowed in MATRIX:
        url = reverse(name, args=[others_case.pk]) if with_case else reverse(name)
        response = getattr(client, method)(url)
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


def test_signed_out_users_go_to_sign_in(people, others_case) -> None:
    from django.test import Client

    client = Client()
    for name, with_case, method, _ in MATRIX:
        url = reverse(name, args=[others_case.pk]) if with_case else reverse(name)
        response = getattr(client, method)(url)
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
    assert open_views == {"home", "login", "logout", "otp-enrol", "otp-verify", "api-alerts"}
