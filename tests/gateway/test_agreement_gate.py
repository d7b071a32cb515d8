""" "No signed agreement, no access" at the gateway, from the state file the staff app publishes.

STM-228/STM-230/STM-S02, SH-098 and CAV-029: where a parent must countersign, the pupil's own
click on the agreement page does not open the internet; the published state (every required
signature, on the current version of the text) does, through the proxy, the Squid helper and the
DNS resolver alike. TM-054/TM-S01: Thomas Mills's acceptance counts for one logon only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dns.message
import dns.query
import pytest

from schoolgate.engine.agreements import agreement_version, valid_until
from schoolgate.engine.decide import Decider, Subject
from schoolgate.files import write_atomically
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.agreement_state import (
    FORMAT,
    AgreementState,
    AgreementStateError,
    parse_state,
)
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.proxy.records import SignatureStore
from schoolgate.gateway.squid_helper import SquidHelper
from tests.gateway.proxy_support import POLICY, running_origin, running_proxy, test_snapshot

PARENT_POLICY = POLICY.replace(
    "groups: [newcomers]\n    statements:",
    "groups: [newcomers]\n    signatories: [user, parent]\n"
    "    required_signatories: [user, parent]\n    statements:",
)
LOGON_POLICY = POLICY.replace(
    "groups: [newcomers]\n    statements:",
    "groups: [newcomers]\n    renew: each-logon\n    statements:",
)


def publish(path: Path, subjects: dict) -> None:
    body = {"format": FORMAT, "version": 1, "published_at": _iso(_now()), "subjects": subjects}
    write_atomically(path, json.dumps(body).encode())


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def complete(version: str, until: datetime | None = None) -> dict:
    return {
        "version": version,
        "complete_at": _iso(_now() - timedelta(minutes=5)),
        "valid_until": _iso(until) if until else None,
    }


def _version(decider: Decider) -> str:
    return agreement_version(decider.policy.agreements[0])


def test_state_file_is_read_checked_and_hot_reloaded(tmp_path):
    path = tmp_path / "agreement-state.json"
    state = AgreementState.load(path)  # absent: nobody has a complete agreement
    assert not state.is_satisfied("user:amy", "pupil-aup", _now())
    publish(path, {"user:amy": {"pupil-aup": complete("v1", _now() + timedelta(days=1))}})
    state.refresh(force=True)
    assert state.is_satisfied("user:amy", "pupil-aup", _now(), version="v1")
    assert not state.is_satisfied("user:amy", "pupil-aup", _now(), version="v2")  # text changed
    assert not state.is_satisfied("user:amy", "pupil-aup", _now() + timedelta(days=2))
    # A broken file keeps the last good state in force and says where it is wrong.
    write_atomically(
        path, b'{"format": "schoolgate-agreement-state", "version": 1, "subjects": []}'
    )
    assert not state.refresh(force=True)
    assert "'subjects' must be an object" in state.last_error
    assert state.is_satisfied("user:amy", "pupil-aup", _now())


def test_malformed_entries_name_the_field():
    bad = {"format": FORMAT, "version": 1, "subjects": {"user:amy": {"aup": {"version": "v"}}}}
    with pytest.raises(AgreementStateError, match=r"subjects.user:amy.aup.complete_at"):
        parse_state(bad, "state.json")
    with pytest.raises(AgreementStateError, match="version 2 is not supported"):
        parse_state({"format": FORMAT, "version": 2, "subjects": {}}, "state.json")


def test_renewal_rules_stm_228_cav_071_tm_054():
    signed = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    assert valid_until("school-year", signed) == datetime(2027, 9, 1, tzinfo=UTC)
    assert valid_until("school-year", datetime(2026, 8, 31, tzinfo=UTC)) == datetime(
        2026, 9, 1, tzinfo=UTC
    )
    assert valid_until("yearly", signed) == signed + timedelta(days=365)
    assert valid_until("on-change", signed) is None
    assert valid_until("each-logon", signed) is None  # decided by the logon, not the clock


def test_pupils_click_does_not_unlock_where_a_parent_must_countersign_stm_230_sh_098(tmp_path):
    decider = Decider(test_snapshot(PARENT_POLICY))
    state_path = tmp_path / "agreement-state.json"
    state = AgreementState.load(state_path)
    with (
        running_origin() as origin,
        running_proxy(
            tmp_path,
            lambda: decider,
            hosts={"*.test": f"127.0.0.1:{origin.port}"},
            identify=lambda address: Subject(group="newcomers", user="amy"),
            agreement_state=state,
        ) as proxy,
    ):
        status, headers, _ = proxy.get("http://allowed.test/homework")
        assert status == 302 and "/agreement?next=" in headers["Location"]
        form = proxy.get("http://gate.test/agreement")[2]
        assert "Your parent or carer must sign this agreement too" in form
        # The pupil signs on the gateway's page: recorded, but still gated.
        token = proxy.pages.links.token("user:amy", "form:/agreement")
        body = f"agreement=pupil-aup&agree=yes&form_token={token}"
        conn = proxy.connection()
        conn.request(
            "POST",
            "http://gate.test/agreement",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = conn.getresponse().read().decode()
        conn.close()
        assert "parent or carer must sign" in reply
        assert proxy.get("http://allowed.test/homework")[0] == 302
        # The app publishes the complete agreement (pupil and parent): the next request passes.
        publish(state_path, {"user:amy": {"pupil-aup": complete(_version(decider))}})
        state.refresh(force=True)
        status, _, text = proxy.get("http://allowed.test/homework")
        assert status == 200 and "origin page for allowed.test/homework" in text
        # A changed text asks for a new signature: the old version no longer counts.
        publish(state_path, {"user:amy": {"pupil-aup": complete("0123456789ab")}})
        state.refresh(force=True)
        assert proxy.get("http://allowed.test/homework")[0] == 302


def test_squid_helper_and_dns_check_read_the_same_state(tmp_path):
    decider = Decider(test_snapshot(PARENT_POLICY))
    state_path = tmp_path / "agreement-state.json"
    check = AgreementCheck(AgreementState.load(state_path), SignatureStore(tmp_path / "sig.jsonl"))
    now = decider.local_time(datetime.now(UTC))
    check.signatures.sign("user:amy", "pupil-aup", now)  # the pupil's click
    helper = SquidHelper(
        lambda: decider,
        "acl",
        "http://gate.test",
        identify=lambda address: Subject(group="newcomers", user="amy"),
        agreements=check,
    )
    line = "10.1.2.3 amy GET http://allowed.test/\n"
    assert helper.answer(line).startswith("ERR") and "agreement-required" in helper.answer(line)
    unsigned = check.apply(Subject(group="newcomers", user="amy"), "10.1.2.3", decider)
    # DNS, too:
    assert decider.decide(unsigned, "allowed.test", _now()).rule == "agreement-required"
    publish(state_path, {"user:amy": {"pupil-aup": complete(_version(decider))}})
    check.state.refresh(force=True)
    assert helper.answer(line) == "OK"
    signed = check.apply(Subject(group="newcomers", user="amy"), "10.1.2.3", decider)
    assert signed.agreement
    assert decider.decide(signed, "allowed.test", _now()).action.value == "allow"


def test_accept_at_each_logon_not_once_a_day_tm_054_tm_s01(tmp_path):
    decider = Decider(test_snapshot(LOGON_POLICY))
    bindings = tmp_path / "bindings.json"
    signatures = SignatureStore(tmp_path / "sig.jsonl")
    local_now = decider.local_time(datetime.now(UTC))

    def logged_on(minutes_ago: int) -> tuple[AgreementCheck, Subject]:
        since = _iso(_now() - timedelta(minutes=minutes_ago))
        entry = {"user": "amy", "group": "newcomers", "since": since}
        write_atomically(bindings, json.dumps({"10.1.2.3": entry}).encode())
        identity = Identity(bindings_file=bindings)
        return AgreementCheck(None, signatures, identity.logon_time), identity.identify("10.1.2.3")

    check, amy = logged_on(60)  # first logon of the day, 08:40
    assert not check.apply(amy, "10.1.2.3", decider).agreement
    signatures.sign("user:amy", "pupil-aup", local_now - timedelta(minutes=59))
    assert check.apply(amy, "10.1.2.3", decider).agreement
    check, amy = logged_on(10)  # she logs on again later that morning: asked again
    assert not check.apply(amy, "10.1.2.3", decider).agreement
    signatures.sign("user:amy", "pupil-aup", local_now - timedelta(minutes=9))
    assert check.apply(amy, "10.1.2.3", decider).agreement


def test_demo_devices_have_complete_agreements_even_where_a_parent_must_sign(tmp_path):
    """`schoolgate demo`: the Year 5 laptop gets through St Thomas More's KS2 gate (STM-230)."""
    from schoolgate.commands.demo import sign_agreements
    from schoolgate.engine.policy.loader import load_policy
    from schoolgate.engine.snapshot import compile_snapshot
    from schoolgate.gateway.demo_devices import demo_devices

    policy_path = Path(__file__).resolve().parents[2] / "policies" / "st-thomas-more.yaml"
    decider = Decider(compile_snapshot(load_policy(policy_path), []))
    devices = demo_devices(decider.policy)
    sign_agreements(tmp_path, decider, devices)
    check = AgreementCheck(
        AgreementState.load(tmp_path / "agreement-state.json"),
        SignatureStore(tmp_path / "signatures.jsonl"),
    )
    for device in devices:
        subject = check.apply(Subject(group=device.group), device.address, decider)
        assert subject.agreement, device
    stranger = check.apply(Subject(group="pupil-ks2"), "127.0.0.9", decider)
    assert not stranger.agreement


