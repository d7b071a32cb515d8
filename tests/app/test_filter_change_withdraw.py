"""Withdrawing a filter change, and expired changes shown as expired (issue 12; STM-314,
STM-315, STM-320).

A change can be withdrawn by its author, by anyone who may approve changes, or by a DSL; a
withdrawn change that was in force leaves the changes file, the running gateway drops it on hot
reload, and the principal is told, as for any change to the filter (STM-315). The withdrawal is
audited and shown in the change-control log with who, when and why (STM-314).
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.console.models import UnblockRequest
from schoolgate.app.governance.models import FilterChange
from schoolgate.app.governance.publish import publish
from schoolgate.engine.decide import Subject
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot
from schoolgate.gateway.proxy.records import ANSWERS_FILE
from schoolgate.gateway.reload import SnapshotHolder
from tests.gateway.proxy_support import running_proxy

from .conftest import signed_in
from .test_filter_changes import HERE, gateway_decision, proposal


@pytest.fixture
def school(settings, tmp_path: Path) -> Path:
    """The test policy copied to a temporary folder, with a gateway snapshot compiled from it
    (as in test_filter_changes.py)."""
    policy = tmp_path / "policy.yaml"
    shutil.copy(HERE / "policy.yaml", policy)
    settings.SCHOOLGATE_POLICY = policy
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "snapshot.sgs"
    settings.SCHOOLGATE_GATEWAY_STATE = tmp_path / "gateway"
    compile_snapshot(load_policy(policy), []).save(settings.SCHOOLGATE_SNAPSHOT)
    return policy


@pytest.fixture
def principal(school: Path) -> str:
    """The policy names a principal with an e-mail address: the second responsible person."""
    text = school.read_text()
    school.write_text(
        text.replace(
            "contacts:\n",
            "contacts:\n  - {role: principal, title: Principal, email: head@school.test}\n",
            1,
        )
    )
    return "head@school.test"


def approved(people, **fields) -> FilterChange:
    change = proposal(people, **fields)
    change.decide(people["online-safety-coordinator"], approve=True)
    publish()
    return change


def test_the_author_withdraws_a_proposal_before_anyone_approves_it(people, school) -> None:
    change = proposal(people)
    client = signed_in(people["network-manager"])
    page = client.get(reverse("filter-change", args=[change.pk])).content.decode()
    assert 'id="withdraw-button"' in page
    response = client.post(
        reverse("filter-change-withdraw", args=[change.pk]), {"note": "Asked the wrong group"}
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == FilterChange.Status.WITHDRAWN
    assert change.withdrawn_by == people["network-manager"] and change.decided_by is None
    assert change.withdrawal_note == "Asked the wrong group"
    entry = AuditEntry.objects.get(action="filter-change.withdrawn")
    assert entry.detail["was_in_force"] is False and entry.detail["note"] == "Asked the wrong group"
    assert load_policy(school).approved_changes == []
    # A withdrawn proposal can no longer be approved.
    decided = signed_in(people["dsl"]).post(
        reverse("filter-change-decide", args=[change.pk]), {"decision": "approve"}
    )
    assert decided.status_code == 302
    change.refresh_from_db()
    assert change.status == FilterChange.Status.WITHDRAWN


def test_withdrawing_an_approved_change_unpublishes_it_and_tells_the_principal_stm_315(
    people, school, principal, settings
) -> None:
    change = approved(people)
    assert gateway_decision(settings).action.value == "block"
    mail.outbox.clear()
    client = signed_in(people["dsl"])  # neither its author nor its approver: a DSL
    client.post(reverse("filter-change-withdraw", args=[change.pk]), {"note": "Term ended"})
    change.refresh_from_db()
    assert change.status == FilterChange.Status.WITHDRAWN
    assert load_policy(school).approved_changes == []
    assert gateway_decision(settings).action.value == "allow"
    [message] = mail.outbox
    assert message.to == [principal]
    assert message.subject.startswith("Filter change withdrawn by Dsl")
    log = client.get(reverse("filter-change-log") + "?format=csv").content.decode()
    assert "Withdrawn by Dsl" in log and "Term ended" in log


@pytest.mark.parametrize("role", ["governor", "teacher", "pupil"])
def test_only_the_author_an_approver_or_a_dsl_may_withdraw(people, school, role) -> None:
    change = approved(people)
    response = signed_in(people[role]).post(reverse("filter-change-withdraw", args=[change.pk]))
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == FilterChange.Status.APPROVED
    assert not AuditEntry.objects.filter(action="filter-change.withdrawn").exists()


def test_the_governor_is_not_offered_the_button(people, school) -> None:
    change = approved(people)
    page = signed_in(people["governor"]).get(reverse("filter-change", args=[change.pk]))
    assert 'id="withdraw-button"' not in page.content.decode()


def test_an_expired_change_is_shown_as_expired_and_cannot_be_withdrawn_stm_320(
    people, school
) -> None:
    change = approved(people, action="allow", sites=["*"], users=["pupil-1"], until=timezone.now())
    FilterChange.objects.filter(pk=change.pk).update(until=timezone.now() - timedelta(hours=1))
    change.refresh_from_db()
    assert change.is_expired and change.status_label == "Expired"
    client = signed_in(people["dsl"])
    detail = client.get(reverse("filter-change", args=[change.pk])).content.decode()
    assert '<span class="status" id="status">Expired</span>' in detail
    assert 'id="withdraw-button"' not in detail
    listing = client.get(reverse("filter-changes")).content.decode()
    assert '<span class="status">Expired</span>' in listing
    assert "Expired" in client.get(reverse("filter-change-log")).content.decode()
    client.post(reverse("filter-change-withdraw", args=[change.pk]))
    change.refresh_from_db()
    assert change.status == FilterChange.Status.APPROVED  # history stays as it was


def test_the_running_proxy_drops_a_withdrawn_change_on_hot_reload(
    people, school, settings, tmp_path
) -> None:
    """End to end: a real proxy on 127.0.0.1 watching the snapshot the app publishes blocks the
    site while the change is in force and lets it through within 60 s of the withdrawal."""
    change = approved(people)
    holder = SnapshotHolder(settings.SCHOOLGATE_SNAPSHOT, interval=0.1).start()

    def pupils(address: str) -> Subject:
        return Subject(group="ks3-pupils")

    try:
        with running_proxy(tmp_path, lambda: holder.decider, identify=pupils) as proxy:
            # The device has signed the pupils' acceptable use agreement.
            signed = datetime.now()
            proxy.pages.signatures.sign("address:127.0.0.1", "ks3-pupils-agreement", signed)
            probe = {"X-Schoolgate-Probe": "1"}
            status, headers, _ = proxy.get("http://distracting.example/", probe)
            assert (status, headers["X-Schoolgate-Rule"]) == (403, f"change-{change.pk}")
            signed_in(people["network-manager"]).post(
                reverse("filter-change-withdraw", args=[change.pk])
            )
            withdrawn_at = time.monotonic()
            while time.monotonic() - withdrawn_at < 60:
                status, headers, _ = proxy.get("http://distracting.example/", probe)
                if status == 204:
                    break
                time.sleep(0.1)
            assert (status, headers["X-Schoolgate-Decision"]) == (204, "allow")
    finally:
        holder.stop()


def test_the_pupil_who_asked_is_told_the_change_was_withdrawn_stm_325(
    people, school, settings
) -> None:
    """The unblock a pupil asked for was approved, then withdrawn: their "My requests" page on
    the gateway says so, with the reason."""
    item = UnblockRequest.objects.create(
        source_key="k-9",
        kind=UnblockRequest.Kind.UNBLOCK,
        url="https://tudors.example/",
        message="For my Tudors homework",
        requester="pupil-1",
        group="ks3-pupils",
        requested_at=timezone.now(),
    )
    change = approved(people, action="allow", sites=["tudors.example"], request=item)
    signed_in(people["dsl"]).post(
        reverse("filter-change-withdraw", args=[change.pk]), {"note": "The project has ended"}
    )
    item.refresh_from_db()
    assert item.status == UnblockRequest.Status.ANSWERED
    assert "Allow tudors.example no longer applies: The project has ended" in item.response
    answers = json.loads((settings.SCHOOLGATE_GATEWAY_STATE / ANSWERS_FILE).read_text())
    assert answers["k-9"]["status"] == "answered"
    assert "no longer applies" in answers["k-9"]["message"]
