"""Debian's chromium, trusting the school CA through an NSS database in a temporary HOME, browses
HTTPS through the inspecting proxy to HTTPS origins on 127.0.0.1 (docs/https-limits.md).

Requirement ids: STM-154 (block pages), STM-079 / STM-210 (monitoring, users told), SH-024 /
TM-006 (search terms), SH-097 (safe search).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from schoolgate.commands.demo import SEARCH
from schoolgate.engine.decide import Decider
from schoolgate.events.journal import JournalWriter, read_events
from tests.browser import CHROMIUM, launch_chromium
from tests.gateway.https_support import (
    ORIGIN_NAMES,
    https_origin,
    https_snapshot,
    make_certificates,
    make_inspector,
)
from tests.gateway.proxy_support import running_proxy

pytestmark = pytest.mark.slow
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
LOCAL_ONLY = [
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def nss_home(home: Path, *certificates: tuple[str, Path]) -> Path:
    """A HOME whose NSS database (what chromium on Linux trusts) holds `certificates`."""
    certutil = shutil.which("certutil")
    if certutil is None:
        pytest.fail("certutil is not installed (Debian libnss3-tools; tools/debian-packages.txt)")
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    subprocess.run([certutil, "-d", f"sql:{database}", "-N", "--empty-password"], check=True)
    for nickname, path in certificates:
        subprocess.run(
            [certutil, "-d", f"sql:{database}", "-A", "-n", nickname, "-t", "C,,", "-i", path],
            check=True,
        )
    return home


class World(dict):
    """The running pieces; its repr stays short so no search words reach the test output."""

    def __repr__(self) -> str:
        return "<https browser world>"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (tools/debian-packages.txt)")
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("https")
    certs = make_certificates(tmp)
    home = nss_home(
        tmp / "home",
        ("school", certs.school_dir / "school-ca.pem"),
        ("origins", certs.origin_ca_file),
    )
    decider = Decider(https_snapshot())
    journal = JournalWriter(tmp / "journal", flush_interval=0.01)
    with https_origin(certs.origin_ca) as origin, https_origin(certs.untrusted_ca) as bad:
        hosts = {name: f"127.0.0.1:{origin.port}" for name in (*ORIGIN_NAMES, "warn.test")}
        hosts["untrusted.test"] = f"127.0.0.1:{bad.port}"
        inspector = make_inspector(certs, decider)
        with (
            running_proxy(
                tmp, lambda: decider, hosts=hosts, journal=journal, inspector=inspector
            ) as proxy,
            sync_playwright() as playwright,
        ):
            browser = launch_chromium(playwright, *LOCAL_ONLY, env={"HOME": str(home)})
            context = browser.new_context(
                proxy={"server": f"http://127.0.0.1:{proxy.port}"},
                viewport={"width": 390, "height": 760},
            )
            yield World(
                page=context.new_page(),
                origin=origin,
                journal=journal,
                journal_dir=tmp / "journal",
            )
            context.close()
            browser.close()
    journal.close()


def test_blocked_https_site_shows_the_school_block_page(world):
    page = world["page"]
    response = page.goto("https://www.blocked.test/games")
    assert response is not None and response.status == 403
    assert response.security_details()["issuer"] == "Test Academy Schoolgate CA"
    assert page.title() == "This site is blocked · Test Academy"
    assert "www.blocked.test" in page.inner_text("body")
    if os.environ.get("SCHOOLGATE_SCREENSHOTS"):  # refresh docs/screens/ on request only
        page.screenshot(path=str(SCREENS / "https-block-page.png"), full_page=True)


def test_https_search_is_decided_on_its_terms_and_raises_the_alert(world):
    page, origin = world["page"], world["origin"]
    response = page.goto(SEARCH)
    assert response is not None and response.status == 200
    assert response.security_details()["issuer"] == "Test Academy Schoolgate CA"
    searches_seen = [s["path"] for s in origin.seen if s["path"].startswith("/search")]
    assert searches_seen and searches_seen[-1].endswith("&safe=active")
    world["journal"].flush()
    searches = [
        e
        for e in read_events(world["journal_dir"])
        if e.get("extra", {}).get("method") == "GET"
        and (e.get("target") or "").startswith("https://www.google.com/search")
    ]
    assert len(searches) == 1  # no screenshot: the page would show the search words
    assert searches[0]["search"] and searches[0]["rule"] == "search-self-harm"
    assert searches[0]["alert"] in ("high", "critical")


def test_never_inspect_host_is_tunnelled_with_the_origin_certificate(world):
    page = world["page"]
    response = page.goto("https://bank.test/account")
    assert response is not None and response.status == 200
    assert response.security_details()["issuer"] == "Origin Test Schoolgate CA"
    assert page.locator("#origin").inner_text() == "origin page for bank.test/account"


def test_site_with_a_bad_certificate_is_refused_with_an_explanation(world):
    page = world["page"]
    response = page.goto("https://untrusted.test/")
    assert response is not None and response.status == 502
    assert page.title() == "This site is not safe to open · Test Academy"
    assert "issued by an authority that is not trusted" in page.inner_text("body")
    if os.environ.get("SCHOOLGATE_SCREENSHOTS"):  # refresh docs/screens/ on request only
        page.screenshot(path=str(SCREENS / "https-bad-certificate.png"), full_page=True)


def test_warn_page_over_https_and_click_through(world):
    page = world["page"]
    response = page.goto("https://warn.test/story")
    assert response is not None and response.status == 403
    assert page.title() == "Are you sure? · Test Academy"
    if os.environ.get("SCHOOLGATE_SCREENSHOTS"):  # refresh docs/screens/ on request only
        page.screenshot(path=str(SCREENS / "https-warn-page.png"), full_page=True)
    page.click("#proceed")
    page.wait_for_url("https://warn.test/story")
    assert page.locator("#origin").inner_text() == "origin page for warn.test/story"
