"""Agreements, countersignatures, consents, the publish check and training, school by school.

Scenarios from shared/requirements.md: STM-S01/S02 (KS2 access waits for the pupil and the
parent, STM-228, STM-230), SH-098 (St Hilary's parents' consent is what gates), CAV-S01
(CAV-029, CAV-031), TM-S01 (each logon, TM-054), STM-S07/S08 and SH-S06 (publishing, STM-097,
STM-241, SH-064), STM-S25 (biometrics, STM-247), STM-S28/S35 (training, STM-064, STM-286).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from schoolgate.app.agreements import consents, publishing
from schoolgate.app.agreements.links import parent_token
from schoolgate.app.agreements.models import Consent, Signatory, Signature, TrainingNeed
from schoolgate.app.agreements.publish import build_state, publish_now
from schoolgate.app.agreements.reminders import remind_parents
from schoolgate.app.agreements.signing import SigningError, sign
from schoolgate.app.agreements.status import status_of
from schoolgate.app.agreements.training import untrained_staff
from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.people.models import User
from schoolgate.app.policy import current_policy
from schoolgate.engine.agreements import agreement_version
from schoolgate.gateway.agreement_state import AgreementState

from .conftest import make_user, signed_in

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def school(settings, tmp_path):
    """Point the app at one seed school's policy and a private agreement-state file."""
    settings.SCHOOLGATE_AGREEMENT_STATE = tmp_path / "gateway" / "agreement-state.json"

    def use(name: str):
        settings.SCHOOLGATE_POLICY = POLICIES / f"{name}.yaml"
        return current_policy()

    return use


def _family(group: str, first: str = "Amelia", last: str = "Smith", reg: str = "4B"):
    pupil = make_user(
        "pupil",
        f"{first.lower()}.{last.lower()}",
        first_name=first,
        last_name=last,
        policy_group=group,
        registration_group=reg,
        year="4",
    )
    parent = make_user(
        "parent",
        f"parent-of-{first.lower()}",
        first_name="Pat",
        last_name=last,
        email=f"pat.{last.lower()}@example.org",
    )
    parent.children.add(pupil)
    return pupil, parent


def _version(user: User) -> str:
    return status_of(user, current_policy(), timezone.now()).version


# --- Agreements and countersignatures ---------------------------------------------------------


def test_ks2_pupil_signature_alone_does_not_complete_stm_228_stm_230_stm_s02(
    db, school, django_capture_on_commit_callbacks
):
    school("st-thomas-more")
    pupil, parent = _family("pupil-ks2")
    with django_capture_on_commit_callbacks(execute=True):
        sign(pupil, Signatory.USER, pupil, version=_version(pupil))
    state = AgreementState.load(_state_path())
    assert not state.is_satisfied(f"user:{pupil.username}", "pupil-aua-ks2", timezone.now())
    assert status_of(pupil, current_policy(), timezone.now()).missing == ["parent"]
    # Nobody but a linked parent can countersign, and the pupil cannot sign as the parent.
    stranger = make_user("parent", "stranger")
    for who in (stranger, pupil):
        with pytest.raises(SigningError, match="linked to this pupil"):
            sign(pupil, Signatory.PARENT, who, version=_version(pupil))
    with django_capture_on_commit_callbacks(execute=True):
        sign(pupil, Signatory.PARENT, parent, version=_version(pupil))
    state.refresh(force=True)
    agreement = current_policy().agreements[0]
    assert state.is_satisfied(
        f"user:{pupil.username}",
        "pupil-aua-ks2",
        timezone.now(),
        version=agreement_version(agreement),
    )
    # Renewed from the start of the next school year (STM-228: "we renew each school year").
    entry = json.loads(_state_path().read_text())["subjects"][f"user:{pupil.username}"]
    assert entry["pupil-aua-ks2"]["valid_until"].endswith("-09-01T00:00:00+00:00")
    assert AuditEntry.objects.filter(action="agreement.sign").count() == 2


def _state_path() -> Path:
    from django.conf import settings

    return Path(settings.SCHOOLGATE_AGREEMENT_STATE)


