"""`Upstream.ask`: the callback path the UDP transport forwards allowed names through (issue 9:
no coroutine, future or task per query). A silent upstream is retried on the next one after its
timeout; identical queries in flight go upstream once and every asker gets its own ID back; when
no upstream answers after the retries, every asker is told (None). The answer cache keeps
answers unparsed until they are asked for again (most names are asked once)."""

from __future__ import annotations

import asyncio
import time

import dns.message
import dns.rcode
import dns.rrset

from schoolgate.gateway.dns import upstream as upstream_module
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.upstream import AnswerCache, Upstream
from tests.gateway.dns_harness import LocalUpstream


def _query(name: str, qid: int) -> wire.Query:
    message = dns.message.make_query(name, "A")
    message.id = qid
    return wire.parse_query(message.to_wire())


async def _servers(*silent: bool) -> list[LocalUpstream]:
    servers = [LocalUpstream(silent=s) for s in silent]
    for server in servers:
        await server.start()
    return servers


def _ask_all(upstream: Upstream, queries: list[wire.Query]) -> asyncio.Future:
    loop = asyncio.get_running_loop()
    answers: list[bytes | None] = []
    done = loop.create_future()

    def collect(answer: bytes | None) -> None:
        answers.append(answer)
        if len(answers) == len(queries) and not done.done():
            done.set_result(answers)

    for query in queries:
        upstream.ask(query, collect)
    return done


def test_a_silent_upstream_is_retried_on_the_next_one() -> None:
    async def scenario() -> None:
        silent, good = await _servers(True, False)
        upstream = Upstream([("127.0.0.1", silent.port), ("127.0.0.1", good.port)], timeout=0.2)
        [answer] = await asyncio.wait_for(_ask_all(upstream, [_query("allowed.example", 7)]), 5)
        reply = dns.message.from_wire(answer)
        assert reply.id == 7 and reply.answer[0][0].to_text() == "192.0.2.10"
        assert silent.received == ["allowed.example. A"] and good.received == silent.received
        upstream.close()

    asyncio.run(scenario())


def test_identical_queries_in_flight_go_upstream_once() -> None:
    async def scenario() -> None:
        [server] = await _servers(False)
        upstream = Upstream([("127.0.0.1", server.port)])
        queries = [_query("www.example.org", qid) for qid in (1, 2, 3)]
        answers = await asyncio.wait_for(_ask_all(upstream, queries), 5)
        assert sorted(dns.message.from_wire(a).id for a in answers) == [1, 2, 3]
        assert server.received == ["www.example.org. A"]
        upstream.close()

    asyncio.run(scenario())


def test_no_answer_after_the_retries_tells_every_asker() -> None:
    async def scenario() -> None:
        silent, also_silent = await _servers(True, True)
        servers = [("127.0.0.1", silent.port), ("127.0.0.1", also_silent.port)]
        upstream = Upstream(servers, timeout=0.1, retries=2)
        queries = [_query("allowed.example", 1), _query("allowed.example", 2)]
        assert await asyncio.wait_for(_ask_all(upstream, queries), 5) == [None, None]
        assert len(silent.received) + len(also_silent.received) == 3  # first try, two retries
        assert upstream.failures == 1
        upstream.close()

    asyncio.run(scenario())


def _answer(name: str, ttl: int, rcode: int = dns.rcode.NOERROR, soa: bool = False) -> bytes:
    reply = dns.message.make_response(dns.message.make_query(name, "A"))
    reply.set_rcode(rcode)
    if rcode == dns.rcode.NOERROR:
        reply.answer.append(dns.rrset.from_text(name, ttl, "IN", "A", "192.0.2.1"))
    if soa:
        reply.authority.append(
            dns.rrset.from_text("example.", 30, "IN", "SOA", "ns.example. h.example. 1 60 60 60 9")
        )
    return reply.to_wire()


def test_answers_are_parsed_when_first_asked_for_and_their_ttl_counts_from_storing() -> None:
    cache = AnswerCache(max_entries=10, max_ttl=3600)
    cache.put(("a",), _answer("a.example.", 2), now=100.0)
    assert type(cache.entries[("a",)]) is tuple  # not parsed yet
    assert cache.get(("a",), now=101.0) is not None  # parsed, 1 s of its 2 left
    assert cache.get(("a",), now=102.5) is None and ("a",) not in cache.entries
    cache.put(("n",), _answer("n.example.", 0, dns.rcode.NXDOMAIN), now=100.0)  # no SOA
    assert cache.get(("n",), now=100.0) is None and ("n",) not in cache.entries
    cache.put(("s",), _answer("s.example.", 0, dns.rcode.NXDOMAIN, soa=True), now=100.0)
    assert cache.get(("s",), now=108.0) is not None  # the SOA's negative TTL: 9 s
    assert cache.get(("s",), now=109.5) is None
    cache.put(("f",), _answer("f.example.", 0, dns.rcode.SERVFAIL), now=100.0)
    assert ("f",) not in cache.entries


def test_an_upstream_that_timed_out_is_passed_over_for_a_while(monkeypatch) -> None:
    """With upstreams [dead, live], only the first query waits on the dead one (REST_SECONDS);
    then it is asked first again, once its rest is over."""
    upstream = Upstream([("127.0.0.1", 1), ("127.0.0.1", 2)])
    assert upstream.preferred == 0
    upstream.did_not_answer(0)
    assert upstream.preferred == 1 and upstream._pick(1) == 1  # both attempts go to the live one
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + upstream_module.REST_SECONDS + 1)
    assert upstream.preferred == 0
    upstream.did_not_answer(1)
    upstream.did_not_answer(0)  # all resting: the turn decides, as before
    assert upstream.preferred == 0
