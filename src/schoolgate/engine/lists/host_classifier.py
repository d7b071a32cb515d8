"""Guessing a category for a host that is on no list, from its name alone: `likely-*` categories.

Lists always lag: a new bookmaker (`spinwinslots77.com`), a fresh adult site or a VPN brand is
often on no list yet. Their names give them away. The classifier looks at the host's *name part*
(the registered label, without sub-domains or public suffix: `best-casino7` for
`www.best-casino7.co.uk`) and reports a `likely-*` category when it contains a token learnt for
that category:

- **substring tokens** (4+ letters, e.g. `casino`, `poker`, `slots`) anywhere in the name part;
- **segment tokens** (short words such as `bet`, `xxx`, `vpn`) only as a whole run of letters,
  so `bet365` and `10bet` match `bet` but `alphabet` and `better` do not.

The tokens are learnt offline by `lists/build_host_tokens.py` from one source (say UT1 gambling
against UT1's benign categories) and shipped in `schoolgate/data/host_tokens.json`; their
precision is measured on lists they were not built from (`tests/engine/test_host_classifier.py`,
`docs/benchmarks.md`). A policy decides what a guess means: usually warn or block for pupils
(STM-161 gambling, STM-148 pornography, STM-154 and STM-190 bypassing the filter); a guess is
never treated as a listed category. Only hosts on no list are classified, so a listed site is
never relabelled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import ahocorasick

MODEL_RESOURCE = "host_tokens.json"
_LETTERS = re.compile(r"[a-z]+")
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "me"})


def name_part(host: str) -> str:
    """The label of a host name that its owner registered: `best-casino7` for
    `www.best-casino7.co.uk`, `nordvpn` for `uk1234.nordvpn.com`. Sub-domain labels (server
    locations, CDN shards) are the owner's own choice and say little about the site."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) > 1:
        labels = labels[:-1]
    if len(labels) > 1 and labels[-1] in _SECOND_LEVEL:
        labels = labels[:-1]
    return labels[-1] if labels else ""


@dataclass(frozen=True, slots=True)
class Tokens:
    substrings: frozenset[str]
    segments: frozenset[str]


class HostClassifier:
    """`categories(host)`: the `likely-*` categories a host's name suggests."""

    def __init__(self, model: dict[str, Tokens]):
        self.model = model
        self._automaton = ahocorasick.Automaton()
        owners: dict[str, set[str]] = {}
        for category, tokens in model.items():
            for token in tokens.substrings:
                owners.setdefault(token, set()).add(category)
        for token, categories in owners.items():
            self._automaton.add_word(token, frozenset(categories))
        self._empty = not owners
        if owners:
            self._automaton.make_automaton()
        self._segments: dict[str, frozenset[str]] = {}
        for category, tokens in model.items():
            for token in tokens.segments:
                self._segments[token] = self._segments.get(token, frozenset()) | {category}
        self.categories = lru_cache(maxsize=65536)(self._categories)

    def _categories(self, host: str) -> frozenset[str]:
        name = name_part(host)
        if not name or not name.isascii():
            return frozenset()
        found: set[str] = set()
        if not self._empty:
            for _end, categories in self._automaton.iter(name):
                found |= categories
        for segment in _LETTERS.findall(name):
            found |= self._segments.get(segment, frozenset())
        return frozenset(found)

    @classmethod
    def from_json(cls, text: str) -> HostClassifier:
        data = json.loads(text)
        model = {
            category: Tokens(frozenset(entry["substrings"]), frozenset(entry["segments"]))
            for category, entry in data["categories"].items()
        }
        return cls(model)


@lru_cache(maxsize=1)
def shipped_classifier() -> HostClassifier:
    """The classifier built from the tokens shipped with Schoolgate (read once per process)."""
    text = resources.files("schoolgate").joinpath("data", MODEL_RESOURCE).read_text("utf-8")
    return HostClassifier.from_json(text)
