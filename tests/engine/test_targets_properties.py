"""Property tests for URL and host normalisation: every spelling of a site is the same target."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

import idna
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schoolgate.engine.lists.index import CategoryIndex
from schoolgate.engine.targets import Target, TargetError, _parse_target_slow, parse_target

LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
TLD = st.sampled_from(["com", "org", "net", "uk", "co.uk", "io", "example", "xn--p1ai"])
HOST = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, min_size=1, max_size=4), TLD
)
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
PATH = st.lists(st.text(UNRESERVED, min_size=1, max_size=8), max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
UNICODE_LABEL = st.sampled_from(
    ["bücher", "münchen", "日本語", "пример", "straße", "café", "ñandú"]
)


def _random_case(text: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if flip else c for c, flip in zip(text, flips * len(text), strict=False)
    )


@given(HOST, st.lists(st.booleans(), min_size=1, max_size=8), st.booleans())
def test_case_and_trailing_dot_do_not_change_the_host(host: str, flips, dot: bool) -> None:
    spelled = _random_case(host, flips) + ("." if dot else "")
    assert parse_target(spelled).host == host
    assert parse_target(f"HTTPS://{spelled}/x").host == host


@given(HOST, st.integers(0, 65535), PATH)
def test_ports_are_not_part_of_the_host(host: str, port: int, path: str) -> None:
    target = parse_target(f"http://{host}:{port}{path}")
    assert (target.host, target.port, target.path) == (host, port, path)


@given(HOST, st.integers(65536, 10**6))
def test_impossible_ports_are_refused(host: str, port: int) -> None:
    try:
        parse_target(f"http://{host}:{port}/")
    except TargetError:
        return
    raise AssertionError("port out of range accepted")


@given(HOST, HOST, st.sampled_from(["", ":secret"]))
def test_userinfo_never_becomes_the_host(decoy: str, real: str, password: str) -> None:
    # `http://good.example@evil.example/` goes to evil.example.
    assert parse_target(f"http://{decoy}{password}@{real}/page").host == real


@given(HOST, HOST)
def test_backslash_is_a_path_separator_as_in_browsers(first: str, second: str) -> None:
    # Browsers send `http://a.example\@b.example/` to a.example: so must the filter decide on it.
    assert parse_target(f"http://{first}\\@{second}/").host == first


@given(st.lists(UNICODE_LABEL, min_size=1, max_size=2), TLD, st.booleans())
def test_idna_spellings_agree(labels: list[str], tld: str, upper: bool) -> None:
    unicode_host = ".".join([*labels, tld])
    ascii_host = idna.encode(unicode_host, uts46=True).decode("ascii")
    spelled = unicode_host.upper() if upper else unicode_host
    assume(spelled.lower() == unicode_host)  # "STRASSE" is another name than "straße"
    assert parse_target(spelled).host == ascii_host
    assert parse_target(f"https://{ascii_host.upper()}/").host == ascii_host
    index = CategoryIndex()
    index.add_domain(ascii_host, "gambling")
    assert index.categories_for(parse_target(f"http://www.{spelled}/")) == {"gambling"}


@given(HOST, PATH)
def test_percent_encoded_unreserved_characters_are_decoded(host: str, path: str) -> None:
    encoded = "".join(f"%{ord(c):02X}" if c != "/" else c for c in path)
    assert parse_target(f"http://{host}{encoded}").path == path
    encoded_host = "".join(f"%{ord(c):02x}" if c != "." else c for c in host)
    assert parse_target(f"http://{encoded_host}/").host == host


@given(HOST, st.text(min_size=1, max_size=10))
def test_escapes_of_reserved_characters_stay_escaped(host: str, text: str) -> None:
    path = parse_target(f"http://{host}/{quote(text, safe='')}").path
    assert "/" not in path[1:] or "%2F" in quote(text, safe="")
    assert parse_target(f"http://{host}{path}").path == path  # normalising twice changes nothing


@given(st.integers(0, 2**32 - 1))
def test_every_ipv4_spelling_is_the_same_address(value: int) -> None:
    address = str(ipaddress.IPv4Address(value))
    octets = address.split(".")
    spellings = [
        address,
        str(value),
        hex(value),
        ".".join(f"0{int(o):o}" for o in octets),
        ".".join(hex(int(o)) for o in octets),
        f"{octets[0]}.{int(octets[1]) * 65536 + int(octets[2]) * 256 + int(octets[3])}",
    ]
    for spelling in spellings:
        target = parse_target(f"http://{spelling}/")
        assert (target.host, target.is_ip) == (address, True), spelling


@given(st.integers(0, 2**128 - 1))
def test_ipv6_spellings_are_the_same_address(value: int) -> None:
    address = ipaddress.IPv6Address(value)
    hosts = set()
    for spelling in (address.exploded, address.compressed, address.exploded.upper()):
        target = parse_target(f"https://[{spelling}]:443/")
        assert (target.is_ip, target.port) == (True, 443)
        hosts.add(target.host)
    assert len(hosts) == 1
    host = hosts.pop()
    assert host == address.compressed or ipaddress.ip_address(host).version == 4


EMBEDDING_PREFIXES = {
    "mapped": lambda v4: f"::ffff:{v4}",
    "compatible": lambda v4: f"::{v4}",
    "nat64": lambda v4: f"64:ff9b::{v4}",
}


@given(st.integers(2, 2**32 - 1), st.sampled_from(sorted(EMBEDDING_PREFIXES)), st.booleans())
def test_ipv6_literals_that_reach_an_ipv4_host_are_that_host(
    value: int, family: str, dotted: bool
) -> None:
    """Issue 9 (1): `[::ffff:a.b.c.d]` reached a blocked IPv4 site: every IPv6 form that routes
    to an IPv4 host is decided as the IPv4 address, whatever its spelling."""
    v4 = ipaddress.IPv4Address(value)
    literal = ipaddress.IPv6Address(EMBEDDING_PREFIXES[family](v4))
    spelling = EMBEDDING_PREFIXES[family](v4) if dotted else literal.exploded
    assert parse_target(f"http://[{spelling}]/x").host == str(v4)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**80 - 1))
def test_6to4_literals_are_their_ipv4_host(value: int, rest: int) -> None:
    literal = ipaddress.IPv6Address((0x2002 << 112) | (value << 80) | rest)
    assert parse_target(f"http://[{literal}]/").host == str(ipaddress.IPv4Address(value))


@given(
    st.lists(st.from_regex(r"0?[0-9]{1,4}|0x[0-9a-f]{1,3}", fullmatch=True), min_size=1, max_size=4)
)
def test_dotted_numbers_give_an_address_or_a_target_error(parts: list[str]) -> None:
    """Issue 9 (7): `08.0.0.5` crashed `check` and the proxy: any dotted number is an IPv4
    address or a clear TargetError, never another exception."""
    try:
        target = parse_target(f"http://{'.'.join(parts)}/")
    except TargetError as exc:
        assert "IPv4" in str(exc) or "label" in str(exc)
        return
    assert target.is_ip and ipaddress.ip_address(target.host).version == 4


@given(HOST, st.lists(LABEL, max_size=3), PATH)
def test_listed_domain_covers_subdomains_but_not_lookalikes(host, sub, path) -> None:
    index = CategoryIndex()
    index.add_domain(host, "gambling")
    full = ".".join([*sub, host])
    assert index.categories_for(parse_target(f"https://{full}{path}")) == {"gambling"}
    assert index.categories_for(parse_target(f"https://x{host}{path}")) == set()


@given(HOST, PATH, PATH)
def test_url_prefix_matches_below_it_only(host: str, prefix: str, rest: str) -> None:
    assume(prefix != "/")
    index = CategoryIndex()
    index.add_url(host + prefix, "piracy")
    assert index.categories_for(parse_target(f"http://{host}{prefix}{rest}")) == {"piracy"}
    assert index.categories_for(parse_target(f"http://{host}{prefix}x{rest}")) == set()
    assert index.categories_for(parse_target(f"http://{host}{prefix.upper()}")) == {"piracy"}


SIMPLE_URL = st.builds(
    lambda scheme, host, dot, port, path, query: f"{scheme}://{host}{dot}{port}{path}{query}",
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    st.one_of(HOST, HOST.map(str.upper), st.from_regex(r"[a-zA-Z0-9_.-]{1,30}", fullmatch=True)),
    st.sampled_from(["", "."]),
    st.one_of(st.just(""), st.integers(0, 99999).map(lambda p: f":{p}")),
    st.one_of(st.just(""), PATH, st.from_regex(r"/[!-~]{0,20}", fullmatch=True)),
    st.sampled_from(["", "?", "?q=1", "?a=b&c=d?e"]),
)


def _outcome(parse, text: str) -> Target | str:
    try:
        return parse(text)
    except TargetError:
        return "error"


@settings(max_examples=500)
@given(SIMPLE_URL)
def test_fast_path_agrees_with_the_full_parser(url: str) -> None:
    assert _outcome(parse_target, url) == _outcome(_parse_target_slow, url)


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_text_gives_a_target_or_a_target_error(text: str) -> None:
    try:
        target = parse_target(text)
    except TargetError:
        return
    assert target.host and target.path.startswith("/")
    assert target.host == target.host.lower()
    assert (
        _outcome(parse_target, f"{target.scheme}://{target.url}")
        == Target(target.host, target.path, target.scheme, None, target.is_ip, target.raw_query)
        or target.is_ip
    )


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), HOST)
def test_arbitrary_paths_never_crash(junk: str, host: str) -> None:
    _outcome(parse_target, f"http://{host}/{junk}")
    _outcome(parse_target, f"{junk}://{host}")
    _outcome(parse_target, f"http://{junk}@{host}:{len(junk)}")
