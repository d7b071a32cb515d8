"""The policy's `concerns:` section: safeguarding concern categories, defaults where the policy
is silent, precise errors, and the printed policy (issue 13; STM-041, STM-058, STM-174)."""

from __future__ import annotations

import pytest

from schoolgate.engine.policy.concerns import DEFAULT_CATEGORIES, concern_categories
from schoolgate.engine.policy.loader import PolicyError, parse_policy
from schoolgate.engine.policy.render import render_markdown
from tests.engine.printed_policy import main_text, source_of
from tests.engine.sample_policy import SAMPLE_POLICY

CONCERNS = """
concerns:
  categories:
    - id: bullying
      title: Cyber-bullying
      themes: [bullying]
      refer_to: [Parents]
      source:
        section: Designated Safeguarding Lead
        quote: "cyber-bullying"
        requirements: [STM-041]
"""


def test_policy_without_a_concerns_section_gets_the_defaults() -> None:
    policy = parse_policy(SAMPLE_POLICY)
    categories = concern_categories(policy.concerns)
    assert [c.id for c, _ in categories] == [c.id for c in DEFAULT_CATEGORIES]
    assert all(default for _, default in categories)
    ids = {c.id for c, _ in categories}
    assert {"self-harm", "suicidal-ideation", "sharing-nudes", "concern-for-friend"} <= ids


def test_school_categories_come_first_and_replace_the_default_of_the_same_id() -> None:
    policy = parse_policy(SAMPLE_POLICY + CONCERNS)
    categories = concern_categories(policy.concerns)
    assert categories[0][0].title == "Cyber-bullying" and categories[0][1] is False
    assert [c.id for c, _ in categories].count("bullying") == 1
    assert len(categories) == len(DEFAULT_CATEGORIES)


def test_defaults_can_be_turned_off() -> None:
    policy = parse_policy(SAMPLE_POLICY + CONCERNS + "  defaults: false\n")
    assert [c.id for c, _ in concern_categories(policy.concerns)] == ["bullying"]


def test_a_concern_category_has_no_sanctions() -> None:
    text = SAMPLE_POLICY + CONCERNS + "      actions: [warning]\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "school.yaml")
    assert "concerns.categories[0].actions" in str(caught.value.problems[0])


def test_unknown_theme_and_duplicate_id_name_their_place() -> None:
    text = (
        SAMPLE_POLICY
        + CONCERNS.replace("[bullying]", "[bulying]")
        + "    - {id: bullying, title: Again}\n"
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "school.yaml")
    problems = [str(p) for p in caught.value.problems]
    assert any("concerns.categories[0].themes[0]" in p and "bulying" in p for p in problems)
    assert any("concerns.categories[1].id" in p and "more than once" in p for p in problems)
    assert all(p.startswith("school.yaml:") for p in problems)


def test_printed_policy_has_concerns_with_citations_and_marked_defaults() -> None:
    text = render_markdown(parse_policy(SAMPLE_POLICY + CONCERNS))
    section = text[text.index("## Safeguarding concerns") :]
    assert "never leads to a sanction" in section
    cited = source_of(text, main_text(section))
    assert "| Cyber-bullying |" in section and "STM-041" in cited
    assert "STM-041" not in main_text(section)
    assert "| Self-harm |" in section and "Schoolgate default (the policy is silent)" in cited
    assert "(do not view or copy images)" in section
