"""Built-in host sets for HTTPS inspection: what `@search-engines` or `@banking` mean in a
policy's `https.inspect` / `https.never_inspect` lists, and how an entry is checked.

The protected sets — banking, health, government and apps that pin their certificates — are
never inspected, whatever the policy says: a school filter must not hold the keys to pupils' and
staff's bank accounts, medical records or dealings with the state, and decrypting an app that
pins its certificate only breaks the app. The policy's support services are protected the same
way (`engine/inspection.py`). The sets are host suffixes (an entry covers its subdomains) plus,
for Google's many country domains, one pattern.

Requirement ids: STM-079 and STM-210 (users are told their use is monitored), SH-024 (search
terms scanned against the PREVENT keywords), TM-006 (no searching for inappropriate material).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schoolgate.engine.targets import TargetError, parse_target
from schoolgate.engine.taxonomy import CATEGORIES


@dataclass(frozen=True, slots=True)
class HostSet:
    name: str
    title: str
    suffixes: frozenset[str]
    categories: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = field(default=())


SETS: dict[str, HostSet] = {
    s.name: s
    for s in (
        HostSet(
            "search-engines",
            "Search engines",
            frozenset(
                {
                    "google.com",
                    "google.co.uk",
                    "bing.com",
                    "duckduckgo.com",
                    "search.yahoo.com",
                    "ecosia.org",
                    "startpage.com",
                    "search.brave.com",
                    "yandex.com",
                    "yandex.ru",
                    "baidu.com",
                    "qwant.com",
                    "ask.com",
                }
            ),
            patterns=(re.compile(r"^(?:[a-z0-9-]+\.)*google\.(?:[a-z]{2}|com?\.[a-z]{2})$"),),
        ),
        HostSet(
            "youtube",
            "YouTube",
            frozenset(
                {
                    "youtube.com",
                    "youtube-nocookie.com",
                    "youtubei.googleapis.com",
                    "youtube.googleapis.com",
                }
            ),
        ),
        HostSet(
            "banking",
            "Banking and payments",
            frozenset(
                {
                    "barclays.co.uk",
                    "hsbc.co.uk",
                    "lloydsbank.com",
                    "natwest.com",
                    "rbs.co.uk",
                    "santander.co.uk",
                    "nationwide.co.uk",
                    "halifax.co.uk",
                    "tsb.co.uk",
                    "monzo.com",
                    "starlingbank.com",
                    "revolut.com",
                    "paypal.com",
                    "stripe.com",
                    "parentpay.com",
                    "scopay.com",
                }
            ),
            categories=frozenset({"banking", "financial"}),
        ),
        HostSet(
            "health",
            "Health services",
            frozenset(
                {
                    "nhs.uk",
                    "nhs.net",
                    "nhs.scot",
                    "nhs.wales",
                    "nhsinform.scot",
                    "hscni.net",
                    "patient.info",
                    "gpsurgery.net",
                }
            ),
        ),
        HostSet(
            "government",
            "Government and police",
            frozenset(
                {
                    "gov.uk",
                    "gov.scot",
                    "gov.wales",
                    "llyw.cymru",
                    "police.uk",
                    "parliament.uk",
                    "gov",
                    "europa.eu",
                }
            ),
        ),
        HostSet(
            "pinned-apps",
            "Apps that pin their certificates",
            frozenset(
                {
                    "apple.com",
                    "icloud.com",
                    "mzstatic.com",
                    "whatsapp.com",
                    "whatsapp.net",
                    "signal.org",
                    "dropbox.com",
                    "dropboxapi.com",
                    "snapchat.com",
                    "login.microsoftonline.com",
                    "login.live.com",
                    "windowsupdate.com",
                    "update.microsoft.com",
                    "aus5.mozilla.org",
                    "zoom.us",
                }
            ),
        ),
    )
}

PROTECTED_SETS: tuple[str, ...] = ("banking", "health", "government", "pinned-apps")
"""Never inspected, whatever the policy's lists say."""


def entry_problem(entry: str) -> str | None:
    """Why `entry` is not a valid `https.inspect` / `never_inspect` entry, or None."""
    if entry.startswith("@"):
        if entry[1:] not in SETS:
            return f"unknown host set; the sets are {', '.join('@' + n for n in SETS)}"
        return None
    if entry.startswith("category:"):
        category = entry.removeprefix("category:")
        if category not in CATEGORIES:
            return f"unknown category {category!r}; see `schoolgate categories`"
        return None
    if "/" in entry or "?" in entry or ":" in entry:
        return "give a host name (it covers its subdomains), `category:<id>` or `@<set>`"
    try:
        parse_target(entry)
    except TargetError as exc:
        return f"not a host name: {exc}"
    return None


def host_name(entry: str) -> str:
    """A host entry as decisions name hosts (lower case, IDNA, no trailing dot)."""
    return parse_target(entry).host
