"""The Squid helper: the protocol on its own, then Debian's real Squid using it."""

from __future__ import annotations

import http.client
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from schoolgate.engine.decide import Decider
from schoolgate.events.journal import read_events
from schoolgate.events.schema import Event
from schoolgate.gateway.proxy.records import WarnPasses
from schoolgate.gateway.proxy.users import DirectoryUser
from schoolgate.gateway.squid_helper import SquidHelper
from tests.gateway.proxy_support import running_origin, running_proxy, test_snapshot

REPO = Path(__file__).resolve().parents[2]
SQUID = Path("/usr/sbin/squid")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ACL_OPTIONS = "concurrency=10 children-max=2 children-startup=1 ttl=0 negative_ttl=0"


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(test_snapshot())


def helper(decider: Decider, mode: str) -> SquidHelper:
    return SquidHelper(lambda: decider, mode, "http://gate.test")  # type: ignore[arg-type]


def test_acl_mode_answers_with_the_channel_id_and_quoted_reason(decider):
    acl = helper(decider, "acl")
    assert acl.answer("3 10.0.0.7 - GET http://allowed.test/x\n") == "3 OK"
    answer = acl.answer("4 10.0.0.7 - GET http://www.blocked.test/x\n")
    assert answer.startswith('4 ERR message="Blocked: www.blocked.test')
    assert "Pupils must not visit sites the school has blocked" in answer
    assert answer.endswith('log="blocked-for-pupils"')
    assert acl.answer("10.0.0.7 - CONNECT bet.test:443\n").startswith("ERR ")  # no concurrency
    assert acl.answer("5 10.0.0.7 - CONNECT secure.test:443\n") == "5 OK"


def test_acl_mode_decodes_squid_escapes(decider):
    # Squid escapes each field, so a URL's own `%20` arrives as `%2520`.
    acl = helper(decider, "acl")
    assert acl.answer("1 10.0.0.7 j%20smith GET http://blocked.test/a%2520b\n").startswith("1 ERR")


def test_rewrite_mode_redirects_blocked_http_to_the_block_page(decider):
    rewrite = helper(decider, "rewrite")
    line = "0 http://blocked.test/page 10.0.0.7/- - GET myip=127.0.0.1 myport=3128\n"
    assert rewrite.answer(line) == (
        '0 OK status=302 url="http://gate.test/blocked?url=http%3A%2F%2Fblocked.test%2Fpage'
        '&group=pupils"'
    )
    assert rewrite.answer("1 http://allowed.test/ 10.0.0.7/- - GET\n") == "1 ERR"
    assert rewrite.answer("2 http://warn.test/ 10.0.0.7/- - GET\n").startswith(
        '2 OK status=302 url="http://gate.test/warn?url='
    )


def test_warn_passes_from_the_pages_server_open_the_site_through_squid(tmp_path, decider):
    """The pages server and the helper are separate processes: the pass travels by the shared
    file, so after the click-through a warned HTTPS site opens through Squid as well."""
    shared = tmp_path / "warn-passes.jsonl"
    squid = SquidHelper(lambda: decider, "acl", "http://gate.test", passes=WarnPasses(path=shared))
    assert squid.answer("1 127.0.0.1 - CONNECT warn.test:443\n").startswith("1 ERR")
    with running_proxy(tmp_path, lambda: decider, passes=WarnPasses(path=shared)) as proxy:
        _, _, page = proxy.get("http://gate.test/warn?url=https%3A%2F%2Fwarn.test%2F")
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        fields = urlencode({"url": "https://warn.test/", "token": token})
        conn = proxy.connection()
        conn.request("POST", "http://gate.test/proceed", body=fields, headers=FORM)
        assert conn.getresponse().status == 303
        conn.close()
    assert squid.answer("2 127.0.0.1 - CONNECT warn.test:443\n") == "2 OK"
    assert squid.answer("3 127.0.0.1 - GET http://www.warn.test/x\n").startswith("3 ERR")
    assert squid.answer("4 10.9.9.9 - CONNECT warn.test:443\n").startswith("4 ERR")  # others


def test_a_torn_or_foreign_line_in_the_passes_file_is_skipped(tmp_path):
    shared = tmp_path / "warn-passes.jsonl"
    pages, helper_side = WarnPasses(path=shared), WarnPasses(path=shared)
    pages.grant("address:10.0.0.1", "warn.test")
    with shared.open("a") as file:
        file.write('{"subject": "address:10.0.0.2"}\nnot json\n{"subject": "addr')  # torn tail
    assert helper_side.has("address:10.0.0.1", "warn.test")
    assert not helper_side.has("address:10.0.0.2", "warn.test")
    with shared.open("a") as file:
        file.write('ess:10.0.0.3", "host": "warn.test", "until": 4e9}\n')  # the tail completes
    assert helper_side.has("address:10.0.0.3", "warn.test")


def test_bad_lines_are_answered_bh_without_stopping(decider):
    acl = helper(decider, "acl")
    assert acl.answer("9 only-two\n").startswith('9 BH message="expected')
    assert acl.answer("8 10.0.0.7 - GET http://-bad-host-/\n").startswith("8 BH")
    assert acl.answer("7 10.0.0.7 - GET http://allowed.test/\n") == "7 OK"


def test_a_user_whose_group_the_policy_no_longer_has_is_answered_bh(decider):
    # The user directory can name a group a reloaded policy dropped: one BH, not a dead helper.
    users = {"j.smith": DirectoryUser("j.smith", "gone", "pbkdf2_sha256$1$salt$hash")}
    acl = SquidHelper(lambda: decider, "acl", "http://gate.test", users=users)
    assert acl.answer("3 10.0.0.7 j.smith GET http://allowed.test/\n").startswith(
        "3 BH message=\"cannot decide on http://allowed.test/: unknown group 'gone'"
    )
    assert acl.answer("4 10.0.0.7 - GET http://allowed.test/\n") == "4 OK"


