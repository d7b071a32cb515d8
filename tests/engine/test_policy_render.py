"""The policy renders back as a readable document with its matrices as tables."""

from __future__ import annotations

from html.parser import HTMLParser

from schoolgate.engine.policy.loader import parse_policy
from schoolgate.engine.policy.render import render_html, render_markdown
from tests.engine.sample_policy import SAMPLE_POLICY

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
"""


def test_markdown_has_rules_sources_and_matrices() -> None:
    policy = parse_policy(SAMPLE_POLICY + MATRIX)
    text = render_markdown(policy)
    assert text.startswith("# Sample Primary School: Online Safety Policy")
    assert "Gambling sites are blocked" in text and "[STM-001]" in text
    assert "| Incident | Refer to class teacher | Refer to police |" in text
    assert "| Accessing illegal material (illegal) | ✓ | ✓ |" in text
    assert "| Playing games in lessons | ✓ |  |" in text
    assert "| Mobile phones in school | Allowed | Not allowed |" in text
    assert "Childline" in text


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tables += tag == "table"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_a_printable_page_with_tables() -> None:
    policy = parse_policy(SAMPLE_POLICY + MATRIX)
    page = render_html(policy)
    parser = _Tables()
    parser.feed(page)
    assert page.startswith("<!doctype html>")
    assert parser.tables >= 6
    assert "@media print" in page
    assert "Refer to police" in "".join(parser.text)


def test_html_escapes_policy_text() -> None:
    text = SAMPLE_POLICY.replace("Gambling sites are blocked", "<script>alert(1)</script>")
    assert "<script>alert" not in render_html(parse_policy(text))
