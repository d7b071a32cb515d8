"""The UK Safer Internet Centre "appropriate filtering / monitoring" self-check: every checklist
item answered from the policy, the running gateway's snapshot and the records, each pointing at
its evidence; the IWF and CTIRU lists are a Gap until a list supplies them (issue 12; STM-075,
STM-077, STM-318, STM-319, SH-024, CAV-020)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.console import gateway_state
from schoolgate.app.policy import current_policy
from schoolgate.app.reports import uksic
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot

from .conftest import signed_in

POLICIES = Path(__file__).resolve().parents[2] / "policies"
FILTERING_FEATURES = {
    "Age appropriate, differentiated filtering",
    "Circumvention",
    "Control",
    "Contextual content filters",
    "Filtering policy",
    "Group / multi-site management",
    "Identification",
    "Mobile and app content",
    "Multiple language support",
    "Network level",
    "Remote devices",
    "Reporting mechanism",
    "Reports",
    "Safe search",
}
MONITORING = {
    "Age appropriate",
    "Alert systems",
    "BYOD (bring your own device)",
    "Data retention",
    "Devices",
    "Flexibility",
    "Group / multi-site management",
    "Monitoring policy",
    "Multiple language support",
    "Prioritisation",
    "Reporting",
}


@pytest.fixture
def st_thomas_more(settings, tmp_path):
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "none.sgs"
    gateway_state._cache.clear()
    yield
    gateway_state._cache.clear()


def _with_lists(settings, tmp_path, *categories: str) -> None:
    snapshot = compile_snapshot(load_policy(settings.SCHOOLGATE_POLICY), [])
    for category in categories:
        snapshot.index.add_domain(f"{category}.test", category)
    snapshot.save(tmp_path / "snapshot.sgs")
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "snapshot.sgs"
    gateway_state._cache.clear()


def _items(section: str | None = None) -> dict[str, uksic.CheckItem]:
    return {
        i.title: i
        for i in uksic.self_check(current_policy())
        if section is None or i.section == section
    }


def test_every_uksic_item_is_answered_with_evidence(db, st_thomas_more) -> None:
    items = uksic.self_check(current_policy())
    assert {i.title for i in items if i.section == "Filtering system features"} == (
        FILTERING_FEATURES
    )
    assert {i.title for i in items if i.checklist == "Monitoring"} == MONITORING
    content = [i.title for i in items if i.section == "Inappropriate online content"]
    assert content == [title for title, _ in uksic.CONTENT] and len(content) == 9
    for item in items:
        assert item.status in {"Met", "Partly", "Gap"} and item.shows and item.evidence, item


def test_iwf_and_ctiru_are_gaps_without_their_lists_stm_075(db, st_thomas_more) -> None:
    illegal = _items("Illegal online content")
    iwf = illegal["Child sexual abuse content: IWF member, IWF URL list"]
    assert iwf.status == "Gap" and "only to IWF members" in iwf.shows
    # The policy says the provider applies the list; Schoolgate says it cannot check that.
    assert "EXA Networks & Surf Protect" in iwf.shows and "cannot check" in iwf.shows
    assert illegal["Terrorist content: the police-assessed (CTIRU) list"].status == "Gap"


def test_a_loaded_list_turns_the_iwf_item_met_stm_319(db, st_thomas_more, settings, tmp_path):
    _with_lists(settings, tmp_path, "child-sexual-abuse", "pornography")
    items = _items()
    assert items["Child sexual abuse content: IWF member, IWF URL list"].status == "Met"
    assert items["Terrorist content: the police-assessed (CTIRU) list"].status == "Gap"
    assert items["Pornography"].status == "Met"  # blocked for every pupil group and listed
    assert items["Gambling"].status == "Partly"  # blocked, but no list recognises the sites
    assert "no list in the running gateway" in items["Gambling"].shows
    assert items["Network level"].status == "Met"


def test_a_category_the_policy_does_not_block_for_pupils_is_a_gap(db, settings, tmp_path):
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "none.sgs"
    gateway_state._cache.clear()
    items = _items()  # the app's test policy has no filtering rules at all
    assert (
        items["Gambling"].status == "Gap"
        and "Key stage 3 pupils: allowed" in items["Gambling"].shows
    )
    assert items["Circumvention"].status == "Gap"
    assert items["Remote devices"].status == "Gap"
    gateway_state._cache.clear()


def test_treatment_reads_periods_walled_gardens_and_nominated_exceptions() -> None:
    policy = load_policy(POLICIES / "st-thomas-more.yaml")
    ks1, staff = policy.group("pupil-ks1"), policy.group("staff")
    assert uksic.treatment(policy, ks1, "social-media") == "blocked"  # walled garden
    assert uksic.treatment(policy, staff, "social-media") == "blocked at some times"


def test_page_and_csv_point_at_evidence_and_are_audited(people, st_thomas_more) -> None:
    client = signed_in(people["dsl"])
    page = client.get(reverse("uksic-self-check")).content.decode()
    assert "Appropriate filtering and monitoring: self-check" in page
    assert f'href="{reverse("console-requests")}"' in page  # reporting mechanism's evidence
    assert "Policy: " in page and "docs/lists.md" in page
    assert "@page { size:A4" in page
    response = client.get(reverse("uksic-self-check") + "?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == uksic.CSV_COLUMNS and len(rows) == 1 + 2 + 9 + 14 + 11
    iwf = next(r for r in rows if r[2].startswith("Child sexual abuse"))
    assert iwf[3] == "Gap" and "/console/" in iwf[5]
    for row in rows:
        for cell in row:
            assert cell.lstrip(" ")[:1] not in set("=+-@"), cell
    assert AuditEntry.objects.filter(action="review.uksic-self-check").count() == 2


def test_a_governor_is_not_sent_to_pages_they_cannot_open(people, st_thomas_more) -> None:
    """Governors read the self-check but not the network manager's console (STM-017)."""
    page = signed_in(people["governor"]).get(reverse("uksic-self-check")).content.decode()
    assert f'href="{reverse("console-dashboard")}"' not in page
    assert "Gateway health: lists loaded <span" in page and "kept by the network manager" in page
    assert f'href="{reverse("filter-change-log")}"' in page  # governors read the change log
    nm = signed_in(people["network-manager"]).get(reverse("uksic-self-check")).content.decode()
    assert f'href="{reverse("console-dashboard")}"' in nm


