"""`schoolgate dns` as a real process: start, answer, reload on SIGHUP, stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query

from schoolgate.events.journal import read_events
from tests.gateway.policy_fixtures import LISTS, make_snapshot

SRC = Path(__file__).resolve().parents[2] / "src"


def _ask(port: int, name: str) -> list[str]:
    reply = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=3)
    return [r.to_text() for rrset in reply.answer for r in rrset]


def test_dns_command_serves_reloads_and_journals(tmp_path: Path) -> None:
    snapshot = tmp_path / "school.sgs"
    make_snapshot(tmp_path).save(snapshot)
    site = tmp_path / "site.yaml"
    site.write_text(
        "block_page: {ipv4: 10.9.9.9}\n"
        "dns: {listen: ['127.0.0.1:0'], upstreams: ['127.0.0.1:9'], timeout: 0.2, retries: 0}\n"
        "subnets: [{network: 127.0.0.0/8, group: pupils}]\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "schoolgate", "dns", "--site", str(site)]
    command += ["--snapshot", str(snapshot), "--journal", str(tmp_path / "journal")]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        line = proc.stdout.readline()
        assert "schoolgate dns for Test School on 127.0.0.1:" in line, proc.stderr.read()
        port = int(line.split("127.0.0.1:")[1].split()[0])
        assert _ask(port, "games.example") == ["10.9.9.9"]
        LISTS["games.txt"] = ("games", ["other-games.example"])
        make_snapshot(tmp_path / "v2").save(snapshot)
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while _ask(port, "other-games.example") != ["10.9.9.9"]:
            assert time.monotonic() < deadline, "new snapshot never picked up"
            time.sleep(0.1)
    finally:
        LISTS["games.txt"] = ("games", ["games.example"])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()
        proc.stderr.close()
    events = list(read_events(tmp_path / "journal"))
    assert {e["target"] for e in events if e["action"] == "block"} >= {
        "games.example",
        "other-games.example",
    }
