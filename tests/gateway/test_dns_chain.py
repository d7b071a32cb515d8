"""The DNS resolver is a chain of small handlers in one order, set in `Resolver.__init__` (issue
9, "a data plane easy to see and change"); each handler answers or passes the request on."""

from __future__ import annotations

from pathlib import Path

from schoolgate.events.journal import JournalWriter
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.asking import Asking
from schoolgate.gateway.dns.blocking import Blocking
from schoolgate.gateway.dns.canary import DohCanary
from schoolgate.gateway.dns.filtering import Filtering
from schoolgate.gateway.dns.forwarding import Forwarding
from schoolgate.gateway.dns.journalling import Journalling
from schoolgate.gateway.dns.probing import ProbeAnswering
from schoolgate.gateway.dns.request import Reply
from schoolgate.gateway.dns.resolver import Resolver
from schoolgate.gateway.dns.rewriting import SafeSearchRewriting
from schoolgate.gateway.dns.upstream import Upstream
from schoolgate.gateway.reload import SnapshotHolder
from tests.gateway.policy_fixtures import make_snapshot


def query(name: str) -> bytes:
    question = wire.encode_name(name) + wire.QUESTION_FIXED.pack(wire.A, wire.CLASS_IN)
    return wire.HEADER.pack(7, wire.RD, 1, 0, 0, 0) + question


def test_the_chain_order_is_the_documented_one(tmp_path: Path) -> None:
    holder = SnapshotHolder(snapshot=make_snapshot(tmp_path))
    with JournalWriter(tmp_path / "journal") as journal:
        resolver = Resolver(holder, Upstream([("127.0.0.1", 9)]), journal=journal)
        kinds = [type(h) for h in resolver.handlers]
        assert kinds == [
            DohCanary,
            Asking,
            Filtering,
            Journalling,
            Blocking,
            ProbeAnswering,
            SafeSearchRewriting,
            Forwarding,
        ]
        for handler, following in zip(resolver.handlers, resolver.handlers[1:], strict=False):
            assert handler.next is following


def test_every_handler_returns_one_reply_type(tmp_path: Path) -> None:
    holder = SnapshotHolder(snapshot=make_snapshot(tmp_path))
    resolver = Resolver(holder, Upstream([("127.0.0.1", 9)]))
    canary = resolver.handle(query("use-application-dns.net"), "127.0.0.1")
    blocked = resolver.handle(query("games.example"), "127.0.0.1")
    forwarded = resolver.handle(query("allowed.example"), "127.0.0.1")
    garbled = resolver.handle(b"\x00", "127.0.0.1")
    assert all(isinstance(r, Reply) for r in (canary, blocked, forwarded, garbled))
    assert canary.packet is not None and blocked.packet is not None
    assert forwarded.packet is None and forwarded.later is None
    assert forwarded.forward is not None and forwarded.forward.name == "allowed.example"
    assert garbled.packet is None and garbled.later is None and garbled.forward is None
