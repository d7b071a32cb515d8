"""Gateway journal records are `schoolgate.events.schema.Event` records (issue 8, docs/events.md);
the DNS resolver's fast encoder writes exactly what `decision_record` would."""

from __future__ import annotations

import json
import time

from schoolgate.engine.decide import Decision
from schoolgate.engine.policy.schema import Action, AlertLevel
from schoolgate.events.schema import Event
from schoolgate.gateway.journal_events import DecisionEncoder, decision_record, happening_record

BLOCK = Decision(
    action=Action.BLOCK,
    categories=("games", "social"),
    rule="no-games",
    reason="Games on n1.games.example are blocked for pupils — “quoted”.",
    alert=AlertLevel.HIGH,
    notify=("dsl",),
    group="pupil-ks2",
    target="n1.games.example",
    keywords=("self-harm",),
    search="how to",
)


def test_decision_record_reads_back_as_an_event() -> None:
    record = decision_record(
        BLOCK, source="proxy", address="10.0.0.7", user="p.pupil", target="http://x.example/"
    )
    event = Event.from_record(record)
    assert (event.source, event.kind, event.action, event.alert) == (
        "proxy",
        "decision",
        "block",
        "high",
    )
    assert event.target == "http://x.example/" and event.group == "pupil-ks2"


def test_happening_record_reads_back_as_an_event() -> None:
    record = happening_record(
        "agreement-signed", source="pages", address="10.0.0.7", user=None, extra={"agreement": "a"}
    )
    assert Event.from_record(record).extra == {"agreement": "a"}


def test_the_dns_fast_encoder_writes_exactly_the_event_record() -> None:
    encoder = DecisionEncoder("dns")
    allow = Decision(Action.ALLOW, (), "default", "Allowed.", AlertLevel.NONE, (), "staff", "a.b")
    now = time.time()
    for decision, user, safe, why in (
        (BLOCK, "p.pupil", None, None),
        (allow, None, "safe.example", None),
        (allow, None, "safe.example", "KeyError"),
        (BLOCK, None, None, None),
    ):
        payload = encoder.encode(
            decision,
            address="::1",
            user=user,
            target="n1.games.example",
            qtype=28,
            safe_search=safe,
            unfiltered=why,
            at=now,
        )
        extra = {"qtype": 28} | ({} if safe is None else {"safe_search": safe})
        extra |= {} if why is None else {"unfiltered": why}
        expected = decision_record(
            decision,
            source="dns",
            address="::1",
            user=user,
            target="n1.games.example",
            extra=extra,
            at=now,
        )
        assert json.loads(payload) == expected
        assert list(json.loads(payload)) == list(expected)  # same key order as to_record


def test_the_fast_encoders_times_match_the_schemas_to_the_microsecond() -> None:
    encoder = DecisionEncoder("dns")
    for at in (0.0, 1.9999995, 1764763200.123456, 1764763200.9999996, time.time()):
        payload = json.loads(
            encoder.encode(BLOCK, address="a", user=None, target="t", qtype=1, at=at)
        )
        assert (
            payload["at"]
            == decision_record(BLOCK, source="dns", address="a", user=None, at=at)["at"]
        )


def _as_journal_writes_it(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def test_the_fast_encoder_is_byte_for_byte_the_json_of_the_record_for_any_name() -> None:
    """The reason's text around the name is kept per outcome; every other name, a name that
    needs escaping, and a reason that does not fit the kept text still give the exact bytes."""
    encoder = DecisionEncoder("dns")
    because = ' because it is gambling (policy: “no betting” \\ "quoted").'
    names = [
        "q1.bet365.com",
        "q2.bet365.com",
        'we"ird\\name.example',
        "bücher.example",
        "",
        "q1.bet365.com",
    ]
    at = 1764763200.25
    for index, name in enumerate(names):
        reason = f"Blocked: {name}{because}"
        if index == 4:
            reason = "A reason of another shape, “curly”, naming nothing."
        decision = BLOCK._replace(reason=reason, target=name)
        for user, safe, selftest in ((None, None, False), ('p."pupil"', "safe.example", True)):
            payload = encoder.encode(
                decision,
                address="10.0.0.7",
                user=user,
                target=name,
                qtype=1,
                safe_search=safe,
                selftest=selftest,
                at=at,
            )
            extra = {"qtype": 1} | ({"safe_search": safe} if safe else {})
            extra |= {"selftest": True} if selftest else {}
            expected = decision_record(
                decision,
                source="dns",
                address="10.0.0.7",
                user=user,
                target=name,
                extra=extra,
                at=at,
            )
            assert payload == _as_journal_writes_it(expected)
            assert Event.from_record(json.loads(payload)).reason == reason


def test_the_batch_encoder_writes_the_same_records_as_one_at_a_time() -> None:
    """`encode_records` (the DNS hand-over's loop) frames exactly `encode_payload(encode(...))`
    for each noted decision, in order, and empties what it was given."""
    from collections import deque

    from schoolgate.events.journal import encode_payload

    because = " because it is gambling (policy: “no betting”)."
    allow = Decision(Action.ALLOW, (), "default", "Allowed.", AlertLevel.NONE, (), "staff", "a.b")
    noted = deque()
    for index, name in enumerate(["q1.bet365.com", 'x"y.example', "bücher.example", "a.b"]):
        decision = BLOCK._replace(reason=f"Blocked: {name}{because}") if index < 3 else allow
        user = None if index % 2 else "p.pupil"
        safe = "safe.example" if index == 3 else None
        noted.append((decision, "10.0.0.7", user, name, 28, safe, None, index == 2, 1.5 + index))
    expected = b"".join(
        encode_payload(
            DecisionEncoder("dns").encode(
                d, address=a, user=u, target=t, qtype=q, safe_search=s, unfiltered=f,
                selftest=st, at=at,
            )
        )
        for d, a, u, t, q, s, f, st, at in noted
    )  # fmt: skip
    out = bytearray()
    assert DecisionEncoder("dns").encode_records(noted, out) == 4
    assert bytes(out) == expected and not noted