def test_st_hilarys_needs_only_the_parents_consent_sh_098(db, school):
    school("st-hilarys")
    pupil, parent = _family("pupil")
    status = status_of(pupil, current_policy(), timezone.now())
    assert status.missing == ["parent"]
    with pytest.raises(SigningError, match="does not ask for a user signature"):
        sign(pupil, Signatory.USER, pupil, version=status.version)
    sign(pupil, Signatory.PARENT, parent, version=status.version)
    assert f"user:{pupil.username}" in build_state(timezone.now())["subjects"]


def test_cavendish_student_and_parent_both_sign_cav_029_cav_031_cav_s01(db, school):
    school("cavendish")
    pupil, parent = _family("pupil")
    version = _version(pupil)
    sign(pupil, Signatory.PARENT, parent, version=version)
    assert f"user:{pupil.username}" not in build_state(timezone.now())["subjects"]
    sign(pupil, Signatory.USER, pupil, version=version)
    assert f"user:{pupil.username}" in build_state(timezone.now())["subjects"]


def test_thomas_mills_is_accepted_at_each_logon_not_in_the_app_tm_054_tm_s01(db, school):
    school("thomas-mills")
    pupil = make_user("pupil", "tm-pupil", policy_group="pupil")
    status = status_of(pupil, current_policy(), timezone.now())
    assert status.each_logon and not status.complete
    with pytest.raises(SigningError, match="every logon"):
        sign(pupil, Signatory.USER, pupil, version=status.version)
    assert build_state(timezone.now())["subjects"] == {}


def test_a_changed_text_asks_for_a_new_signature(db, school, settings, tmp_path):
    policy = school("heanor-gate")
    pupil = make_user("pupil", "hg-pupil", policy_group="pupil")
    sign(pupil, Signatory.USER, pupil, version=_version(pupil))
    assert status_of(pupil, policy, timezone.now()).complete
    changed = tmp_path / "heanor-gate.yaml"
    changed.write_text(
        (POLICIES / "heanor-gate.yaml")
        .read_text()
        .replace("responsibly and for educational purposes only", "responsibly, only for school")
    )
    settings.SCHOOLGATE_POLICY = changed
    status = status_of(pupil, current_policy(), timezone.now())
    assert not status.complete and status.missing == ["user"]
    with pytest.raises(SigningError, match="has changed"):
        sign(pupil, Signatory.USER, pupil, version=agreement_version(policy.agreements[0]))


def test_staff_and_community_users_sign_their_own_stm_272_stm_282(db, school):
    school("st-thomas-more")
    teacher = make_user("teacher", "t-one", policy_group="staff")
    visitor = make_user("community", "c-one", policy_group="community")
    client = signed_in(visitor)
    page = client.get(reverse("my-agreement")).content.decode()
    assert "Acceptable Use Agreement for Community Users" in page
    client.post(reverse("my-agreement"), {"version": _version(visitor), "agree": "yes"})
    assert status_of(visitor, current_policy(), timezone.now()).complete
    assert not status_of(teacher, current_policy(), timezone.now()).complete
    assert mail.outbox == []  # nobody else must sign: no reminder


def test_a_pupils_signature_in_the_app_emails_the_parents_stm_230(db, school):
    school("st-thomas-more")
    pupil, parent = _family("pupil-ks2")
    signed_in(pupil).post(reverse("my-agreement"), {"version": _version(pupil), "agree": "yes"})
    [message] = mail.outbox
    assert message.to == [parent.email] and "/parent/link/" in message.body


def test_parent_countersigns_on_the_parent_page_and_by_signed_link(db, school):
    school("st-thomas-more")
    pupil, parent = _family("pupil-ks1", "Ben", "Jones", "1A")
    sign(pupil, Signatory.USER, pupil, version=_version(pupil))
    client = signed_in(parent)
    page = client.get(reverse("parent-home")).content.decode()
    assert "Ben cannot use the internet at school until you sign" in page
    client.post(
        reverse("parent-sign", args=[pupil.pk]), {"version": _version(pupil), "agree": "yes"}
    )
    assert status_of(pupil, current_policy(), timezone.now()).complete
    # A second child answered from the link in the e-mail, without a password.
    second, _ = _family("pupil-ks2", "Cara", "Jones", "5C")
    parent.children.add(second)
    sign(second, Signatory.USER, second, version=_version(second))
    from django.test import Client

    link = reverse("parent-link", args=[parent_token(parent, second)])
    anonymous = Client()
    assert "Cara cannot use the internet" in anonymous.get(link).content.decode()
    anonymous.post(link, {"version": _version(second), "agree": "yes", "form": "sign"})
    signature = Signature.objects.get(subject=second, signatory="parent")
    assert signature.signed_by == parent and signature.via == "link"
    assert anonymous.get(link[:-2] + "x/").status_code == 403  # a tampered link opens nothing