def test_the_evidence_pack_links_to_the_self_check(people, st_thomas_more) -> None:
    page = signed_in(people["dsl"]).get(reverse("evidence-pack")).content.decode()
    assert reverse("uksic-self-check") in page


def test_the_latest_filtering_self_test_is_evidence_and_a_miss_is_not_met_stm_318(
    people, st_thomas_more, settings, tmp_path
) -> None:
    from schoolgate.app.reviews.models import SelfTestRun
    from schoolgate.gateway.selftest import Observed, ProbeResult, SelfTestReport

    _with_lists(settings, tmp_path, "gambling", "pornography")

    def probe(category: str, proxy: str) -> ProbeResult:
        return ProbeResult(
            "pupil-ks2",
            category,
            f"{category}.test",
            "block",
            category,
            Observed("block"),
            Observed(proxy, group="pupil-ks2"),
        )

    report = SelfTestReport(
        "s",
        "f",
        "127.0.0.1:53",
        "127.0.0.1:3128",
        "x",
        {},
        results=[probe("gambling", "block"), probe("pornography", "allow")],
    )
    run = SelfTestRun.objects.create(
        ran_by=people["dsl"],
        dns="d",
        proxy="p",
        passed=False,
        probes=2,
        mismatches=1,
        not_probed=0,
        report=report.to_json(),
    )
    items = _items()
    assert items["Gambling"].status == "Met"
    assert "all decided as the policy says" in items["Gambling"].shows
    assert items["Pornography"].status == "Partly"
    assert "1 not decided as the policy says" in items["Pornography"].shows
    assert reverse("selftest-run-detail", args=[run.pk]) in [
        e.url for e in items["Pornography"].evidence
    ]
    assert "not yet tried" in items["Drugs / substance abuse"].shows
