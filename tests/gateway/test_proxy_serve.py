"""`schoolgate serve` and `schoolgate demo` as a newcomer runs them: real processes, real ports."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query
import pytest

from tests.gateway.proxy_support import POLICY

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def schoolgate(*args: str) -> list[str]:
    return [sys.executable, "-m", "schoolgate", *args]


def read_until(process: subprocess.Popen, pattern: str, timeout: float = 60) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        if re.search(pattern, seen):
            return seen
    process.kill()
    pytest.fail(f"never saw {pattern!r} in output:\n{seen}\n{process.stderr.read()}")


@pytest.mark.slow
def test_serve_runs_dns_proxy_and_pages_until_interrupted(tmp_path: Path):
    policy = tmp_path / "test-academy.yaml"
    policy.write_text(POLICY)
    process = subprocess.Popen(
        schoolgate(
            "serve",
            "--policy",
            str(policy),
            "--shared",
            str(tmp_path),
            "--var",
            str(tmp_path / "var"),
            "--dns-port",
            "0",
            "--proxy-port",
            "0",
            "--pages-port",
            "0",
            "--no-app",
            "--upstream",
            "127.0.0.1:9",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ | {"SCHOOLGATE_CACHE": str(tmp_path / "cache")},
    )
    try:
        output = read_until(process, r"Decision journal")
        proxy_port = int(re.search(r"proxy\s+http://127\.0\.0\.1:(\d+)", output).group(1))
        dns_port = int(re.search(r"DNS resolver\s+127\.0\.0\.1:(\d+)", output).group(1))
        pages = re.search(r"Block pages\s+(http://\S+)/", output).group(1)
        assert "Test Academy" in output

        conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        conn.request("GET", "http://blocked.test/")
        response = conn.getresponse()
        body = response.read().decode()
        assert response.status == 403 and "blocked-for-pupils" in body
        assert f'href="{pages}/unblock?url=' in body

        query = dns.message.make_query("www.blocked.test", "A")
        answer = dns.query.udp(query, "127.0.0.1", port=dns_port, timeout=5)
        assert [rr.address for rr in answer.answer[0]] == ["127.0.0.1"]  # the block page

        page_host, page_port = pages.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(page_host, int(page_port), timeout=10)
        conn.request("GET", "/games", headers={"Host": "www.blocked.test"})
        dns_block_page = conn.getresponse()
        assert dns_block_page.status == 403
        assert "Pupils must not visit sites" in dns_block_page.read().decode()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
    assert (tmp_path / "var" / "snapshot.sgs").exists()


def test_demo_validates_renders_and_explains_decisions(tmp_path: Path):
    result = subprocess.run(
        schoolgate("demo", "--no-serve", "--shared", str(SHARED), "--var", str(tmp_path)),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,  # a cold compile of lists/default.yaml: ~20 s idle, minutes on a busy box
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in ("1. Check the policy file", "2. Render it", "3. Compile it", "4. Try some"):
        assert heading in out
    assert "St Thomas More Primary School" in out
    assert re.search(r"allowed: .* for group staff\n\s+→ ALLOW", out)
    assert re.search(r"blocked: .*\n\s+→ BLOCK by rule", out)
    assert re.search(r"search alert: .*\n\s+→ \w+ by rule search-self-harm", out)  # STM-060
    assert (tmp_path / "demo" / "st-thomas-more.html").stat().st_size > 1000


def test_demo_reports_policy_problems_with_their_place(tmp_path: Path):
    policy = tmp_path / "broken.yaml"
    policy.write_text(POLICY.replace("action: warn", "action: maybe"))
    result = subprocess.run(
        schoolgate("demo", "--no-serve", "--policy", str(policy), "--var", str(tmp_path)),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "broken.yaml" in result.stderr and "action" in result.stderr