def test_parents_are_reminded_once_with_a_link(db, school):
    school("st-thomas-more")
    pupil, parent = _family("pupil-ks2")
    sign(pupil, Signatory.USER, pupil, version=_version(pupil))
    assert remind_parents(timezone.now(), "http://school.test/") == 1
    assert remind_parents(timezone.now(), "http://school.test/") == 0  # not again so soon
    [message] = mail.outbox
    assert message.to == [parent.email] and "http://school.test/parent/link/" in message.body


def test_register_csv_escapes_formulas_and_lists_who_has_not_signed(db, school, people):
    school("st-thomas-more")
    pupil, _ = _family("pupil-ks2", "=HYPERLINK(1)", "Smith")
    sign(pupil, Signatory.USER, pupil, version=_version(pupil))
    client = signed_in(people["teacher"])
    page = client.get(reverse("agreement-register"), {"state": "outstanding"}).content.decode()
    assert "waiting for parent" in page
    csv_text = client.get(reverse("agreement-register-csv")).content.decode()
    assert "'=HYPERLINK(1) Smith" in csv_text and ",=HYPERLINK" not in csv_text
    assert AuditEntry.objects.filter(action="agreements.register-csv").exists()


# --- Consents and "May I publish this?" ---------------------------------------------------------


def test_consent_history_keeps_withdrawals_stm_240_stm_s25(db, school):
    policy = school("st-thomas-more")
    pupil, parent = _family("pupil-ks2")
    now = timezone.now()
    for answer, when in (("yes", now - timedelta(days=30)), ("withdrawn", now)):
        consents.answer(
            pupil, "biometric", answer, by=parent, giver_role="parent", policy=policy, at=when
        )
    [state] = [s for s in consents.consent_states(pupil, policy) if s.consent.id == "biometric"]
    assert not state.given and state.label == "Withdrawn"
    assert list(Consent.objects.filter(child=pupil).values_list("answer", flat=True)) == [
        "withdrawn",
        "yes",
    ]


def _consent(child, parent, policy, consent_id="photo-video", value="yes"):
    consents.answer(
        child,
        consent_id,
        value,
        by=parent,
        giver_role="parent",
        policy=policy,
        at=timezone.now(),
    )


def test_st_hilarys_caption_first_name_and_initial_sh_064_sh_s06(db, school):
    policy = school("st-hilarys")
    amelia, parent = _family("pupil", "Amelia", "Smith", "3S")
    _consent(amelia, parent, policy)
    refused = publishing.check(policy, "website", "Amelia Smith wins the spelling bee")
    assert not refused.ok
    assert [p.found for p in refused.problems] == ["Amelia Smith"]
    assert "Amelia S." in refused.problems[0].suggestion
    accepted = publishing.check(policy, "website", "Amelia S. wins the spelling bee")
    assert accepted.ok and [c.name_as for c in accepted.children] == ["Amelia S."]


def test_st_thomas_more_class_photo_no_names_and_consent_stm_097_stm_s07(db, school):
    policy = school("st-thomas-more")
    amelia, parent = _family("pupil-ks2", "Amelia", "Smith", "4B")
    _family("pupil-ks2", "Noah", "Brown", "4B")
    _consent(amelia, parent, policy)
    result = publishing.check(policy, "website", "Class 4B at the science fair", "4B")
    assert [c.child.first_name for c in result.refused] == ["Noah"]  # no photo consent
    named = publishing.check(policy, "website", "Amelia at the science fair", "4B")
    assert [p.found for p in named.problems] == ["Amelia"]  # no names at all on the website
    press = publishing.check(policy, "named-press", "Amelia Smith wins")
    assert not press.ok and not press.problems  # full names allowed, but a decision is needed