def test_dns_command_alone_reads_the_published_state(tmp_path):
    """`schoolgate dns --site` (no proxy, no serve) honours the state folder the site names:
    a device whose agreement is not complete gets the block page for everything."""
    snapshot = test_snapshot(PARENT_POLICY)
    snapshot.save(tmp_path / "school.sgs")
    state = tmp_path / "state"
    state.mkdir()
    site = tmp_path / "site.yaml"
    site.write_text(
        "block_page: {ipv4: 10.9.9.9}\n"
        "dns: {listen: ['127.0.0.1:0'], upstreams: ['127.0.0.1:9'], timeout: 0.2, retries: 0}\n"
        "subnets: [{network: 127.0.0.0/8, group: newcomers}]\n"
        f"proxy: {{state_dir: '{state}'}}\n"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    command = [sys.executable, "-m", "schoolgate", "dns", "--site", str(site), "--no-journal"]
    command += ["--snapshot", str(tmp_path / "school.sgs")]
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        line = proc.stdout.readline().decode()
        assert "127.0.0.1:" in line, proc.stderr.read()
        port = int(line.split("127.0.0.1:")[1].split()[0])

        def answer() -> list[str]:
            query = dns.message.make_query("allowed.test", "A")
            reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=3)
            return [r.to_text() for rrset in reply.answer for r in rrset]

        assert answer() == ["10.9.9.9"]  # not signed: blocked
        version = _version(Decider(snapshot))
        publish(
            state / "agreement-state.json", {"address:127.0.0.1": {"pupil-aup": complete(version)}}
        )
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while answer() == ["10.9.9.9"]:  # the state is re-read at most once a second
            assert datetime.now(UTC) < deadline, "the published agreement was never honoured"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
