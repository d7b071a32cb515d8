"""Query packets for the DNS fast lane's differential tests (`test_dns_fast_lane.py`, issue 9):
plain ones in every header and EDNS variant, ones the lane must hand to the handler chain, and
odd but well-formed ones, ones for a misbehaving upstream, and the property test's names. All
carry the same fixed ID, so answers compare byte for byte."""

from __future__ import annotations

import os
import struct
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.rcode
from hypothesis import strategies as st

from tests.gateway.fast_lane_support import GAMBLING

QID = 0x5A5A
COOKIE = dns.edns.GenericOption(10, bytes(range(8)))  # an RFC 7873 client cookie
PROBE = dns.edns.GenericOption(65432, b"")  # wire.SELFTEST_OPTION
EDNS: dict[str, dict[str, Any]] = {
    "plain": {},
    "edns": {"use_edns": 0},
    "do": {"use_edns": 0, "want_dnssec": True},
    "cookie": {"use_edns": 0, "options": [COOKIE]},
    "4096": {"use_edns": 0, "payload": 4096},
}
VARIANTS: dict[str, dict[str, Any]] = {
    **EDNS,
    "no RD": {"flags": 0},
    "AD and CD": {"flags": dns.flags.RD | dns.flags.AD | dns.flags.CD, "use_edns": 0},
    "EDNS version 1": {"use_edns": 1},
    "payload 256": {"use_edns": 0, "payload": 256},
}


def query(name: str, rtype: str = "A", **edns: Any) -> bytes:
    message = dns.message.make_query(name, rtype, **edns)
    message.id = QID
    return message.to_wire()


def raw(labels: list[bytes], qtype: int = 1, qclass: int = 1, *, flags: int = 0x0100) -> bytes:
    """A query built byte by byte, for names and headers dnspython would not write."""
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    return struct.pack(">HHHHHH", QID, flags, 1, 0, 0, 0) + name + struct.pack(">HH", qtype, qclass)


def _header(qdcount: int = 1, ancount: int = 0, flags: int = 0x0100) -> bytes:
    return struct.pack(">HHHHHH", QID, flags, qdcount, ancount, 0, 0)


PUNTED: dict[str, bytes] = {
    # Names some handler treats specially: the lane must punt them.
    "site list, blocked": query("listed.test"),
    "site list, warned": query("www.Warn.test", "AAAA"),
    "DoH endpoint": query("dns.google", **EDNS["edns"]),
    "DoH canary": query("use-application-dns.net"),
    "safe search CNAME": query("www.google.com"),
    "safe search AAAA": query("WWW.google.com", "AAAA", use_edns=0),
    "safe search address": query("www.ya.ru"),
    "self-test probe, blocked": query("blocked.example", use_edns=0, options=[PROBE]),
    "self-test probe, allowed": query("allowed.example", use_edns=0, options=[COOKIE, PROBE]),
    "quote": raw([b'a"b', b"example"]),
    "backslash": raw([b"a\\b", b"blocked", b"example"]),
    "control character": raw([b"a\x01b", b"example"]),
    "space": raw([b"a b", b"example"]),
    "non-ASCII": raw([b"caf\xc3\xa9", b"example"]),
    "dot in a label": raw([b"blocked.example"]),
    "name over 255 bytes": raw([b"a" * 63] * 4 + [b"blocked", b"example"]),
    "root": raw([], qtype=2),
    "class CH": raw([b"version", b"bind"], qtype=16, qclass=3),
    "class ANY": raw([b"blocked", b"example"], qclass=255),
    "two questions": _header(2) + raw([b"blocked", b"example"])[12:] * 2,
    "an answer record": _header(ancount=1) + raw([b"blocked", b"example"])[12:],
    "opcode STATUS": raw([b"blocked", b"example"], flags=0x1100),
    "a response": raw([b"blocked", b"example"], flags=0x8100),
    "compressed question": _header() + b"\xc0\x0c\x00\x01\x00\x01",
    "truncated question": raw([b"blocked", b"example"])[:-2],
    "truncated OPT": query("blocked.example", use_edns=0)[:-3],
    "short header": b"\x5a\x5a\x01\x00",
}