def test_publish_check_page_shows_the_verdict(db, school, people):
    policy = school("st-hilarys")
    amelia, parent = _family("pupil", "Amelia", "Smith", "3S")
    _consent(amelia, parent, policy)
    client = signed_in(people["teacher"])
    page = client.post(
        reverse("publish-check"), {"channel": "website", "caption": "Well done Amelia Smith"}
    ).content.decode()
    assert "Not yet" in page and "Amelia S." in page
    assert AuditEntry.objects.filter(action="consents.publish-check").exists()


# --- Training ---------------------------------------------------------------------------------


def test_new_staff_induction_due_and_untrained_query_stm_064_stm_s28(db, school, people):
    policy = school("st-thomas-more")
    newcomer = make_user("teacher", "new-t", policy_group="staff", email="new@example.org")
    User.objects.filter(pk=newcomer.pk).update(date_joined=timezone.now() - timedelta(days=40))
    today = timezone.localdate()
    overdue = {(g.person.username, g.course.id) for g in untrained_staff(policy, today)}
    assert ("new-t", "online-safety-induction") in overdue
    client = signed_in(people["online-safety-coordinator"])
    client.post(
        reverse("training"),
        {
            "form": "record",
            "person": newcomer.pk,
            "course": "online-safety-induction",
            "completed_on": today.isoformat(),
        },
    )
    overdue = {(g.person.username, g.course.id) for g in untrained_staff(policy, today)}
    assert ("new-t", "online-safety-induction") not in overdue


def test_training_needs_audit_log_columns_and_csv_stm_286_stm_s35(db, school, people):
    school("st-thomas-more")
    client = signed_in(people["online-safety-coordinator"])
    client.post(
        reverse("training"),
        {
            "form": "need",
            "group": "Teaching staff",
            "relevant_training": "=cmd",
            "identified_need": "Filtering and monitoring roles",
            "to_be_met_by": "LA course",
            "cost": "£45",
            "review_date": "2027-03-01",
        },
    )
    need = TrainingNeed.objects.get()
    assert need.cost == 45 and need.review_date == date(2027, 3, 1)
    csv_text = client.get(reverse("training-csv")).content.decode()
    header = csv_text.splitlines()[0]
    assert header == (
        "Group,Name,Relevant training the last 12 months,Identified Training Need,"
        "To be met by,Cost,Review Date"
    )
    assert "'=cmd" in csv_text
    bad = client.post(reverse("training"), {"form": "need", "group": "x", "cost": "lots"})
    assert bad.status_code == 302 and TrainingNeed.objects.count() == 1


def test_published_state_is_what_the_gateway_reads(db, school):
    school("st-hilarys")
    pupil, parent = _family("pupil")
    sign(pupil, Signatory.PARENT, parent, version=_version(pupil))
    assert publish_now() == 1
    state = AgreementState.load(_state_path())
    assert state.is_satisfied(f"user:{pupil.username}", "pupil-aua", timezone.now())


def test_republishing_keeps_the_demo_devices_entries(db, school):
    school("st-thomas-more")
    from schoolgate.gateway.agreement_state import publish_demo_agreements

    demo = {"version": "v", "complete_at": "2026-09-01T00:00:00+00:00", "valid_until": None}
    publish_demo_agreements(
        _state_path(), {"address:127.0.0.2": {"pupil-aua-ks2": demo | {"demo": True}}}
    )
    publish_now()
    assert "address:127.0.0.2" in json.loads(_state_path().read_text())["subjects"]


def test_training_reminders_go_once_a_week_and_review_dates_reach_the_osc_stm_s35(
    db, school, people
):
    policy = school("st-thomas-more")
    from schoolgate.app.agreements.training import send_training_reminders

    newcomer = make_user("teacher", "new-r", policy_group="staff", email="new-r@example.org")
    User.objects.filter(pk=newcomer.pk).update(date_joined=timezone.now() - timedelta(days=20))
    User.objects.filter(pk=people["online-safety-coordinator"].pk).update(email="osc@example.org")
    TrainingNeed.objects.create(
        group="Teaching staff",
        identified_need="Filtering roles",
        review_date=date(2027, 3, 1),
        recorded_by=people["online-safety-coordinator"],
    )
    sent = send_training_reminders(policy, date(2027, 3, 1))
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert "new-r@example.org" in recipients and "osc@example.org" in recipients
    assert sent == len(mail.outbox)
    assert send_training_reminders(policy, date(2027, 3, 1)) == 0  # not again the same week
