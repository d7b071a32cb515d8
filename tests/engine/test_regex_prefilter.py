"""The literal prefilter for list expressions gives exactly the answers of trying every expression
(STM-148, SH-024: expression lists stay usable at any size)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from schoolgate.engine.lists.index import CategoryIndex
from schoolgate.engine.lists.prefilter import (
    ExpressionMatcher,
    plain_expression_mask,
    required_literals,
)
from schoolgate.engine.targets import parse_target
from tests.conftest import UT1


def test_required_literals_of_typical_list_expressions() -> None:
    assert required_literals(r"(^|[./])casino[0-9]*\.") == {"casino"}
    assert required_literals(r"poker|slots") == {"poker", "slots"}
    assert required_literals(r"(big|huge)?(porn|xxx)s?") == {"porn", "xxx"}
    assert required_literals(r"(abc)+def") == {"abc"} or required_literals(r"(abc)+def") == {"def"}
    assert required_literals(r"BET365") == {"bet365"}
    assert required_literals(r"^[0-9]+$") is None  # nothing literal: always tried
    assert required_literals(r"(ab|)cd") == {"cd"}  # an empty branch makes `ab` optional
    assert required_literals(r"a.b") is None  # literals shorter than two characters
    assert required_literals(r"(") is None


def test_ut1_very_restrictive_expression_has_literals() -> None:
    lines = (UT1 / "adult" / "very_restrictive_expression").read_text().split("\n")
    for pattern in filter(None, lines):
        assert required_literals(pattern), pattern


PIECES = ["bet", "casino", "poker", "xx", "sex", "vpn", "ab", "a", "-", ".", "/", "0"]
ATOMS = st.one_of(
    st.sampled_from(PIECES).map(re.escape),
    st.sampled_from([r"[0-9]", r"[a-c]", r".", r"\d", r"[-./]", r"(^|[./])", r"$", r"\b"]),
)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    def group(depth: int) -> str:
        parts = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.integers(0, 5 if depth < 2 else 2))
            if kind <= 2:
                parts.append(draw(ATOMS))
            elif kind == 3:
                alternatives = [group(depth + 1) for _ in range(draw(st.integers(1, 3)))]
                parts.append("(" + "|".join(alternatives) + ")")
            elif kind == 4:
                parts.append("(?:" + group(depth + 1) + ")" + draw(st.sampled_from("?*+")))
            else:
                parts.append("(" + group(depth + 1) + "){" + str(draw(st.integers(0, 2))) + "}")
        return "".join(parts)

    return group(0)


URLS = st.lists(
    st.sampled_from([*PIECES, "BET", "Casino", "X", "é", "ſ", "K", "1", "b", "c"]), max_size=12
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(expressions(), min_size=1, max_size=8), st.lists(URLS, min_size=1, max_size=8))
def test_prefilter_agrees_with_trying_every_expression(patterns: list[str], urls: list[str]):
    listed = [(p, 1 << (i % 5)) for i, p in enumerate(patterns)]
    matcher = ExpressionMatcher(listed)
    for url in urls:
        assert matcher.mask(url) == plain_expression_mask(matcher.regexes, url), (patterns, url)


def test_index_uses_the_prefilter_for_its_expressions() -> None:
    index = CategoryIndex()
    index.add_expression(r"(^|[./-])casino[0-9]*[./-]", "gambling")
    index.add_expression(r"^[a-z]+\.example/deep$", "games")
    assert index.categories_for(parse_target("https://best-casino7.example/")) == {"gambling"}
    assert index.categories_for(parse_target("https://CASINO.example/")) == {"gambling"}
    assert index.categories_for(parse_target("http://x.example/deep")) == {"games"}
    assert index.categories_for(parse_target("https://casinos.example/")) == set()
