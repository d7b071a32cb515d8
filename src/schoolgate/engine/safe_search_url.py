"""Safe search by parameter: the search engines' own switches, set on an inspected request.

The DNS resolver already points the engines' names at their safe-search hosts; inside an
inspected HTTPS session the gateway also sets the parameter each engine documents (Google
`safe=active`, Bing `adlt=strict`, DuckDuckGo `kp=1`, Yahoo `vm=r`) and YouTube's
`YouTube-Restrict` header, overriding whatever the user chose. Pure: URL in, URL out.

Requirement ids: SH-097 (age-appropriate search for younger pupils), STM-040 (guided
searching), TM-006 (no searching for inappropriate material).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_GOOGLE = re.compile(r"^(?:www\.|images\.|m\.)?google\.(?:com|[a-z]{2}|com?\.[a-z]{2})$")
_YOUTUBE = re.compile(r"^(?:www\.|m\.|music\.)?youtube\.com$|^youtubei?\.googleapis\.com$")

_PARAMETERS: tuple[tuple[re.Pattern[str], re.Pattern[str], str, str], ...] = (
    (_GOOGLE, re.compile(r"^/(?:search|images|webhp|complete/search)?$"), "safe", "active"),
    (
        re.compile(r"^(?:www\.)?bing\.com$"),
        re.compile(r"^/(?:images/|videos/)?search$"),
        "adlt",
        "strict",
    ),
    (
        re.compile(r"^(?:www\.|html\.|lite\.)?duckduckgo\.com$"),
        re.compile(r"^/(?:html|lite)?/?$"),
        "kp",
        "1",
    ),
    (re.compile(r"^search\.yahoo\.com$"), re.compile(r"^/search"), "vm", "r"),
)


@dataclass(frozen=True, slots=True)
class SafeSearchRewrite:
    url: str
    headers: tuple[tuple[str, str], ...] = ()


def enforce_safe_search(url: str, youtube: str = "strict") -> SafeSearchRewrite:
    """`url` with the engine's safe-search parameter set, plus any header to add."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _YOUTUBE.match(host) and youtube in ("strict", "moderate"):
        return SafeSearchRewrite(url, (("YouTube-Restrict", youtube.capitalize()),))
    for host_pattern, path_pattern, name, value in _PARAMETERS:
        if host_pattern.match(host) and path_pattern.match(parts.path or "/"):
            query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
            query.append((name, value))
            return SafeSearchRewrite(urlunsplit(parts._replace(query=urlencode(query))))
    return SafeSearchRewrite(url)
