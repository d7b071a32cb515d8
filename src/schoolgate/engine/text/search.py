"""Finding the words someone typed into a search engine, from the URL their browser asked for.

`extract_search(target)` returns a `SearchQuery(engine, query)` for a search-results (or
autocomplete) URL of a known engine, and `None` for every other URL. The query is fully decoded
(`+` and percent escapes) but otherwise as typed; `normalise` (text/normalise.py) prepares it for
keyword scanning.

Engines: Google (every ccTLD, e.g. google.co.uk, google.com.au), Bing, DuckDuckGo, YouTube,
Yahoo, Ecosia, Startpage, Brave, Yandex, Baidu, Wikipedia, Qwant, Ask, plus the search boxes of
TikTok, Reddit, Pinterest, X/Twitter and Instagram (hashtag pages are a search in path form).

Only the search page itself counts: `google.com/url?q=...` is a redirect carrying a URL, and
`mail.google.com/?q=` is not a web search, so neither yields a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote_plus

from schoolgate.engine.targets import Target

MAX_QUERY_CHARS = 2048
"""Longer values are cut: nobody types more, and scanning time must stay bounded."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    engine: str
    query: str


@dataclass(frozen=True, slots=True)
class _Engine:
    name: str
    host: re.Pattern[str]
    path: re.Pattern[str]
    params: tuple[str, ...]
    path_query: re.Pattern[str] | None = None
    """For path forms: a pattern whose group 1 is the (percent-encoded) query."""


def _host(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"^(?:{pattern})$")


def _path(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"^(?:{pattern})/?$", re.IGNORECASE)


_GOOGLE_TLD = r"google\.(?:com|[a-z]{2}|com?\.[a-z]{2})"
_YANDEX_TLD = r"yandex\.(?:com|ru|by|kz|ua|uz|com\.tr|az|fr|eu)|ya\.ru"

_ENGINES: tuple[_Engine, ...] = (
    _Engine(
        "google",
        _host(rf"(?:(?:www|m|images|scholar|news|books|video)\.)?{_GOOGLE_TLD}"),
        _path(r"|/search|/webhp|/images|/imghp|/scholar|/m|/m/search|/complete/search"),
        ("q",),
    ),
    _Engine(
        "bing",
        _host(r"(?:www\.|cn\.)?bing\.com"),
        _path(r"/search|/images/search|/videos/search|/news/search|/shop|/AS/Suggestions"),
        ("q",),
    ),
    _Engine(
        "duckduckgo",
        _host(r"(?:www\.|html\.|lite\.|start\.|safe\.)?duckduckgo\.com"),
        _path(r"|/html|/lite|/ac"),
        ("q",),
    ),
    _Engine(
        "youtube",
        _host(r"(?:www\.|m\.)?youtube\.com|youtube-nocookie\.com"),
        _path(r"/results|/search"),
        ("search_query", "q"),
    ),
    _Engine("youtube", _host(r"music\.youtube\.com"), _path(r"/search"), ("q",)),
    _Engine(
        "yahoo",
        _host(r"(?:[a-z]{2}\.)?(?:search|images\.search|video\.search)\.yahoo\.com"),
        _path(r"/search|/yhs/search|/search/images|/search/video"),
        ("p", "q"),
    ),
    _Engine("ecosia", _host(r"(?:www\.)?ecosia\.org"), _path(r"/search|/images|/videos"), ("q",)),
    _Engine(
        "startpage",
        _host(r"(?:www\.|eu\.|us\.)?startpage\.com"),
        _path(r"/sp/search|/do/search|/do/dsearch|/search"),
        ("query", "q"),
    ),
    _Engine(
        "brave",
        _host(r"search\.brave\.com"),
        _path(r"/search|/images|/videos|/news"),
        ("q",),
    ),
    _Engine(
        "yandex",
        _host(rf"(?:www\.)?(?:{_YANDEX_TLD})"),
        _path(r"/search|/search/touch|/images/search|/video/search"),
        ("text",),
    ),
    _Engine("baidu", _host(r"(?:www\.|m\.)?baidu\.com"), _path(r"/s|/from=\d+/s"), ("wd", "word")),
    _Engine(
        "wikipedia",
        _host(r"(?:[a-z]{2,3}(?:-[a-z]+)?\.)?(?:m\.)?wikipedia\.org"),
        _path(r"/w/index\.php|/wiki/Special:Search|/w/api\.php"),
        ("search",),
        re.compile(r"^/wiki/Special:Search/([^?#]+)", re.IGNORECASE),
    ),
    _Engine("qwant", _host(r"(?:www\.|lite\.)?qwant\.com"), _path(r"|/search"), ("q",)),
    _Engine("ask", _host(r"(?:www\.|uk\.)?ask\.com"), _path(r"/web|/search"), ("q",)),
    _Engine(
        "tiktok",
        _host(r"(?:www\.|m\.)?tiktok\.com"),
        _path(r"/search|/search/video|/search/user"),
        ("q",),
        re.compile(r"^/tag/([^/?#]+)", re.IGNORECASE),
    ),
    _Engine("reddit", _host(r"(?:www\.|old\.|new\.)?reddit\.com"), _path(r"/search"), ("q",)),
    _Engine(
        "pinterest",
        _host(r"(?:[a-z]{2}\.|www\.)?pinterest\.(?:com|co\.uk|[a-z]{2})"),
        _path(r"/search/pins|/search/boards|/search/users|/search"),
        ("q",),
    ),
    _Engine(
        "x",
        _host(r"(?:www\.|mobile\.)?(?:twitter|x)\.com"),
        _path(r"/search|/hashtag/[^/]+"),
        ("q",),
        re.compile(r"^/hashtag/([^/?#]+)", re.IGNORECASE),
    ),
    _Engine(
        "instagram",
        _host(r"(?:www\.)?instagram\.com"),
        re.compile(r"^$"),
        (),
        re.compile(r"^/explore/tags/([^/?#]+)", re.IGNORECASE),
    ),
)


_ANY_ENGINE_HOST = re.compile("|".join(f"(?:{engine.host.pattern})" for engine in _ENGINES))
"""One match tells most hosts they are no search engine, instead of one match per engine."""


def extract_search(target: Target) -> SearchQuery | None:
    """The search typed into a known search engine, or None if `target` is not a search."""
    if target.is_ip or not _ANY_ENGINE_HOST.match(target.host):
        return None
    path, _, _ = target.path.partition("?")
    for engine in _ENGINES:
        if not engine.host.match(target.host):
            continue
        query = _from_path(engine, path) or _from_params(engine, path, target.raw_query)
        if query:
            return SearchQuery(engine.name, query)
    return None


def _from_params(engine: _Engine, path: str, raw_query: str) -> str | None:
    if not raw_query or not engine.params or not engine.path.match(_trim_path(path)):
        return None
    values = parse_qs(raw_query, keep_blank_values=False, errors="replace")
    for name in engine.params:
        for value in values.get(name, ()):
            query = _clean(value)
            if query:
                return query
    return None


def _from_path(engine: _Engine, path: str) -> str | None:
    if engine.path_query is None:
        return None
    match = engine.path_query.match(path)
    if not match:
        return None
    return _clean(unquote_plus(match.group(1), errors="replace").replace("_", " "))


def _trim_path(path: str) -> str:
    """`/search/` and `/search` are the same page; `/` is the empty pattern."""
    return path.rstrip("/")


def _clean(value: str) -> str:
    return " ".join(value.split())[:MAX_QUERY_CHARS]
