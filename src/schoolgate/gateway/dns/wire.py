"""Just enough of the DNS wire format (RFC 1035, EDNS from RFC 6891) for a filtering forwarder.

Parsing a query reads the header, the one question and any OPT record, and nothing more; answers
are built by appending records to the client's own question, pointing back at its name
(offset 12), so the common cases cost a few slices and one `struct.pack`. Anything malformed
raises `WireError` with the response code to send (FORMERR, NOTIMP) or `None` to drop it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct(">HHHHHH")
RR_FIXED = struct.Struct(">HHIH")
QUESTION_FIXED = struct.Struct(">HH")

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, OPT, SVCB, HTTPS, ANY = (
    1,
    2,
    5,
    6,
    12,
    15,
    16,
    28,
    41,
    64,
    65,
    255,
)
CLASS_IN = 1

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5

QR = 0x8000
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
DO = 0x8000
EDNS_PAYLOAD = 1232
EDE = 15
"""EDNS option: Extended DNS Error (RFC 8914)."""
EDE_OTHER = 0
EDE_BLOCKED = 15
"""Extended DNS Error info-code "Blocked": the name is blocked by the resolver's policy. Block
answers carry it when the query had EDNS, so a client (the self-test) can tell the filter's
NXDOMAIN or block-page address from the real thing."""
SELFTEST_OPTION = 65432
"""EDNS option (local/experimental range, RFC 6891 section 9) marking a filtering self-test
probe (`schoolgate selftest`): journalled with `extra.selftest`, no alert raised."""
POINTER_TO_QNAME = b"\xc0\x0c"
MAX_NAME = 255


class WireError(ValueError):
    """A packet Schoolgate will not process; `rcode` is the answer to send, None to drop it."""

    def __init__(self, message: str, rcode: int | None) -> None:
        super().__init__(message)
        self.rcode = rcode


@dataclass(slots=True)
class Query:
    id: int
    flags: int
    name: str
    """Lower-case, without the trailing dot; "" for the root."""
    qtype: int
    qclass: int
    question: bytes
    """The question section exactly as the client sent it (name, type, class)."""
    edns_size: int | None
    """The client's EDNS UDP payload size, or None without EDNS."""
    dnssec_ok: bool
    raw: bytes
    selftest: bool = False
    """The query carried the self-test option (`SELFTEST_OPTION`)."""

    @property
    def max_udp(self) -> int:
        if self.edns_size is None:
            return 512
        return max(512, min(self.edns_size, 4096))


def parse_query(data: bytes) -> Query:
    if len(data) < 12:
        raise WireError("shorter than a DNS header", None)
    qid, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    if flags & QR:
        raise WireError("a response, not a query", None)
    if (flags >> 11) & 0xF:
        raise WireError("only standard queries are supported", NOTIMP)
    if qdcount != 1:
        raise WireError(f"{qdcount} questions; exactly one is supported", FORMERR)
    if ancount or nscount:
        raise WireError("a query with answer or authority records", FORMERR)
    name, end = _question_name(data)
    if end + 4 > len(data):
        raise WireError("truncated question", FORMERR)
    qtype, qclass = QUESTION_FIXED.unpack_from(data, end)
    end += 4
    edns_size, dnssec_ok, selftest = _edns(data, end, arcount) if arcount else (None, False, False)
    return Query(
        qid, flags, name, qtype, qclass, data[12:end], edns_size, dnssec_ok, data, selftest
    )


def _question_name(data: bytes) -> tuple[str, int]:
    """The question's name as lower-case text, and the offset after it: the label lengths are
    walked once, then the name is one slice with its length bytes turned into dots."""
    offset = 12
    size = len(data)
    starts = []
    while True:
        if offset >= size:
            raise WireError("truncated question name", FORMERR)
        length = data[offset]
        if length == 0:
            break
        if length > 63:
            raise WireError("compressed or extended label in the question", FORMERR)
        starts.append(offset)
        offset += 1 + length
        if offset - 12 > MAX_NAME:
            raise WireError("question name longer than 255 bytes", FORMERR)
    if not starts:
        return "", offset + 1
    name = bytearray(data[13:offset])
    for start in starts[1:]:
        name[start - 13] = 46  # "."
    if name.count(46) != len(starts) - 1:  # a length byte may be 46 itself: count, not find
        raise WireError("dot inside a label", FORMERR)
    if not name.isascii():
        raise WireError("non-ASCII bytes in the question name", FORMERR)
    return name.decode("ascii").lower(), offset + 1


def _edns(data: bytes, offset: int, count: int) -> tuple[int | None, bool, bool]:
    edns: tuple[int | None, bool, bool] = (None, False, False)
    for _ in range(count):
        owner_end = skip_name(data, offset)
        if owner_end + 10 > len(data):
            raise WireError("truncated additional record", FORMERR)
        rtype, rclass, ttl, rdlength = RR_FIXED.unpack_from(data, owner_end)
        offset = owner_end + 10 + rdlength
        if offset > len(data):
            raise WireError("truncated additional record data", FORMERR)
        if rtype == OPT:
            if edns[0] is not None:
                raise WireError("more than one OPT record", FORMERR)
            options = data[owner_end + 10 : offset]
            edns = (rclass, bool(ttl & DO), _has_option(options, SELFTEST_OPTION))
    return edns


def _has_option(options: bytes, wanted: int) -> bool:
    """Whether the OPT record's data holds option `wanted` (code, length, data...)."""
    at = 0
    while at + 4 <= len(options):
        code, length = struct.unpack_from(">HH", options, at)
        if code == wanted:
            return True
        at += 4 + length
    return False