# The real Squid ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def helper_command(workdir: Path) -> list[str]:
    """How Squid starts the helper. Squid refuses to run as root, so as root it switches to the
    `proxy` user; if that user cannot reach this interpreter (a venv under /root), the helper
    runs on Debian's python3 of the same version with the venv's packages on its path."""
    if os.geteuid() != 0 or _usable_by_proxy(Path(sys.executable)):
        return [sys.executable, "-m", "schoolgate"]
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not system.exists():
        pytest.skip(f"Squid's user cannot run {sys.executable} and there is no {system}")
    wrapper = workdir / "helper.sh"
    paths = ":".join([str(REPO / "src"), *[p for p in sys.path if p.endswith("site-packages")]])
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{paths}" exec {system} -m schoolgate "$@"\n')
    wrapper.chmod(0o755)
    return [str(wrapper)]


def _usable_by_proxy(path: Path) -> bool:
    result = subprocess.run(
        ["su", "-s", "/bin/sh", "proxy", "-c", f"test -x {path.resolve()}"], check=False
    )
    return result.returncode == 0


@pytest.fixture
def squid_dir() -> Iterator[Path]:
    if not SQUID.exists():
        pytest.fail("Debian's squid is not installed (see .ci/run)")
    workdir = Path(tempfile.mkdtemp(prefix="schoolgate-squid-"))
    workdir.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(workdir, "proxy")  # Squid writes its logs after dropping to `proxy`
    yield workdir
    shutil.rmtree(workdir, ignore_errors=True)


def squid_config(workdir: Path, port: int, origin_port: int, helper: list[str]) -> Path:
    (workdir / "hosts").write_text("127.0.0.1 allowed.test blocked.test warn.test\n")
    args = " ".join(
        [
            *helper,
            "squid-helper",
            "--mode",
            "acl",
            "--snapshot",
            str(workdir / "snapshot.sgs"),
            "--journal",
            str(workdir / "journal"),
            "--state",
            str(workdir / "state"),
        ]
    )
    user = "proxy" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    config = f"""
http_port 127.0.0.1:{port}
cache_effective_user {user}
pid_filename {workdir}/squid.pid
cache_log {workdir}/cache.log
access_log stdio:{workdir}/access.log
coredump_dir {workdir}
hosts_file {workdir}/hosts
cache deny all
cache_mem 4 MB
shutdown_lifetime 0 seconds
dns_timeout 5 seconds
via on
acl safe_ports port {origin_port} 80 443
external_acl_type schoolgate {ACL_OPTIONS} %>a %un %>rm %ru {args}
acl schoolgate_allows external schoolgate
deny_info 302:http://gate.test/blocked?url=%u schoolgate_allows
http_access deny !safe_ports
http_access deny !schoolgate_allows
http_access allow localhost
http_access deny all
"""
    path = workdir / "squid.conf"
    path.write_text(config)
    return path


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"squid exited: {log.read_text()[-3000:] if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("squid did not start listening within 20 s")


@pytest.mark.slow
def test_real_squid_filters_with_the_helper(squid_dir: Path):
    test_snapshot().save(squid_dir / "snapshot.sgs")
    (squid_dir / "journal").mkdir()
    (squid_dir / "state").mkdir(mode=0o755)
    if os.geteuid() == 0:
        shutil.chown(squid_dir / "journal", "proxy")
        (squid_dir / "snapshot.sgs").chmod(0o644)
    port = free_port()
    with running_origin() as origin:
        config = squid_config(squid_dir, port, origin.port, helper_command(squid_dir))
        stderr = (squid_dir / "stderr.log").open("w")
        process = subprocess.Popen(
            # -n: a service name of our own, so shared-memory names never clash with another
            # Squid (or another test run) on this machine.
            [str(SQUID), "-N", "-d", "1", "-n", f"sgtest{port}", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=squid_dir,
        )
        try:
            wait_for_port(port, process, squid_dir / "stderr.log")
            allowed = fetch(port, f"http://allowed.test:{origin.port}/lesson")
            blocked = fetch(port, f"http://blocked.test:{origin.port}/games")
            tunnel = fetch(port, "blocked.test:443", method="CONNECT")
            warned = fetch(port, f"http://warn.test:{origin.port}/read")
            # What the pages server does on a click-through (same class, same file):
            passes = WarnPasses(path=squid_dir / "state" / "warn-passes.jsonl")
            passes.grant("address:127.0.0.1", "warn.test")
            passed = fetch(port, f"http://warn.test:{origin.port}/read")
        finally:
            process.terminate()
            process.wait(20)
            stderr.close()
    assert allowed[0] == 200, (allowed, (squid_dir / "cache.log").read_text()[-3000:])
    assert f"origin page for allowed.test:{origin.port}/lesson" in allowed[2]
    assert "squid" in origin.seen[0]["headers"].get("Via", "").lower()
    assert blocked[0] == 302
    assert blocked[1]["Location"].startswith("http://gate.test/blocked?url=http")
    assert "blocked.test" in blocked[1]["Location"]
    assert tunnel[0] in (302, 403)
    assert warned[0] == 302 and passed[0] == 200
    assert [s["path"] for s in origin.seen] == ["/lesson", "/read"]
    events = list(read_events(squid_dir / "journal"))
    actions = {(urlsplit(e["target"]).hostname, e["action"]) for e in events}
    assert {("allowed.test", "allow"), ("blocked.test", "block")} <= actions
    assert all(Event.from_record(e).source == "squid" for e in events)


def fetch(port: int, url: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, url)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("latin-1")
    finally:
        conn.close()
