"""Safe search by DNS: the search engines' names answered with their safe-search hosts.

Google, Bing, DuckDuckGo and YouTube publish host names that force safe search for everyone
behind a resolver that points their names there. The full tables (every Google ccTLD, Yandex...)
come from AdGuard's `$dnsrewrite` lists (`|www.google.co.uk^$dnsrewrite=NOERROR;CNAME;
forcesafesearch.google.com`), loaded from a directory at start-up; a few well-known names are
built in so safe search works without them. Names match exactly: `mail.google.com` is untouched.

The resolver answers a rewritten name with a CNAME to the safe host followed by the safe host's
own addresses, resolved through the upstream (and cached): clients see where they were sent, and
the addresses stay whatever Google or Microsoft currently publish. `A` rewrites (Yandex) are
answered with that address directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schoolgate.engine.policy.schema import ALL_GROUPS, Policy

YOUTUBE_HOSTS = {"strict": "restrict.youtube.com", "moderate": "restrictmoderate.youtube.com"}

_BUILT_IN: dict[str, dict[str, str]] = {
    "google": {
        "www.google.com": "forcesafesearch.google.com",
        "google.com": "forcesafesearch.google.com",
        "www.google.co.uk": "forcesafesearch.google.com",
        "google.co.uk": "forcesafesearch.google.com",
    },
    "bing": {"www.bing.com": "strict.bing.com", "bing.com": "strict.bing.com"},
    "duckduckgo": {
        "duckduckgo.com": "safe.duckduckgo.com",
        "www.duckduckgo.com": "safe.duckduckgo.com",
        "start.duckduckgo.com": "safe.duckduckgo.com",
    },
    "youtube": {
        name: "restrict.youtube.com"
        for name in (
            "www.youtube.com",
            "m.youtube.com",
            "youtubei.googleapis.com",
            "youtube.googleapis.com",
            "www.youtube-nocookie.com",
        )
    },
}

_ADGUARD_LINE = re.compile(
    r"^\|\|?(?P<host>[a-z0-9.-]+)\^\$dnsrewrite=NOERROR;(?P<kind>CNAME|A);(?P<value>[a-z0-9.:-]+)$",
    re.IGNORECASE,
)


class SafeSearchTableError(ValueError):
    """A safe-search table line is not a `$dnsrewrite` rule; the message says file and line."""


@dataclass(frozen=True, slots=True)
class Rewrite:
    engine: str
    kind: str
    """"CNAME" or "A"."""
    value: str


def load_adguard_tables(directory: Path) -> dict[str, Rewrite]:
    rewrites: dict[str, Rewrite] = {}
    for path in sorted(Path(directory).glob("*.txt")):
        if not path.stem.islower():  # LICENSE.txt, SOURCE.txt
            continue
        engine = path.stem
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("!"):
                continue
            match = _ADGUARD_LINE.match(line)
            if match is None:
                raise SafeSearchTableError(f"{path}:{number}: not a $dnsrewrite rule: {line!r}")
            host, value = match["host"].lower(), match["value"].lower()
            rewrites[host] = Rewrite(engine, match["kind"].upper(), value)
    return rewrites


class SafeSearch:
    """Name -> safe-search rewrite, for the groups the policy enforces safe search on."""

    def __init__(self, tables: dict[str, Rewrite] | None = None) -> None:
        rewrites = {
            host: Rewrite(engine, "CNAME", target)
            for engine, hosts in _BUILT_IN.items()
            for host, target in hosts.items()
        }
        rewrites.update(tables or {})
        self.rewrites = rewrites

    @classmethod
    def from_directory(cls, directory: Path | None) -> SafeSearch:
        return cls(load_adguard_tables(directory) if directory else None)

    def groups_for(self, policy: Policy) -> frozenset[str]:
        """Groups with safe search on: `Group.safe_search` and named in `safe_search.groups`."""
        named = set(policy.safe_search.groups)
        return frozenset(
            g.id for g in policy.groups if g.safe_search and (ALL_GROUPS in named or g.id in named)
        )

    def rewrite(self, name: str, youtube: str) -> Rewrite | None:
        rewrite = self.rewrites.get(name)
        if rewrite is None or rewrite.engine != "youtube":
            return rewrite
        if youtube == "off":
            return None
        return Rewrite("youtube", "CNAME", YOUTUBE_HOSTS[youtube])
