"""Squid's `ssl_bump` (Debian `squid-openssl`) with the school CA and the Schoolgate helper, from
the lines `schoolgate squid-ssl-bump` generates (docs/squid-ssl-bump.md): inspected names are
decrypted and their full URLs decided and alerted on by the helper, never-inspected names are
spliced untouched, and a bad origin certificate is refused. Real Squid, real TLS on 127.0.0.1.
Requirement ids: STM-079 / STM-210 (monitoring), SH-024 / TM-006 (search terms)."""

from __future__ import annotations

import http.client
import os
import shutil
import ssl
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from schoolgate.commands.demo import SEARCH
from schoolgate.engine.policy.loader import parse_policy
from schoolgate.events.journal import read_events
from schoolgate.gateway.tls.squid_bump import CERTGEN, ssl_bump_config
from tests.gateway.https_support import (
    HTTPS_POLICY,
    client_context,
    https_origin,
    https_snapshot,
    make_certificates,
)
from tests.gateway.test_squid import (
    ACL_OPTIONS,
    SQUID,
    free_port,
    helper_command,
    squid_dir,  # noqa: F401 - the fixture
    wait_for_port,
)

pytestmark = pytest.mark.slow


def squid_with_openssl() -> Path:
    if not SQUID.exists():
        pytest.fail("Squid is not installed (tools/debian-packages.txt: squid-openssl)")
    version = subprocess.run([str(SQUID), "-v"], capture_output=True, text=True, check=False)
    if "--with-openssl" not in version.stdout:
        pytest.fail(
            "this Squid is the GnuTLS build, which cannot ssl_bump: install Debian's "
            "squid-openssl (tools/debian-packages.txt)"
        )
    return SQUID


def _chown_proxy(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "proxy")


def write_config(workdir: Path, port: int, origin_port: int, certs) -> Path:
    names = "www.google.com inspected.test bank.test blocked.test untrusted.test"
    (workdir / "hosts").write_text(f"127.0.0.1 {names}\n")
    database = workdir / "ssl_db"
    subprocess.run([str(CERTGEN), "-c", "-s", str(database), "-M", "4MB"], check=True)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "proxy", str(database)], check=True)
    bump = ssl_bump_config(
        parse_policy(HTTPS_POLICY, "t.yaml"),
        http_port=f"127.0.0.1:{port}",
        ca_dir=certs.school_dir,
        certificate_db=database,
        certgen=CERTGEN,
        upstream_ca_file=certs.origin_ca_file,
    )
    helper = " ".join(
        [
            *helper_command(workdir),
            "squid-helper", "--mode", "acl", "--snapshot", str(workdir / "snapshot.sgs"),
            "--journal", str(workdir / "journal"), "--pages-url", "http://gate.test",
        ]
    )  # fmt: skip
    user = "proxy" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
    config = f"""{bump}
cache_effective_user {user}
pid_filename {workdir}/squid.pid
cache_log {workdir}/cache.log
access_log stdio:{workdir}/access.log
coredump_dir {workdir}
hosts_file {workdir}/hosts
cache deny all
cache_mem 4 MB
shutdown_lifetime 0 seconds
acl safe_ports port {origin_port} 443
external_acl_type schoolgate {ACL_OPTIONS} %>a %un %>rm %ru {helper}
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


def _get(port: int, name: str, origin_port: int, path: str, context: ssl.SSLContext):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=context)
    conn.set_tunnel(name, origin_port)
    try:
        conn.request("GET", path)
        issuer = dict(x[0] for x in conn.sock.getpeercert()["issuer"])["organizationName"]
        response = conn.getresponse()
        body = response.read().decode("latin-1")
        return response.status, dict(response.getheaders()), body, issuer
    finally:
        conn.close()


def test_squid_bumps_inspected_names_splices_the_rest_and_refuses_bad_certificates(
    squid_dir: Path,  # noqa: F811
):
    squid = squid_with_openssl()
    certs = make_certificates(squid_dir / "certs")
    _chown_proxy(squid_dir / "certs")
    https_snapshot().save(squid_dir / "snapshot.sgs")
    (squid_dir / "snapshot.sgs").chmod(0o644)
    (squid_dir / "journal").mkdir()
    _chown_proxy(squid_dir / "journal")
    port = free_port()
    trusted = client_context(certs.school, certs.origin_ca)
    with https_origin(certs.origin_ca) as origin, https_origin(certs.untrusted_ca) as bad:
        config = write_config(squid_dir, port, origin.port, certs)
        # The untrusted origin listens on its own port; only the allowed port list differs.
        allowed = f"acl safe_ports port {origin.port} 443"
        text = config.read_text().replace(allowed, f"{allowed} {bad.port}")
        config.write_text(text)
        stderr = (squid_dir / "stderr.log").open("w")
        process = subprocess.Popen(
            [str(squid), "-N", "-d", "1", "-n", f"sgbump{port}", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=squid_dir,
        )
        try:
            wait_for_port(port, process, squid_dir / "stderr.log")
            parts = urlsplit(SEARCH)
            search = _get(
                port, "www.google.com", origin.port, f"{parts.path}?{parts.query}", trusted
            )
            bank = _get(port, "bank.test", origin.port, "/account", trusted)
            inspected = _get(port, "inspected.test", origin.port, "/lesson", trusted)
            refused = _get(port, "untrusted.test", bad.port, "/", trusted)
        finally:
            process.terminate()
            process.wait(20)
            stderr.close()
    log = (squid_dir / "cache.log").read_text()[-3000:]
    assert search[0] == 200 and search[3] == "Test Academy", log  # bumped with the school CA
    assert inspected[0] == 200 and inspected[3] == "Test Academy"
    assert bank[0] == 200 and bank[3] == "Origin Test"  # spliced: the origin's own certificate
    assert refused[0] >= 500 and refused[3] == "Test Academy"  # Squid's error, not the site
    assert "ERR_SECURE_CONNECT_FAIL" in refused[2]  # Squid's page: no secure connection
    events = list(read_events(squid_dir / "journal"))
    searches = [e for e in events if (e.get("search") or "") and e["source"] == "squid"]
    assert len(searches) == 1
    assert searches[0]["rule"] == "search-self-harm" and searches[0]["alert"] in (
        "high",
        "critical",
    )
    assert searches[0]["target"].startswith("https://www.google.com")
