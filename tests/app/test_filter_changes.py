"""Filter changes: four eyes, then published beside the policy and into the gateway snapshot
(issue 12; STM-314, STM-315, STM-320)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from schoolgate.app.governance.models import FilterChange, FourEyesError
from schoolgate.app.governance.publish import publish
from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.changes import changes_path
from schoolgate.engine.policy.loader import PolicyError, load_policy
from schoolgate.engine.snapshot import compile_snapshot, load_snapshot
from schoolgate.gateway.proxy.records import ANSWERS_FILE

HERE = Path(__file__).resolve().parent


@pytest.fixture
def school(settings, tmp_path: Path) -> Path:
    """The test policy copied to a temporary folder, with a gateway snapshot compiled from it."""
    policy = tmp_path / "policy.yaml"
    shutil.copy(HERE / "policy.yaml", policy)
    settings.SCHOOLGATE_POLICY = policy
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "snapshot.sgs"
    settings.SCHOOLGATE_GATEWAY_STATE = tmp_path / "gateway"
    compile_snapshot(load_policy(policy), []).save(settings.SCHOOLGATE_SNAPSHOT)
    return policy


def proposal(people, **fields) -> FilterChange:
    values = {
        "action": "block",
        "groups": ["ks3-pupils"],
        "sites": ["distracting.example"],
        "reason": "Pupils were gaming in lessons on this site",
        "proposed_by": people["network-manager"],
    } | fields
    return FilterChange.objects.create(**values)


def gateway_decision(settings, user: str | None = None):
    decider = Decider(load_snapshot(settings.SCHOOLGATE_SNAPSHOT))
    subject = Subject(group="ks3-pupils", user=user)
    return decider.decide(subject, "https://distracting.example/", datetime.now(UTC))


def test_the_author_can_never_decide_their_own_change(people) -> None:
    change = proposal(people)
    with pytest.raises(FourEyesError):
        change.decide(people["network-manager"], approve=True)
    change.refresh_from_db()
    assert change.status == FilterChange.Status.PROPOSED


def test_the_database_refuses_a_self_approved_row(people) -> None:
    change = proposal(people)
    with pytest.raises(IntegrityError), transaction.atomic():
        FilterChange.objects.filter(pk=change.pk).update(decided_by=people["network-manager"])


def test_an_approved_change_reaches_the_gateway_snapshot(people, school, settings) -> None:
    """STM-315: logged with both names; the gateway's snapshot carries the change."""
    assert gateway_decision(settings).action.value == "allow"
    change = proposal(people)
    change.decide(people["online-safety-coordinator"], approve=True, note="Agreed at OSG")
    written = publish()
    assert written == changes_path(school)
    decision = gateway_decision(settings)
    assert (decision.action.value, decision.rule) == ("block", f"change-{change.pk}")
    assert "approved by" in decision.reason and "(online-safety-coordinator-1)" in decision.reason


def test_rejected_and_pending_changes_are_not_published(people, school, settings) -> None:
    proposal(people)
    proposal(people, sites=["other.example"]).decide(people["dsl"], approve=False)
    publish()
    assert load_policy(school).approved_changes == []
    assert gateway_decision(settings).action.value == "allow"


def test_a_switch_off_expires_by_itself(people, school, settings) -> None:
    """STM-320: filtering switched off for one user, logged and time-limited."""
    until = timezone.now() + timedelta(hours=1)
    change = proposal(people, action="allow", sites=["*"], users=["pupil-1"], until=until)
    change.decide(people["dsl"], approve=True)
    publish()
    [entry] = load_policy(school).approved_changes
    assert entry.sites == ["*"] and entry.users == ["pupil-1"] and entry.until is not None


def test_a_change_that_would_not_load_is_refused_and_nothing_is_lost(
    people, school, settings
) -> None:
    good = proposal(people)
    good.decide(people["dsl"], approve=True)
    publish()
    before = changes_path(school).read_bytes()
    bad = proposal(people, groups=["year-99"])
    bad.decide(people["dsl"], approve=True)
    with pytest.raises(PolicyError, match="unknown group 'year-99'"):
        publish()
    assert changes_path(school).read_bytes() == before
    assert gateway_decision(settings).rule == f"change-{good.pk}"


def test_an_unblock_request_becomes_a_proposal_and_its_approval_answers_it(
    people, school, settings
) -> None:
    """STM-325: a request from the block page is decided at school level, by two people."""
    from django.urls import reverse

    from schoolgate.app.console.models import UnblockRequest

    from .conftest import signed_in

    item = UnblockRequest.objects.create(
        source_key="k-1",
        kind=UnblockRequest.Kind.UNBLOCK,
        url="https://distracting.example/",
        message="Needed for the Year 9 project",
        requester="pupil-1",
        group="ks3-pupils",
        requested_at=timezone.now(),
    )
    author = signed_in(people["network-manager"])
    form = author.get(reverse("filter-change-propose") + f"?request={item.pk}").content.decode()
    assert "distracting.example" in form and "Needed for the Year 9 project" in form
    author.post(
        reverse("filter-change-propose"),
        {
            "request": item.pk,
            "action": "block",
            "groups": ["ks3-pupils"],
            "sites": "distracting.example",
            "reason": "Not suitable after all",
        },
    )
    change = FilterChange.objects.get()
    assert change.request == item
    signed_in(people["online-safety-coordinator"]).post(
        reverse("filter-change-decide", args=[change.pk]), {"decision": "approve"}
    )
    item.refresh_from_db()
    change.refresh_from_db()
    assert change.status == FilterChange.Status.APPROVED
    # The pupil asked for an unblock and the school blocked it: not "approved", but answered,
    # and the answer reaches the gateway's "my requests" page (STM-325).
    assert item.status == UnblockRequest.Status.ANSWERED
    assert item.response.startswith("Decided: Block distracting.example.")
    answers = json.loads((settings.SCHOOLGATE_GATEWAY_STATE / ANSWERS_FILE).read_text())
    assert answers["k-1"]["status"] == "answered"
    assert gateway_decision(settings).rule == f"change-{change.pk}"
    log = signed_in(people["governor"]).get(reverse("filter-change-log") + "?format=csv")
    assert "Not suitable after all" in log.content.decode()  # STM-017: the governor reads it


def test_the_governor_reads_the_changes_but_is_not_offered_a_proposal(people, school) -> None:
    """STM-017, STM-327: governors read the change-control log; proposing is for the leads."""
    from django.urls import reverse

    from .conftest import signed_in

    proposal(people)
    governor = signed_in(people["governor"]).get(reverse("filter-changes")).content.decode()
    assert "Block distracting.example" in governor and "Key stage 3 pupils" in governor
    assert reverse("filter-change-propose") not in governor
    manager = signed_in(people["network-manager"]).get(reverse("filter-changes")).content.decode()
    assert reverse("filter-change-propose") in manager
    assert f'href="{reverse("filter-changes")}"' in manager  # in the header's navigation
