"""A false positive's exclusion, approved by a second person in the DSL inbox, lands in the
changes file beside the policy and reaches the running gateway (issue 12 and 13; STM-315 four
eyes; STM-318 "author and approver" for what is filtered and monitored).

End to end: the monitor's alert arrives, the DSL triages it as a false positive proposing to
exclude the term, the DSL cannot approve it herself, the deputy does; the changes file carries
the exclusion with both names, the gateway's snapshot is republished, and a real proxy on
127.0.0.1 that hot-reloads it journals the same search (made by a member of staff) without an
alert, which the monitor's alert rules then ignore. What is blocked does not change.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from schoolgate.app.alerts.models import Alert
from schoolgate.app.concerns.models import ExclusionProposal, ProposalStatus
from schoolgate.engine.decide import Subject
from schoolgate.engine.policy.changes import changes_path
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot
from schoolgate.events.journal import JournalWriter, read_events
from schoolgate.events.schema import Event
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.monitor.rules import AlertRules
from tests.gateway.proxy_support import running_origin, running_proxy

from .conftest import signed_in

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SEARCH = "http://www.google.com/search?q=noose+knot"


@pytest.fixture
def school(settings, tmp_path: Path) -> Path:
    """St Thomas More's policy in a temporary folder, with a gateway snapshot compiled from it."""
    policy = tmp_path / "st-thomas-more.yaml"
    shutil.copy(POLICIES / "st-thomas-more.yaml", policy)
    settings.SCHOOLGATE_POLICY = policy
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "snapshot.sgs"
    settings.SCHOOLGATE_GATEWAY_STATE = tmp_path / "gateway"
    compile_snapshot(load_policy(policy), []).save(settings.SCHOOLGATE_SNAPSHOT)
    return policy


def raise_alert(pupil: str) -> Alert:
    """The monitor's alert for a Year 5 pupil's search, as it arrives at the staff app."""
    body = {
        "id": f"{pupil}|self-harm",
        "theme": "self-harm",
        "level": "high",
        "user": pupil,
        "address": "127.0.0.1",
        "group": "pupil-ks2",
        "count": 1,
        "first": "2026-12-03T10:00:00Z",
        "last": "2026-12-03T10:00:00Z",
        "notify": ["dsl"],
        "context": {
            "window_minutes": 30,
            "events": [{"at": "2026-12-03T10:00:00Z", "action": "allow", "target": SEARCH,
                        "search": "noose knot", "categories": []}],
        },
    }  # fmt: skip
    response = Client().post(
        reverse("api-alerts"),
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer test-alert-token",
    )
    assert response.status_code == 201, response.content
    return Alert.objects.get(pk=response.json()["alert"])


def searches(journal: JournalWriter) -> list[Event]:
    journal.flush()
    return [Event.from_record(r) for r in read_events(journal.directory) if "search" in r]


def test_an_approved_exclusion_reaches_the_running_gateway_stm_315(
    people, school, settings, tmp_path
) -> None:
    holder = SnapshotHolder(settings.SCHOOLGATE_SNAPSHOT, interval=0.1).start()
    journal = JournalWriter(tmp_path / "journal", flush_interval=0.01)
    rules = AlertRules(load_policy(school))

    def teacher(address: str) -> Subject:
        """Staff sign their own agreement on the gateway (a pupil's needs a parent too)."""
        return Subject(group="staff", user="teacher-1")

    try:
        with (
            running_origin() as origin,
            running_proxy(
                tmp_path,
                lambda: holder.decider,
                hosts={"www.google.com": f"127.0.0.1:{origin.port}"},
                identify=teacher,
                journal=journal,
            ) as proxy,
        ):
            agreement, _ = AgreementCheck.agreement_of(holder.decider, "staff")
            proxy.pages.signatures.sign("user:teacher-1", agreement, datetime.now())
            proxy.get(SEARCH)
            [before] = searches(journal)
            assert before.alert == "high" and rules.feed(before)

            alert = raise_alert(people["pupil"].username)
            dsl, deputy = signed_in(people["dsl"]), signed_in(people["deputy-dsl"])
            dsl.post(
                reverse("alert-triage", args=[alert.pk]),
                {
                    "verdict": "false-positive",
                    "reason": "Scouts knot-tying homework",
                    "priority": "low",
                    "exclude_kind": "term",
                    "exclude_value": "noose",
                },
            )
            proposal = ExclusionProposal.objects.get()
            dsl.post(reverse("exclusion-decide", args=[proposal.pk]), {"decision": "approve"})
            assert not changes_path(school).exists()  # the author's own approval is refused
            deputy.post(reverse("exclusion-decide", args=[proposal.pk]), {"decision": "approve"})
            approved_at = time.monotonic()
            proposal.refresh_from_db()
            assert proposal.status == ProposalStatus.APPROVED

            [exclusion] = load_policy(school).alert_exclusions
            assert (exclusion.id, exclusion.kind, exclusion.value) == (proposal.pk, "term", "noose")
            assert exclusion.proposed_by.endswith("(dsl-1)")
            assert exclusion.approved_by.endswith("(deputy-dsl-1)")
            assert "Scouts" not in exclusion.reason  # the DSL's reason stays in the inbox
            log = signed_in(people["network-manager"]).get(reverse("filter-change-log"))
            text = log.content.decode()
            assert "Stop alerting on search term “noose”" in text and "Scouts" not in text

            while time.monotonic() - approved_at < 60 and holder.reloads == 0:
                time.sleep(0.05)
            proxy.get(SEARCH)
            after = searches(journal)[-1]
            assert (after.alert, after.action) == ("none", before.action)
            rules.policy_changed(holder.decider.policy)  # as `schoolgate serve` does on reload
            assert rules.feed(after) == []
            assert (before.action, before.rule) == ("allow", "search-self-harm")
            assert len(origin.seen) == 2  # the search still opens
    finally:
        holder.stop()
        journal.close()


def test_an_unusable_site_exclusion_is_refused_and_nothing_is_published(people, school) -> None:
    from schoolgate.app.concerns import triage
    from schoolgate.app.concerns.workflow import ConcernError

    with pytest.raises(ConcernError, match="not a host name"):
        triage.propose_exclusion(None, people["dsl"], "site", "not a site!!", "typo")
    assert not ExclusionProposal.objects.exists() and not changes_path(school).exists()