def _with_additional(packet: bytes, record: bytes) -> bytes:
    """`packet` with one more additional record."""
    count = int.from_bytes(packet[10:12], "big") + 1
    return packet[:10] + count.to_bytes(2, "big") + packet[12:] + record


def opt(rdata: bytes, owner: bytes = b"\x00") -> bytes:
    """An OPT record (payload 1232) with these options."""
    return owner + struct.pack(">HHIH", 41, 1232, 0, len(rdata)) + rdata


LONG = ".".join(["a" * 63, "B" * 63, "c" * 63, "d" * 45, "blocked", "example"])  # 253 bytes
ODD_BUT_PLAIN: dict[str, bytes] = {
    # The lane may answer these or punt them; either way the answer must be the chain's.
    "underscore, allowed": raw([b"_dmarc", b"allowed", b"example"]),
    "underscore, blocked": raw([b"_Srv", b"_tcp", b"blocked", b"example"]),
    "hyphens at the ends": raw([b"-a-", b"blocked", b"example"]),
    "one label": raw([b"Localhost"]),
    "digits": raw([b"127", b"0", b"0", b"1"]),
    "longest name": query(LONG),
    "qtype 0": raw([b"blocked", b"example"], qtype=0),
    "qtype OPT": raw([b"n1", b"blocked", b"example"], qtype=41),
    "AXFR": raw([b"blocked", b"example"], qtype=252),
    "IXFR, allowed": raw([b"allowed", b"example"], qtype=251),
    "trailing bytes": query("n2.blocked.example") + b"\x00\x01\x02",
    "OPT then an A record": _with_additional(
        query("n3.blocked.example", use_edns=0),
        b"\x00\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x7f\x00\x00\x01",
    ),
    "two OPT records": _with_additional(
        query("n4.blocked.example", use_edns=0), b"\x00\x00\x29\x04\xd0" + bytes(6)
    ),
    "OPT with Z bits": query("n5.blocked.example", use_edns=0, ednsflags=0x7FFF),
    "extended RCODE in OPT": query("n6.blocked.example", use_edns=0, ednsflags=0x01000000),
    "OPT owned by a name": _with_additional(query("n8.blocked.example"), opt(b"", b"\x01a\x00")),
    "option longer than the OPT": _with_additional(
        query("n9.allowed.example"), opt(struct.pack(">HH", 10, 100))
    ),
    "probe inside a cookie": _with_additional(
        query("n10.allowed.example"), opt(struct.pack(">HHHH", 10, 4, 65432, 0))
    ),
    "probe after a short option": _with_additional(
        query("n11.allowed.example"), opt(struct.pack(">HHBHH", 10, 1, 0, 65432, 0))
    ),
    "an A record, no OPT": _with_additional(
        query("n12.blocked.example"),
        b"\x00\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x7f\x00\x00\x01",
    ),
    "empty OPT option": query(
        "n7.blocked.example", use_edns=0, options=[dns.edns.GenericOption(3, b"")]
    ),
}


def numbered(names: list[str]) -> list[bytes]:
    """A query for each name, IDs 0, 1, 2..."""
    packets = []
    for index, name in enumerate(names):
        message = dns.message.make_query(name, "A")
        message.id = index
        packets.append(message.to_wire())
    return packets


def rcode(answer: bytes | None) -> int:
    assert answer is not None
    return dns.message.from_wire(answer).rcode()


def addresses(answer: bytes | None) -> list[str]:
    assert answer is not None
    message = dns.message.from_wire(answer)
    return sorted(r.to_text() for rrset in message.answer for r in rrset if rrset.rdtype in (1, 28))


