"""The category index: which Schoolgate categories a target falls in.

Domains are matched by suffix (a listed `example.com` covers `a.b.example.com`), URLs by prefix
of host + path, expressions as regular expressions over the whole URL, and hashed lists (IWF,
CTIRU) by the SHA-256 of each candidate host and URL prefix. Expressions go through a literal
prefilter (`prefilter.py`), so a long expression list costs no more per lookup than a short one.
Categories are stored as bit masks so one lookup per host suffix answers for every list at once.
A host that no list covers may get `likely-*` categories from its name (`host_classifier.py`).

URL prefixes match on a boundary (`example.com/a` covers `example.com/a`, `example.com/a/b` and
`example.com/a?x`, not `example.com/ab`) and ignore case, as squidGuard does, so `/PORN` cannot
slip past a listed `/porn`. Expressions are searched case-insensitively over host + path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from schoolgate.engine.lists.host_classifier import HostClassifier, shipped_classifier
from schoolgate.engine.lists.prefilter import ExpressionMatcher, required_literals
from schoolgate.engine.targets import Target

Regexes = list[tuple[re.Pattern[str], int]]

_PATH_BOUNDARY = frozenset("/?&#;=")


@dataclass(slots=True)
class CategoryIndex:
    categories: list[str] = field(default_factory=list)
    domains: dict[str, int] = field(default_factory=dict)
    urls: dict[str, dict[str, int]] = field(default_factory=dict)
    """host -> {lower-case path prefix: mask}."""
    expressions: list[tuple[str, int]] = field(default_factory=list)
    hashed: dict[bytes, int] = field(default_factory=dict)
    """SHA-256 digest of a normalised host or URL prefix -> mask."""
    likely: HostClassifier | None = None
    """Guesses `likely-*` categories for hosts on no list (`enable_host_classifier`)."""
    _compiled: ExpressionMatcher | None = None
    _names: dict[int, frozenset[str]] = field(default_factory=dict)
    """mask -> category names; a policy sees few distinct masks, so this stays small."""

    def bit(self, category: str) -> int:
        try:
            return 1 << self.categories.index(category)
        except ValueError:
            self.categories.append(category)
            return 1 << (len(self.categories) - 1)

    def mask(self, categories: Iterable[str]) -> int:
        mask = 0
        for category in categories:
            mask |= self.bit(category)
        return mask

    def add_domain(self, domain: str, category: str) -> None:
        self.add_domain_mask(domain, self.bit(category))

    def add_domain_mask(self, domain: str, mask: int) -> None:
        domains = self.domains
        domains[domain] = domains.get(domain, 0) | mask

    def add_url(self, url: str, category: str) -> None:
        self.add_url_mask(url, self.bit(category))

    def add_url_mask(self, url: str, mask: int) -> None:
        """`url` is a normalised host + path, e.g. `example.com/a/b`."""
        host, _, path = url.partition("/")
        path = "/" + path.lower()
        prefixes = self.urls.setdefault(host, {})
        prefixes[path] = prefixes.get(path, 0) | mask

    def add_expression(self, pattern: str, category: str) -> None:
        self.add_expression_mask(pattern, self.bit(category))

    def add_expression_mask(self, pattern: str, mask: int) -> None:
        self.expressions.append((pattern, mask))
        self._compiled = None

    def add_hash(self, digest: bytes, category: str) -> None:
        self.add_hash_mask(digest, self.bit(category))

    def add_hash_mask(self, digest: bytes, mask: int) -> None:
        self.hashed[digest] = self.hashed.get(digest, 0) | mask

    def enable_host_classifier(self, classifier: HostClassifier | None = None) -> None:
        """Give hosts that are on no list the `likely-*` categories their names suggest."""
        self.likely = classifier or shipped_classifier()
        for category in sorted(self.likely.model):
            self.bit(category)

    def names(self, mask: int) -> frozenset[str]:
        names = self._names.get(mask)
        if names is None:
            names = frozenset(c for i, c in enumerate(self.categories) if mask >> i & 1)
            self._names[mask] = names
        return names

    def mask_for(self, target: Target) -> int:
        """Union of the category bits of every entry that covers `target`. The hot path."""
        host = target.host
        domains = self.domains
        urls = self.urls
        mask = domains.get(host, 0)
        prefixes = urls.get(host)
        if prefixes is not None:
            mask |= _url_mask(prefixes, target.path)
        if not target.is_ip:
            dot = host.find(".")
            while dot >= 0:
                suffix = host[dot + 1 :]
                mask |= domains.get(suffix, 0)
                prefixes = urls.get(suffix)
                if prefixes is not None:
                    mask |= _url_mask(prefixes, target.path)
                dot = host.find(".", dot + 1)
        if self.expressions:
            mask |= self._expression_mask(target.url)
        if self.hashed:
            hashed = self.hashed
            for key in hash_candidates(target):
                mask |= hashed.get(sha256(key), 0)
        if not mask and self.likely is not None and not target.is_ip:
            mask = self.likely_mask(host)
        return mask

    def likely_mask(self, host: str) -> int:
        """The `likely-*` categories' bits the host-name classifier gives `host` (0 without one);
        it depends only on the host's name part (`host_classifier.name_part`)."""
        if self.likely is None:
            return 0
        mask = 0
        for category in self.likely.categories(host):
            mask |= self.bit(category)
        return mask

    def expression_literals(self) -> frozenset[str] | None:
        """Lower-case strings of which an address must contain one for any expression to match
        it (`prefilter.required_literals`), or None when some expression needs none."""
        literals: set[str] = set()
        for pattern, _ in self.expressions:
            needed = required_literals(pattern)
            if needed is None:
                return None
            literals |= needed
        return frozenset(literals)

    def categories_for(self, target: Target) -> frozenset[str]:
        return self.names(self.mask_for(target))

    def _expression_mask(self, url: str) -> int:
        if self._compiled is None:
            self._compiled = ExpressionMatcher(self.expressions)
        return self._compiled.mask(url)

    def merge(self, others: Iterable[CategoryIndex]) -> None:
        for other in others:
            remap = [self.bit(c) for c in other.categories]

            def convert(mask: int, remap: list[int] = remap) -> int:
                out = 0
                for i, bits in enumerate(remap):
                    if mask >> i & 1:
                        out |= bits
                return out

            for d, m in other.domains.items():
                self.add_domain_mask(d, convert(m))
            for host, entries in other.urls.items():
                for prefix, m in entries.items():
                    self.add_url_mask(host + prefix, convert(m))
            self.expressions.extend((p, convert(m)) for p, m in other.expressions)
            for h, m in other.hashed.items():
                self.add_hash_mask(h, convert(m))
        self._compiled = None

    def counts(self) -> dict[str, int]:
        return {
            "domains": len(self.domains),
            "urls": sum(len(entries) for entries in self.urls.values()),
            "expressions": len(self.expressions),
            "hashed": len(self.hashed),
        }


