"""Search-term extraction from search-engine URLs."""

from __future__ import annotations

import pytest

from schoolgate.engine.targets import parse_target
from schoolgate.engine.text.search import SearchQuery, extract_search


def search(url: str) -> SearchQuery | None:
    return extract_search(parse_target(url))


@pytest.mark.parametrize(
    ("url", "engine", "query"),
    [
        (
            "https://www.google.com/search?q=how+to+tie+a+noose&hl=en",
            "google",
            "how to tie a noose",
        ),
        ("https://www.google.co.uk/search?client=firefox&q=self%20harm", "google", "self harm"),
        ("https://google.com.au/search?q=caf%C3%A9+menu", "google", "café menu"),
        ("https://www.google.de/webhp?q=wetter", "google", "wetter"),
        ("https://images.google.fr/images?q=chat", "google", "chat"),
        ("https://www.google.com/complete/search?q=how+to+k&client=gws", "google", "how to k"),
        ("https://www.bing.com/search?q=kill+myself&form=QBLH", "bing", "kill myself"),
        ("https://www.bing.com/images/search?q=cats", "bing", "cats"),
        ("https://duckduckgo.com/?q=buy+weed&t=h_", "duckduckgo", "buy weed"),
        ("https://html.duckduckgo.com/html/?q=isis", "duckduckgo", "isis"),
        (
            "https://www.youtube.com/results?search_query=minecraft+tips",
            "youtube",
            "minecraft tips",
        ),
        ("https://m.youtube.com/results?search_query=a%26b", "youtube", "a&b"),
        ("https://music.youtube.com/search?q=adele", "youtube", "adele"),
        ("https://uk.search.yahoo.com/search?p=zombie+knife&fr=yfp", "yahoo", "zombie knife"),
        ("https://www.ecosia.org/search?method=index&q=trees", "ecosia", "trees"),
        ("https://www.startpage.com/sp/search?query=vpn+free", "startpage", "vpn free"),
        ("https://www.startpage.com/do/dsearch?query=proxy", "startpage", "proxy"),
        ("https://search.brave.com/search?q=pipe+bomb&source=web", "brave", "pipe bomb"),
        ("https://yandex.ru/search/?text=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82", "yandex", "привет"),
        ("https://yandex.com/images/search?text=dogs", "yandex", "dogs"),
        ("https://www.baidu.com/s?wd=%E4%BD%A0%E5%A5%BD", "baidu", "你好"),
        ("https://m.baidu.com/s?word=hello", "baidu", "hello"),
        ("https://en.wikipedia.org/w/index.php?search=Magna+Carta", "wikipedia", "Magna Carta"),
        ("https://en.wikipedia.org/wiki/Special:Search?search=x+y", "wikipedia", "x y"),
        (
            "https://en.wikipedia.org/wiki/Special:Search/Battle_of_Hastings",
            "wikipedia",
            "Battle of Hastings",
        ),
        ("https://en.m.wikipedia.org/w/index.php?search=tudors", "wikipedia", "tudors"),
        ("https://www.qwant.com/?q=volcano&t=web", "qwant", "volcano"),
        ("https://www.ask.com/web?q=homework+help", "ask", "homework help"),
        ("https://www.tiktok.com/search?q=blackout+challenge", "tiktok", "blackout challenge"),
        ("https://www.tiktok.com/tag/thinspo", "tiktok", "thinspo"),
        ("https://www.reddit.com/search/?q=vape", "reddit", "vape"),
        ("https://x.com/hashtag/whitegenocide", "x", "whitegenocide"),
        ("https://www.instagram.com/explore/tags/proana/", "instagram", "proana"),
        ("https://www.pinterest.co.uk/search/pins/?q=cakes", "pinterest", "cakes"),
    ],
)
def test_extracts_query_per_engine(url: str, engine: str, query: str) -> None:
    assert search(url) == SearchQuery(engine, query)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.google.com/url?q=https://example.com/&sa=U",  # a redirect, not a search
        "https://mail.google.com/mail/?q=isis",  # mailbox search, not the web
        "https://docs.google.com/search?q=x",
        "https://www.google.com/search?hl=en",  # no query
        "https://www.google.com/search?q=+++",  # blank query
        "https://www.google.com.evil.example/search?q=x",  # look-alike host
        "https://notgoogle.com/search?q=x",
        "https://www.bing.com/maps?q=leeds",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://example.com/search?q=suicide",  # unknown engine
        "https://8.8.8.8/search?q=x",
        "https://www.instagram.com/someone/",
    ],
)
def test_ignores_urls_that_are_not_searches(url: str) -> None:
    assert search(url) is None


def test_decodes_plus_and_percent_and_collapses_whitespace() -> None:
    found = search("https://www.google.com/search?q=k%31ll++my%20self%0A")
    assert found == SearchQuery("google", "k1ll my self")


def test_bare_host_and_path_form_of_target() -> None:
    assert search("www.google.co.uk/search?q=test") == SearchQuery("google", "test")


def test_overlong_queries_are_cut() -> None:
    found = search("https://www.bing.com/search?q=" + "a" * 5000)
    assert found is not None
    assert len(found.query) == 2048
