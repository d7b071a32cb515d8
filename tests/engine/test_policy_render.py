"""The policy renders back as a readable document with its matrices as tables, fit to hand out
(issue 12): dates from the records, blanks for missing names, no internal names or requirement
ids in the main text, and every requirement id in the "where each rule comes from" appendix."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from schoolgate.app.reviews.register import printed_register, roles_register
from schoolgate.engine.policy.loader import load_policy, parse_policy
from schoolgate.engine.policy.render import (
    BLANK,
    REQUIREMENT_ID,
    PrintRecords,
    render_html,
    render_markdown,
)
from tests.engine.printed_policy import appendix_rows, main_text, refs_in, source_of
from tests.engine.sample_policy import SAMPLE_POLICY

POLICIES = sorted((Path(__file__).resolve().parents[2] / "policies").glob("*.yaml"))

MATRIX = """
sanctions:
  - applies_to: pupil
    title: Pupil sanctions
    actions:
      - {id: teacher, title: Refer to class teacher}
      - {id: police, title: Refer to police, referral: true}
    incidents:
      - {id: illegal, title: Accessing illegal material, actions: [teacher, police], illegal: true}
      - {id: games, title: Playing games in lessons, actions: [teacher]}
tables:
  - id: communications
    title: Communication technologies
    columns: [Technology, Staff, Pupils]
    rows:
      - [Mobile phones in school, Allowed, Not allowed]
    note: Enforced by the rules pupils-social-media and adults-blogs (STM-111).
