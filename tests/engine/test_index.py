"""The category index: suffix, URL-prefix, expression and hashed matching, and merging."""

from __future__ import annotations

import pytest

from schoolgate.engine.lists.index import CategoryIndex, hash_candidates, hash_key, sha256
from schoolgate.engine.targets import parse_target


def _cats(index: CategoryIndex, url: str) -> set[str]:
    return set(index.categories_for(parse_target(url)))


@pytest.fixture
def index() -> CategoryIndex:
    index = CategoryIndex()
    index.add_domain("example.com", "gambling")
    index.add_domain("b.example.com", "games")
    index.add_domain("10.1.2.3", "proxy")
    index.add_domain("2001:db8::1", "vpn")
    index.add_url("docs.example.org/d/abc", "piracy")
    index.add_url("docs.example.org/watch?v=xyz", "streaming")
    index.add_url("10.9.9.9/~user", "hate-speech")
    index.add_expression(r"(^|[./])casino[0-9]*\.", "gambling")
    return index


@pytest.mark.parametrize(
    "url, expected",
    [
        ("example.com", {"gambling"}),
        ("a.b.example.com", {"gambling", "games"}),
        ("b.example.com.", {"gambling", "games"}),
        ("notexample.com", set()),
        ("example.com.evil.net", set()),
        ("http://10.1.2.3:8080/", {"proxy"}),
        ("http://167838211/", {"proxy"}),  # 10.1.2.3 as one number
        ("http://[2001:db8:0::1]/", {"vpn"}),
        ("docs.example.org/d/abc", {"piracy"}),
        ("www.docs.example.org/d/abc/edit", {"piracy"}),  # URL entries cover subdomains
        ("docs.example.org/D/ABC?x=1", {"piracy"}),
        ("docs.example.org/d/abcdef", set()),
        ("docs.example.org/d", set()),
        ("docs.example.org/watch?v=xyz&t=10", {"streaming"}),
        ("docs.example.org/watch?v=xyzzy", set()),
        ("10.9.9.9/~user/page", {"hate-speech"}),
        ("https://casino7.example.net/", {"gambling"}),
        ("https://CASINO.example.net/", {"gambling"}),
        ("https://megacasino.example.net/", set()),
    ],
)
def test_matching(index: CategoryIndex, url: str, expected: set[str]) -> None:
    assert _cats(index, url) == expected


def test_masks_are_bits_in_category_order(index: CategoryIndex) -> None:
    mask = index.mask_for(parse_target("a.b.example.com"))
    assert mask == index.bit("gambling") | index.bit("games")
    assert index.names(mask) == {"gambling", "games"}
    assert index.counts() == {"domains": 4, "urls": 3, "expressions": 1, "hashed": 0}


def test_hash_candidates_and_keys() -> None:
    target = parse_target("https://www.Example.com/a//b/?q=1")
    assert hash_key(target) == "www.example.com/a/b?q=1"
    assert hash_candidates(target) == [
        "www.example.com",
        "example.com",
        "www.example.com/a",
        "www.example.com/a/b",
        "www.example.com/a/b?q=1",
    ]
    assert hash_key(parse_target("http://1.2.3.4/")) == "1.2.3.4"
    assert hash_candidates(parse_target("http://1.2.3.4/x")) == ["1.2.3.4", "1.2.3.4/x"]


def test_hashed_entries_match_without_the_clear_text() -> None:
    index = CategoryIndex()
    index.add_hash(sha256("bad.example/folder"), "child-sexual-abuse")
    assert _cats(index, "http://bad.example/folder/x.jpg") == {"child-sexual-abuse"}
    assert _cats(index, "http://www.bad.example/folder") == set()  # a URL is per host
    assert _cats(index, "http://bad.example/") == set()


def test_merge_remaps_bits(index: CategoryIndex) -> None:
    other = CategoryIndex()
    other.add_domain("example.com", "drugs")
    other.add_url("docs.example.org/d/abc", "gambling")
    other.add_hash(sha256("h.example"), "terrorism")
    other.add_expression("poker", "gambling")
    index.merge([other])
    assert _cats(index, "example.com") == {"gambling", "drugs"}
    assert _cats(index, "docs.example.org/d/abc") == {"piracy", "gambling"}
    assert _cats(index, "h.example") == {"terrorism"}
    assert _cats(index, "videopoker.example") == {"gambling"}


def test_expressions_with_groups_match_on_their_own() -> None:
    # Joined into one pre-check pattern, `\1` would point at another expression's group and two
    # expressions naming the same group would not compile: such expressions are tried alone.
    index = CategoryIndex()
    index.add_expression(r"(x)y", "gambling")
    index.add_expression(r"(ab)\1", "games")
    index.add_expression(r"(?P<word>poker)", "gambling")
    index.add_expression(r"(?P<word>chess)\.", "games")
    index.add_expression(r"roulette", "gambling")
    assert _cats(index, "abab.com") == {"games"}
    assert _cats(index, "chess.example/") == {"games"}
    assert _cats(index, "pokerstars.example/") == {"gambling"}
    assert _cats(index, "roulette.example/") == {"gambling"}
    assert _cats(index, "plain.example/") == set()
