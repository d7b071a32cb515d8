"""A broken policy is reported problem by problem, with file, line and field; never half-loaded."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schoolgate.engine.policy.loader import MAX_VALUES, PolicyError, load_policy, parse_policy
from tests.engine.sample_policy import SAMPLE_POLICY


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "school.yaml")
    return [str(p) for p in caught.value.problems]


def test_sample_policy_loads() -> None:
    policy = parse_policy(SAMPLE_POLICY)
    assert policy.school.id == "sample-primary"
    assert [g.id for g in policy.groups] == ["infants", "juniors", "staff"]


def test_allowing_an_illegal_category_is_rejected() -> None:
    # UK Safer Internet Centre: no policy, not even an administrator's, may allow CSAM or terrorism.
    text = SAMPLE_POLICY.replace("categories: [games]", "categories: [games, child-sexual-abuse]")
    problems = problems_of(text)
    assert len(problems) == 1
    assert "rules[4].action" in problems[0]
    assert "must always be blocked" in problems[0]
    assert problems[0].startswith("school.yaml:")


def test_every_problem_is_reported_with_its_line() -> None:
    text = SAMPLE_POLICY.replace("categories: [gambling]", "categories: [gamblin]").replace(
        "groups: [juniors]\n    categories: [gamblin]\n    action: block",
        "groups: [juniors]\n    categories: [gamblin]\n    action: forbid",
    )
    problems = problems_of(text)
    lines = text.splitlines()
    assert len(problems) == 2
    for problem in problems:
        file, line, rest = problem.split(":", 2)
        assert file == "school.yaml"
        assert "rules[0]" in rest
        assert "gamblin" in lines[int(line) - 1] or "forbid" in lines[int(line) - 1]


def test_unknown_references_are_named() -> None:
    text = SAMPLE_POLICY.replace("periods: [lunch]", "periods: [dinner]").replace(
        "notify: [network-manager]}", "notify: [caretaker]}"
    )
    problems = problems_of(text)
    assert any("unknown period 'dinner'" in p for p in problems)
    assert any("no contact has role 'caretaker'" in p for p in problems)


def test_unknown_fields_are_refused() -> None:
    text = SAMPLE_POLICY.replace(
        "    walled_garden: true", "    walled_garden: true\n    colour: red"
    )
    (problem,) = problems_of(text)
    assert "groups[0].colour" in problem
    assert int(problem.split(":")[1]) == text.splitlines().index("    colour: red") + 1


def test_duplicate_keys_are_refused() -> None:
    text = SAMPLE_POLICY.replace("  name: Sample Primary School", "  name: A\n  name: B")
    (problem,) = problems_of(text)
    assert "school.name" in problem and "twice" in problem


def test_bad_yaml_names_the_line() -> None:
    (problem,) = problems_of("school:\n  id: x\n  name: [unclosed\n")
    assert "not valid YAML" in problem


@pytest.mark.parametrize("text", ["", "- a list\n", "just text"])
def test_a_policy_must_be_a_mapping(text: str) -> None:
    assert "mapping" in problems_of(text)[0]


def test_periods_must_end_after_they_start() -> None:
    text = SAMPLE_POLICY.replace('start: "12:00", end: "13:00"', 'start: "13:00", end: "12:00"')
    assert any("ends" in p for p in problems_of(text))


def test_unreadable_file(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(path)


# YAML shapes that must fail fast and clearly (issue 9, item 4) -------------------------------


def _alias_bomb(width: int, depth: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    for level in range(1, depth + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@settings(max_examples=6, deadline=None)
@given(st.integers(4, 12), st.integers(6, 10))
def test_alias_bombs_are_refused_quickly_with_the_line(width: int, depth: int) -> None:
    """The budget bounds the work by count (MAX_VALUES), whatever the machine's speed."""
    assume(width**depth > 10 * MAX_VALUES)
    with pytest.raises(PolicyError, match="alias bomb"):
        parse_policy(_alias_bomb(width, depth), "bomb.yaml")


@given(st.integers(0, 5), st.sampled_from(["[{}]", "{{k: {}}}"]))
def test_an_alias_inside_itself_is_refused(depth: int, shape: str) -> None:
    inner = "*a"
    for _ in range(depth):
        inner = shape.format(inner)
    text = f"a: &a {shape.format(inner)}\n"
    with pytest.raises(PolicyError, match="refers to a value that contains it") as caught:
        parse_policy(text, "self.yaml")
    assert str(caught.value).startswith("self.yaml:1:")


def test_very_deep_nesting_is_a_policy_error_not_a_crash() -> None:
    with pytest.raises(PolicyError, match="nested too deeply"):
        parse_policy("a: " + "[" * 3000 + "]" * 3000 + "\n", "deep.yaml")


def test_shared_anchors_still_load(policy_path) -> None:
    """St Thomas More shares `source:` blocks through anchors; the budget leaves that alone."""
    assert load_policy(policy_path("st-thomas-more")).school.id == "st-thomas-more"