"""

RECORDS = PrintRecords(
    approved=date(2026, 3, 12),
    approved_by="J Smith, Principal",
    next_review=date(2027, 3, 12),
    history=((date(2025, 3, 10), "Annual review signed off by J Smith, Principal"),),
)

# What a reader must never meet in the main text: file names, module paths, rule ids in code.
INTERNAL = re.compile(
    r"[\w./-]+\.(?:ya?ml|py|txt|json|csv|sgs)\b|\bschoolgate\.\w|\b(?:engine|lists|policies)/|`"
)


def test_markdown_has_rules_sources_and_matrices() -> None:
    policy = parse_policy(SAMPLE_POLICY + MATRIX)
    text = render_markdown(policy)
    body = main_text(text)
    assert text.startswith("# Sample Primary School: Online Safety Policy")
    assert "| Incident | Refer to class teacher | Refer to police |" in body
    assert "| Accessing illegal material (illegal) | ✓ | ✓ |" in body
    assert "| Playing games in lessons | ✓ |  |" in body
    assert "| Mobile phones in school | Allowed | Not allowed |" in body
    assert "Childline" in body
    rules = body.split("## Access rules", 1)[1].split("\n## ", 1)[0]
    cited = source_of(text, rules)
    assert "Gambling sites are blocked" in cited and "STM-001" in cited
    assert "Gambling sites are blocked" not in body and "STM-001" not in body


def test_implementer_notes_go_to_the_appendix() -> None:
    text = render_markdown(parse_policy(SAMPLE_POLICY + MATRIX))
    assert "pupils-social-media" not in main_text(text)
    notes = [row[3] for row in appendix_rows(text).values()]
    assert any("Enforced by the rules pupils-social-media" in n for n in notes)
    table = main_text(text).split("## Communication technologies", 1)[1]
    assert any("STM-111" in appendix_rows(text)[n][2] for n in refs_in(table))


def test_dates_come_from_the_records_not_the_written_policy() -> None:
    text = SAMPLE_POLICY.replace(
        "  policy_title: Online Safety Policy\n",
        "  policy_title: Online Safety Policy\n  approved: 2016-12\n  next_review: 2017-12\n",
    )
    policy = parse_policy(text)
    printed = render_markdown(policy, RECORDS)
    head = printed.split("\n## ", 1)[0]
    assert "**Approved:** 12 March 2026, signed off by J Smith, Principal" in head
    assert "**Next review:** 12 March 2027" in head
    assert "2016" not in main_text(printed) and "2017" not in main_text(printed)
    history = printed.split("## Appendix: document history", 1)[1]
    assert "10 March 2025: Annual review signed off" in history
    assert "approved December 2016" in history and "December 2017" in history
    unrecorded = render_markdown(policy).split("\n## ", 1)[0]
    assert f"**Approved:** {BLANK}" in unrecorded and f"**Next review:** {BLANK}" in unrecorded
    assert "Approved 12 March 2026 · Next review 12 March 2027" in render_html(policy, RECORDS)


def test_missing_names_are_blanks_to_fill() -> None:
    policy = parse_policy(SAMPLE_POLICY)
    records = PrintRecords(responsible=printed_register(roles_register(policy)))
    text = render_markdown(policy, records)
    assert "| Designated Safeguarding Lead | A. Lead |" in text
    assert f"| Network Manager | {BLANK} |" in text
    register = text.split("## Responsible for filtering and monitoring", 1)[1].split("\n## ")[0]
    assert "| Designated safeguarding lead | Designated Safeguarding Lead | A. Lead |" in register
    assert f"| Governor | {BLANK} | {BLANK} |" in register
    assert f"| Senior leader | Headteacher | {BLANK} |" in register


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_every_policy_prints_fit_to_hand_out(path: Path) -> None:
    """Each school's policy: no internal names or ids in the main text, every requirement id it
    cites in the appendix, each reference resolves, names or blanks for every contact."""
    policy = load_policy(path)
    text = render_markdown(
        policy, PrintRecords(responsible=printed_register(roles_register(policy)))
    )
    body = main_text(text)
    assert not INTERNAL.findall(body), INTERNAL.findall(body)[:5]
    assert not REQUIREMENT_ID.findall(body), REQUIREMENT_ID.findall(body)[:5]
    if policy.school.source_document:
        assert policy.school.source_document not in text
    rows = appendix_rows(text)
    assert refs_in(body) and set(refs_in(body)) <= set(rows)
    cited = set(REQUIREMENT_ID.findall(policy.model_dump_json()))
    listed = set(REQUIREMENT_ID.findall(" ".join(" ".join(r) for r in rows.values())))
    assert cited <= listed, sorted(cited - listed)[:10]
    contacts = body.split("## Roles and contacts", 1)[1].split("\n## ", 1)[0]
    for contact in policy.contacts:
        assert f"| {contact.name or BLANK} |" in contacts
    for field in (policy.school.approved, policy.school.next_review):
        if field:
            assert field not in body.split("\n## ", 1)[0]


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tables += tag == "table"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_a_printable_a4_page_with_tables() -> None:
    policy = parse_policy(SAMPLE_POLICY + MATRIX)
    page = render_html(policy)
    parser = _Tables()
    parser.feed(page)
    assert page.startswith("<!doctype html>")
    assert parser.tables >= 6
    assert "@media print" in page and "size: A4" in page and "counter(pages)" in page
    assert '"Sample Primary School · Online Safety Policy"' in page
    assert "Refer to police" in "".join(parser.text)


def test_wide_matrices_print_on_landscape_pages() -> None:
    actions = "".join(f"      - {{id: a{i}, title: Action {i}}}\n" for i in range(9))
    wide = (
        "sanctions:\n  - applies_to: staff\n    title: Staff sanctions\n    actions:\n"
        + actions
        + "    incidents:\n      - {id: x, title: Misuse, actions: [a0, a8]}\n"
    )
    page = render_html(parse_policy(SAMPLE_POLICY + wide))
    assert "@page wide { size: A4 landscape; }" in page
    section = page.split('<section class="wide">', 1)[1].split("</section>", 1)[0]
    assert "Staff sanctions" in section and section.count("<th>") == 10


def test_html_escapes_policy_text() -> None:
    text = SAMPLE_POLICY.replace("Gambling sites are blocked", "<script>alert(1)</script>")
    assert "<script>alert" not in render_html(parse_policy(text))
    name = SAMPLE_POLICY.replace("name: Sample Primary School", 'name: "Sample \\" } body {"')
    page = render_html(parse_policy(name))
    assert '"Sample \\" } body {' in page


def test_approved_exclusions_are_listed_and_date_the_last_amendment(tmp_path: Path) -> None:
    """Issue 13's monitoring exclusions amend the policy like filter changes (STM-315)."""
    from schoolgate.engine.policy.changes import changes_path
    from tests.engine.test_alert_exclusions import EXCLUSIONS

    path = tmp_path / "sample.yaml"
    path.write_text(SAMPLE_POLICY, encoding="utf-8")
    changes_path(path).write_text(EXCLUSIONS, encoding="utf-8")
    text = render_markdown(load_policy(path), RECORDS)
    assert "**Last amended:** 3 December 2026 (monitoring exclusion 4;" in text
    appendix = text.split("## Appendix: monitoring exclusions approved since adoption", 1)[1]
    row = "| 2 | 03 Dec 2026 09:05 | search words | noose | Scouts knot-tying homework |"
    assert row in appendix and "E Deputy (edeputy)" in appendix
    assert "sample.changes.yaml" not in text