def _url_mask(prefixes: dict[str, int], path: str) -> int:
    """Look up every prefix of `path` that ends at a boundary: a few dict probes, not a scan."""
    path = path.lower()
    get = prefixes.get
    mask = get(path, 0)
    for i, char in enumerate(path):
        if char in _PATH_BOUNDARY:
            mask |= get(path[:i], 0) | get(path[: i + 1], 0)
    return mask


def compile_expressions(
    expressions: list[tuple[str, int]],
) -> tuple[re.Pattern[str] | None, Regexes, Regexes]:
    """One combined pattern answers "does anything match?" in a single pass; most URLs don't.

    The index used this before the literal prefilter; importers still use it to check that an
    expression compiles, and the benchmark compares against it.

    Returns the combined pattern, the expressions it stands for, and the expressions that must
    always be tried on their own: any with groups, since joining renumbers backreferences and a
    named group used twice would not compile.
    """
    simple: Regexes = []
    grouped: Regexes = []
    for pattern, bits in expressions:
        regex = re.compile(pattern, re.IGNORECASE)
        (grouped if regex.groups else simple).append((regex, bits))
    if not simple:
        return None, simple, grouped
    combined = re.compile("|".join(f"(?:{r.pattern})" for r, _ in simple), re.IGNORECASE)
    return combined, simple, grouped


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def hash_key(target: Target) -> str:
    """The key a hashed-list entry for exactly this host or URL is made from.

    `example.com` and `http://Example.COM/` give `example.com`; `example.com/a/b/` gives
    `example.com/a/b`; a query is kept: `example.com/a?x=1`.
    """
    path, sep, query = target.path.partition("?")
    path = "/".join(s for s in path.split("/") if s)
    key = target.host + ("/" + path if path else "")
    return key + "?" + query if sep else key


def hash_candidates(target: Target) -> list[str]:
    """Keys a hashed list entry may have been made from: each host suffix and each URL prefix."""
    keys = target.suffixes()[:-1] or [target.host]
    path, sep, query = target.path.partition("?")
    prefix = target.host
    for segment in path.split("/"):
        if segment:
            prefix += "/" + segment
            keys.append(prefix)
    if sep:
        keys.append(prefix + "?" + query)  # hash_key(target): the whole path and its query
    return keys
