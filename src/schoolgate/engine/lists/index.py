"""The category index: which Schoolgate categories a target falls in.

Domains are matched by suffix (a listed `example.com` covers `a.b.example.com`), URLs by prefix
of host + path, expressions as regular expressions over the whole URL, and hashed lists (IWF,
CTIRU) by the SHA-256 of each candidate host and URL prefix. Categories are stored as bit masks
so one lookup per host suffix answers for every list at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from schoolgate.engine.urls import Target


@dataclass(slots=True)
class CategoryIndex:
    categories: list[str] = field(default_factory=list)
    domains: dict[str, int] = field(default_factory=dict)
    urls: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """host -> [(path prefix, mask)]."""
    expressions: list[tuple[str, int]] = field(default_factory=list)
    hashed: dict[bytes, int] = field(default_factory=dict)
    """SHA-256 digest of a normalised host or URL prefix -> mask."""
    _compiled: list[tuple[re.Pattern[str], int]] | None = None

    def bit(self, category: str) -> int:
        try:
            return 1 << self.categories.index(category)
        except ValueError:
            self.categories.append(category)
            return 1 << (len(self.categories) - 1)

    def add_domain(self, domain: str, category: str) -> None:
        self.domains[domain] = self.domains.get(domain, 0) | self.bit(category)

    def add_url(self, url: str, category: str) -> None:
        host, _, path = url.partition("/")
        self.urls.setdefault(host, []).append(("/" + path, self.bit(category)))

    def add_expression(self, pattern: str, category: str) -> None:
        self.expressions.append((pattern, self.bit(category)))
        self._compiled = None

    def add_hash(self, digest: bytes, category: str) -> None:
        self.hashed[digest] = self.hashed.get(digest, 0) | self.bit(category)

    def names(self, mask: int) -> frozenset[str]:
        return frozenset(c for i, c in enumerate(self.categories) if mask >> i & 1)

    def mask_for(self, target: Target) -> int:
        mask = 0
        domains = self.domains
        suffixes = target.suffixes()
        for suffix in suffixes:
            mask |= domains.get(suffix, 0)
        if self.urls:
            for suffix in suffixes:
                for prefix, bits in self.urls.get(suffix, ()):
                    if target.path.startswith(prefix):
                        mask |= bits
        if self.expressions:
            url = target.url
            for regex, bits in self._regexes():
                if regex.search(url):
                    mask |= bits
        if self.hashed:
            for key in hash_candidates(target):
                mask |= self.hashed.get(sha256(key), 0)
        return mask

    def categories_for(self, target: Target) -> frozenset[str]:
        return self.names(self.mask_for(target))

    def _regexes(self) -> list[tuple[re.Pattern[str], int]]:
        if self._compiled is None:
            self._compiled = [(re.compile(p), bits) for p, bits in self.expressions]
        return self._compiled

    def merge(self, others: Iterable[CategoryIndex]) -> None:
        for other in others:
            remap = {1 << i: self.bit(c) for i, c in enumerate(other.categories)}

            def convert(mask: int, remap: dict[int, int] = remap) -> int:
                return sum(v for k, v in remap.items() if mask & k)

            for d, m in other.domains.items():
                self.domains[d] = self.domains.get(d, 0) | convert(m)
            for host, entries in other.urls.items():
                self.urls.setdefault(host, []).extend((p, convert(m)) for p, m in entries)
            self.expressions.extend((p, convert(m)) for p, m in other.expressions)
            for h, m in other.hashed.items():
                self.hashed[h] = self.hashed.get(h, 0) | convert(m)
        self._compiled = None


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def hash_candidates(target: Target) -> list[str]:
    """Keys a hashed list entry may have been made from: each host suffix and each URL prefix."""
    keys = target.suffixes()[:-1] or [target.host]
    path = target.path.split("?", 1)[0]
    segments = [s for s in path.split("/") if s]
    prefix = target.host
    for segment in segments:
        prefix += "/" + segment
        keys.append(prefix)
    if "?" in target.path:
        keys.append(target.url)
    return keys