# The upstream misbehaving: (the pair's options, the queries, their answers' RCODEs).
UPSTREAM_CASES: dict[str, tuple[dict[str, Any], list[bytes], list[int]]] = {
    "silent": (
        {"upstream_silent": True, "timeout": 0.2, "retries": 1},
        [query("n1.allowed.example", "AAAA", use_edns=0), query("n1.blocked.example")],
        [dns.rcode.SERVFAIL, dns.rcode.NOERROR],
    ),
    "the first of two silent": (
        {"silent_first": True, "timeout": 0.2, "retries": 1},
        [query("n1.allowed.example"), query("allowed.example"), query("n2.allowed.example")],
        [dns.rcode.NXDOMAIN, dns.rcode.NOERROR, dns.rcode.NXDOMAIN],
    ),
    "truncated": (  # fits 4096, is cut to fit 1232 from the cache, is truncated without EDNS
        {},
        [
            query("big.example", "TXT", use_edns=0, payload=4096),
            query("big.example", "TXT", use_edns=0),
            query("BIG.example", "TXT"),
        ],
        [dns.rcode.NOERROR] * 3,
    ),
    "oversize": (  # sent whole over UDP whatever the payload: cut to fit by the server
        {},
        [
            query("oversize.allowed.example", "TXT"),
            query("oversize.allowed.example", "TXT", use_edns=0),
            query("big.allowed.example", "TXT", use_edns=0, payload=4096),
            query("oversize.allowed.example", "TXT", use_edns=0, want_dnssec=True, payload=4096),
        ],
        [dns.rcode.NOERROR] * 4,
    ),
    "answering another question": (
        {"timeout": 0.5, "retries": 1},
        [query("wrong.allowed.example")],
        [dns.rcode.SERVFAIL],
    ),
}


# Plain names for the property test: 1-5 LDH labels, some under listed domains, any case.
LABEL = (
    st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")
    | st.from_regex(r"\A[a-z0-9][a-z0-9-]{11,61}[a-z0-9]\Z")
    | st.sampled_from(
        ["casino", "best-poker", "free-vpn", "pornhub", "proxy-site", "xn--80ak6aa92e", "_tcp"]
    )
)
SUFFIXES = ["", "blocked.example", "games.example", "adult.games.example", "allowed.example"]
SUFFIXES += list(GAMBLING[::3])
EXAMPLES = int(os.environ.get("SCHOOLGATE_LANE_EXAMPLES", "200"))
QTYPES = ["A", "AAAA", "MX", "TXT", "HTTPS", "ANY", "NS", "SOA", "SRV", "CAA", "PTR"]


@st.composite
def plain_names(draw: st.DrawFn) -> str:
    suffix = draw(st.sampled_from(SUFFIXES))
    room = 5 - (suffix.count(".") + 1 if suffix else 0)
    labels = draw(st.lists(LABEL, min_size=0 if suffix else 1, max_size=room))
    name = ".".join([*labels, suffix] if suffix else labels)
    while len(name) > 253:  # the longest name there is
        name = name.split(".", 1)[1]
    mask = draw(st.integers(0, 2 ** len(name) - 1))
    return "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(name))


@st.composite
def batches(draw: st.DrawFn) -> list[bytes]:
    """Up to 40 queries for one batch (IDs 0, 1, 2...): mostly plain ones, some the lane must
    punt or may find odd; none that is dropped unanswered."""
    answered = [p for why, p in {**PUNTED, **ODD_BUT_PLAIN}.items() if why not in DROPPED]
    plain = st.builds(
        lambda name, rtype, variant: query(name, rtype, **VARIANTS[variant]),
        plain_names(),
        st.sampled_from(QTYPES),
        st.sampled_from(sorted(VARIANTS)),
    )
    packets = draw(st.lists(st.one_of(plain, plain, plain, st.sampled_from(answered)), max_size=40))
    return [index.to_bytes(2, "big") + packet[2:] for index, packet in enumerate(packets)]


DROPPED = {"a response", "short header"}