def skip_name(data: bytes, offset: int) -> int:
    """The offset just after a (possibly compressed) name."""
    size = len(data)
    while True:
        if offset >= size:
            raise WireError("truncated name", FORMERR)
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            if offset + 2 > size:
                raise WireError("truncated name pointer", FORMERR)
            return offset + 2
        if length > 63:
            raise WireError("unknown label type", FORMERR)
        offset += 1 + length


def read_name(data: bytes, offset: int) -> tuple[bytes, int]:
    """A name decompressed into wire form, and the offset just after it in `data`."""
    out = bytearray()
    end: int | None = None
    jumps = 0
    size = len(data)
    while True:
        if offset >= size:
            raise WireError("truncated name", FORMERR)
        length = data[offset]
        if length == 0:
            out.append(0)
            return bytes(out), end if end is not None else offset + 1
        if length & 0xC0 == 0xC0:
            if offset + 2 > size:
                raise WireError("truncated name pointer", FORMERR)
            if end is None:
                end = offset + 2
            jumps += 1
            if jumps > 64:
                raise WireError("name compression loop", FORMERR)
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length > 63:
            raise WireError("unknown label type", FORMERR)
        out += data[offset : offset + 1 + length]
        offset += 1 + length
        if len(out) > MAX_NAME:
            raise WireError("name longer than 255 bytes", FORMERR)


def encode_name(name: str) -> bytes:
    """`www.example.com` -> wire form. The name must be ASCII with labels of 1-63 bytes."""
    if not name:
        return b"\x00"
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) <= 63:
            raise ValueError(f"bad label {label!r} in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def name_text(wire: bytes) -> str:
    labels = []
    offset = 0
    while wire[offset]:
        length = wire[offset]
        labels.append(wire[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels).lower()


_OPT_RECORD = b"\x00" + RR_FIXED.pack(OPT, EDNS_PAYLOAD, 0, 0)


_OPT_BLOCKED = (
    b"\x00" + RR_FIXED.pack(OPT, EDNS_PAYLOAD, 0, 6) + struct.pack(">HHH", EDE, 2, EDE_BLOCKED)
)


def response(
    query: Query,
    rcode: int,
    answers: bytes = b"",
    count: int = 0,
    *,
    authoritative: bool = False,
    blocked: bool = False,
    note: str | None = None,
) -> bytes:
    """An answer to `query`: its question, then `count` records already encoded in `answers`;
    `blocked` adds the Extended DNS Error "Blocked", `note` an "Other" one with that text, when
    the query had EDNS."""
    flags = QR | RA | (query.flags & RD) | rcode | (AA if authoritative else 0)
    if query.edns_size is None:
        return HEADER.pack(query.id, flags, 1, count, 0, 0) + query.question + answers
    opt = _OPT_BLOCKED if blocked else _OPT_RECORD
    if note is not None:
        option = struct.pack(">H", EDE_OTHER) + note.encode("utf-8")
        option = struct.pack(">HH", EDE, len(option)) + option
        opt = b"\x00" + RR_FIXED.pack(OPT, EDNS_PAYLOAD, 0, len(option)) + option
    return HEADER.pack(query.id, flags, 1, count, 0, 1) + query.question + answers + opt


def header_only_error(data: bytes, rcode: int) -> bytes | None:
    """FORMERR/NOTIMP for a packet whose question cannot be echoed: header only, no records."""
    if len(data) < 12:
        return None
    qid, flags = struct.unpack_from(">HH", data)
    if flags & QR:
        return None
    opcode_bits = flags & 0x7800
    return HEADER.pack(qid, QR | RA | opcode_bits | (flags & RD) | rcode, 0, 0, 0, 0)


def record_to_qname(rtype: int, ttl: int, rdata: bytes) -> bytes:
    """A resource record owned by the question's name (a compression pointer to offset 12)."""
    return POINTER_TO_QNAME + RR_FIXED.pack(rtype, CLASS_IN, ttl, len(rdata)) + rdata


def record(owner: bytes, rtype: int, rclass: int, ttl: int, rdata: bytes) -> bytes:
    return owner + RR_FIXED.pack(rtype, rclass, ttl, len(rdata)) + rdata


def truncated(query: Query) -> bytes:
    """An empty answer with TC set: the client should retry over TCP."""
    flags = QR | RA | TC | (query.flags & RD)
    opt = _OPT_RECORD if query.edns_size is not None else b""
    return HEADER.pack(query.id, flags, 1, 0, 0, 1 if opt else 0) + query.question + opt


@dataclass(slots=True)
class Record:
    owner: bytes
    """Decompressed wire-form name."""
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes
    """With names inside CNAME/NS/PTR data decompressed; other types copied as they are."""
    ttl_offset: int
    section: int
    """0 answer, 1 authority, 2 additional."""


_NAME_RDATA = frozenset({CNAME, NS, PTR})


def parse_records(data: bytes) -> tuple[int, int, list[Record]]:
    """(flags, rcode, records) of a response, its question skipped."""
    if len(data) < 12:
        raise WireError("shorter than a DNS header", None)
    _, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    offset = 12
    for _ in range(qdcount):
        offset = skip_name(data, offset) + 4
    records: list[Record] = []
    for section, count in enumerate((ancount, nscount, arcount)):
        for _ in range(count):
            owner, offset = read_name(data, offset)
            if offset + 10 > len(data):
                raise WireError("truncated record", FORMERR)
            rtype, rclass, ttl, rdlength = RR_FIXED.unpack_from(data, offset)
            ttl_offset = offset + 4
            start = offset + 10
            offset = start + rdlength
            if offset > len(data):
                raise WireError("truncated record data", FORMERR)
            rdata = data[start:offset]
            if rtype in _NAME_RDATA:
                rdata, _ = read_name(data, start)
            records.append(Record(owner, rtype, rclass, ttl, rdata, ttl_offset, section))
    return flags, flags & 0xF, records
