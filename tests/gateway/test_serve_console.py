"""What the console relies on from a running `schoolgate serve` (issue 13), as real processes:

- `schoolgate policy compile` reaches the running proxy without a restart, and a broken policy
  is refused with its place while the running snapshot stays (STM-315);
- a change to the bindings file (what the console publishes) reaches the running proxy;
- the services are announced for the health panel and the journal is copied into the store.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from schoolgate.events.store import EventStore
from tests.gateway.proxy_support import POLICY
from tests.gateway.test_proxy_serve import REPO, read_until, schoolgate

pytestmark = pytest.mark.slow


def _status_from(source: str, proxy_port: int, url: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection(
        "127.0.0.1", proxy_port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _eventually(check, timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_compile_bindings_services_and_store_reach_a_running_gateway(tmp_path: Path):
    policy = tmp_path / "test-academy.yaml"
    policy.write_text(POLICY)
    var = tmp_path / "var"
    env = os.environ | {"SCHOOLGATE_CACHE": str(tmp_path / "cache")}
    process = subprocess.Popen(
        schoolgate(
            "serve", "--policy", str(policy), "--shared", str(tmp_path), "--var", str(var),
            "--dns-port", "0", "--proxy-port", "0", "--pages-port", "0", "--no-app",
            "--upstream", "127.0.0.1:9",
        ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    try:
        output = read_until(process, r"Decision journal")
        port = int(re.search(r"proxy\s+http://127\.0\.0\.1:(\d+)", output).group(1))
        assert "schoolgate policy compile" in output
        status, body = _status_from("127.0.0.1", port, "http://blocked.test/")
        assert status == 403 and "blocked-for-pupils" in body

        # A broken edit is refused with its place; the running snapshot stays in force.
        policy.write_text(POLICY.replace("action: block", "action: blok", 1))
        compile_args = ["policy", "compile", str(policy), "-o", str(var / "snapshot.sgs")]
        broken = subprocess.run(
            schoolgate(*compile_args), capture_output=True, text=True, cwd=REPO, env=env
        )
        assert broken.returncode == 1
        assert "test-academy.yaml:" in broken.stderr and "is unchanged" in broken.stderr
        assert _status_from("127.0.0.1", port, "http://blocked.test/")[0] == 403

        # The school takes blocked.test off its list: compiled, and live within seconds.
        policy.write_text(POLICY.replace("sites: [blocked.test]", "sites: [other.test]"))
        done = subprocess.run(
            schoolgate(*compile_args), capture_output=True, text=True, cwd=REPO, env=env
        )
        assert done.returncode == 0, done.stderr
        assert _eventually(
            lambda: _status_from("127.0.0.1", port, "http://blocked.test/")[0] != 403
        )

        # The console binds 127.0.0.2 to staff: the bet.test-style pupil rules stop applying.
        before, _ = _status_from("127.0.0.2", port, "http://other.test/")
        assert before == 403
        (var / "gateway" / "bindings.json").write_text(
            json.dumps({"127.0.0.2": {"group": "staff"}})
        )
        assert _eventually(lambda: _status_from("127.0.0.2", port, "http://other.test/")[0] != 403)

        services = json.loads((var / "gateway" / "services.json").read_text())
        assert services["proxy"] == f"127.0.0.1:{port}"

        def stored() -> int:
            with EventStore.open(var / "events.sqlite3") as store:
                return store.count(address="127.0.0.2")

        assert _eventually(lambda: stored() >= 2)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0


def test_the_demo_devices_cover_a_pupil_a_staff_member_and_a_visitor():
    from schoolgate.engine.policy.loader import load_policy
    from schoolgate.gateway.demo_devices import demo_devices

    devices = demo_devices(load_policy(REPO / "policies" / "st-thomas-more.yaml"))
    assert [(d.address, d.group) for d in devices] == [
        ("127.0.0.2", "pupil-ks2"),
        ("127.0.0.3", "staff"),
        ("127.0.0.4", "community"),
    ]
