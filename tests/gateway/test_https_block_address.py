"""The DNS path over HTTPS: a blocked name, answered with the block address, meets the pages
server's TLS listener, which mints a certificate for the name asked for (SNI) and serves the
school's block page; never-inspected names get no certificate. Real TLS on 127.0.0.1, and
Debian's chromium with the school CA in an NSS database. Requirement ids: STM-154, STM-079."""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from schoolgate.engine.decide import Decider
from schoolgate.gateway.proxy.assemble import Gateway, build_gateway
from schoolgate.gateway.site import ProxySiteSettings
from tests.browser import CHROMIUM, launch_chromium
from tests.gateway.https_support import client_context, https_snapshot, make_certificates
from tests.gateway.test_https_browser import SCREENS, nss_home


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[Gateway, object, Path]]:
    certs = make_certificates(tmp_path)
    decider = Decider(https_snapshot())
    settings = ProxySiteSettings(
        listen="127.0.0.1:0",
        pages_listen="127.0.0.1:0",
        pages_tls_listen="127.0.0.1:0",
        state_dir=tmp_path / "state",
        tls_ca_dir=certs.school_dir,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    built = build_gateway(settings, lambda: decider)
    asyncio.run_coroutine_threadsafe(built.start(settings), loop).result(10)
    try:
        yield built, certs, tmp_path
    finally:
        asyncio.run_coroutine_threadsafe(built.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _fetch(port: int, name: str, context: ssl.SSLContext) -> tuple[int, str]:
    conn = http.client.HTTPSConnection(name, port, timeout=10, context=context)
    conn.sock = context.wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=name
    )
    try:
        conn.request("GET", "/games", headers={"Host": name})  # as on port 443
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_blocked_name_gets_the_block_page_over_https(gateway):
    built, certs, _ = gateway
    assert built.pages_tls_address is not None
    status, body = _fetch(
        built.pages_tls_address[1], "www.blocked.test", client_context(certs.school)
    )
    assert status == 403
    assert "This site is blocked" in body and "https://www.blocked.test/games" in body


def test_never_inspected_name_gets_no_certificate(gateway):
    built, certs, _ = gateway
    with pytest.raises(ssl.SSLError):
        _fetch(built.pages_tls_address[1], "www.bank.test", client_context(certs.school))


@pytest.mark.slow
def test_chromium_sent_to_the_block_address_sees_the_block_page(gateway):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (tools/debian-packages.txt)")
    from playwright.sync_api import sync_playwright

    built, certs, tmp = gateway
    home = nss_home(tmp / "home", ("school", certs.school_dir / "school-ca.pem"))
    port = built.pages_tls_address[1]
    rules = f"--host-resolver-rules=MAP www.blocked.test 127.0.0.1:{port} , MAP * ~NOTFOUND"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, rules, env={"HOME": str(home)})
        page = browser.new_page(viewport={"width": 390, "height": 700})
        response = page.goto("https://www.blocked.test/games")
        assert response is not None and response.status == 403
        assert response.security_details()["issuer"] == "Test Academy Schoolgate CA"
        assert page.title() == "This site is blocked · Test Academy"
        if os.environ.get("SCHOOLGATE_SCREENSHOTS"):  # refresh docs/screens/ on request only
            page.screenshot(path=str(SCREENS / "https-dns-block-page.png"), full_page=True)
        browser.close()
