"""The filtering proxy end to end: a real origin server, real sockets, real clients."""

from __future__ import annotations

import base64
import contextlib
import http.client
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from schoolgate.engine.decide import Decider, Subject
from schoolgate.events.journal import JournalWriter, read_events
from schoolgate.events.schema import Event
from schoolgate.gateway.proxy.users import DirectoryUser, hash_password_pbkdf2
from schoolgate.gateway.reload import SnapshotHolder
from tests.gateway.proxy_support import (
    POLICY,
    read_jsonl,
    running_origin,
    running_proxy,
    test_snapshot,
)


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(test_snapshot())


@pytest.fixture
def origin():
    with running_origin() as origin:
        yield origin


def hosts_for(origin) -> dict[str, str]:
    return {"*.test": f"127.0.0.1:{origin.port}"}


def raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_allowed_request_is_forwarded_with_correct_headers(tmp_path: Path, decider, origin):
    with running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy:
        status, headers, body = proxy.get(
            "http://allowed.test/page?x=1",
            {"Proxy-Connection": "keep-alive", "X-Hop": "secret", "Connection": "X-Hop"},
        )
    assert status == 200
    assert "origin page for allowed.test/page?x=1" in body
    assert "schoolgate" in headers["Via"]
    seen = origin.seen[0]
    assert seen["path"] == "/page?x=1"
    assert seen["headers"]["Host"] == "allowed.test"
    assert seen["headers"]["Via"] == "1.1 schoolgate"
    assert "X-Hop" not in seen["headers"]
    assert "Proxy-Connection" not in seen["headers"]


def test_blocked_site_gets_the_school_block_page_quoting_the_rule(tmp_path, decider, origin):
    with running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy:
        status, headers, body = proxy.get("http://www.blocked.test/games")
    assert status == 403
    assert headers["Content-Type"].startswith("text/html")
    assert "Test Academy" in body
    assert "www.blocked.test/games" in body
    assert "blocked-for-pupils" in body
    assert "Pupils must not visit sites the school has blocked" in body
    assert 'href="http://gate.test/unblock?url=http%3A%2F%2Fwww.blocked.test%2Fgames"' in body
    assert "Report a problem" in body
    assert origin.seen == []  # the origin never saw the blocked request


def test_category_block_names_the_category_and_escapes_the_url(tmp_path, decider, origin):
    with running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy:
        status, _, body = proxy.get("http://bet.test/%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 403
    assert "no-gambling" in body and "gambling" in body
    assert "Gambling sites are blocked for pupils" in body  # STM-154
    assert "<script>" not in body


def test_keep_alive_reuses_client_and_upstream_connections(tmp_path, decider, origin):
    with running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy:
        conn = proxy.connection()
        for path in ("/one", "/two", "/three"):
            conn.request("GET", f"http://allowed.test{path}")
            response = conn.getresponse()
            assert response.status == 200
            assert path in response.read().decode()
        conn.close()
    assert [s["path"] for s in origin.seen] == ["/one", "/two", "/three"]
    assert len({s["client_port"] for s in origin.seen}) == 1


def test_chunked_responses_for_http11_and_http10_clients(tmp_path, decider, origin):
    with running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy:
        status, headers, body = proxy.get("http://allowed.test/chunked")
        raw = raw_exchange(proxy.port, b"GET http://allowed.test/chunked HTTP/1.0\r\n\r\n")
    assert (status, body) == (200, "hello chunked world")
    assert headers["Transfer-Encoding"] == "chunked"
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head
    assert payload == b"hello chunked world"


def test_request_bodies_are_forwarded_by_length_and_chunked(tmp_path, decider, origin):
    with running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy:
        conn = proxy.connection()
        conn.request("POST", "http://allowed.test/form", body=b"a=1&b=2")
        assert conn.getresponse().read() == b"posted:a=1&b=2"
        conn.request(
            "POST",
            "http://allowed.test/form",
            body=iter([b"part1-", b"part2"]),
            encode_chunked=True,
        )
        assert conn.getresponse().read() == b"posted:part1-part2"
        conn.close()
    assert origin.seen[1]["headers"]["Transfer-Encoding"] == "chunked"


def test_upstream_that_cannot_be_reached_is_a_502(tmp_path, decider):
    unused = socket.socket()
    unused.bind(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    with running_proxy(tmp_path, lambda: decider, hosts={"down.test": f"127.0.0.1:{port}"}) as p:
        status, _, body = p.get("http://down.test/")
    assert status == 502 and "cannot reach down.test" in body


@pytest.mark.parametrize(
    ("request_bytes", "status", "message"),
    [
        (b"NONSENSE\r\n\r\n", b"400", b"malformed request line"),
        (b"GET https://x.test/ HTTP/1.1\r\n\r\n", b"400", b"only http:// URLs"),
        (b"GET http://x.test/ HTTP/1.1\r\nbad header\r\n\r\n", b"400", b"malformed header"),
        (b"CONNECT x.test HTTP/1.1\r\n\r\n", b"400", b"CONNECT needs host:port"),
        (b"CONNECT x.test:25 HTTP/1.1\r\n\r\n", b"403", b"port 25 are not allowed"),
    ],
)
def test_bad_requests_get_a_clear_error(tmp_path, decider, request_bytes, status, message):
    with running_proxy(tmp_path, lambda: decider) as proxy:
        reply = raw_exchange(proxy.port, request_bytes)
    assert reply.startswith(b"HTTP/1.1 " + status)
    assert message in reply


def echo_server() -> tuple[socket.socket, int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_connect_tunnels_allowed_hosts_and_refuses_blocked_ones(tmp_path, decider):
    listener, port = echo_server()
    hosts = {"*.test": f"127.0.0.1:{port}"}
    with running_proxy(tmp_path, lambda: decider, hosts=hosts) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(b"CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n")
            head = sock.recv(4096)
            assert head.startswith(b"HTTP/1.1 200 Connection established")
            sock.sendall(b"opaque tls bytes")
            assert sock.recv(4096) == b"OPAQUE TLS BYTES"
        blocked = raw_exchange(proxy.port, b"CONNECT blocked.test:443 HTTP/1.1\r\n\r\n")
    listener.close()
    assert blocked.startswith(b"HTTP/1.1 403")
    assert b"Pupils must not visit sites the school has blocked" in blocked
    assert b"Rule: blocked-for-pupils" in blocked
    assert b"http://gate.test/unblock?url=https%3A%2F%2Fblocked.test%2F" in blocked


def test_warned_https_host_opens_after_the_click_through(tmp_path, decider):
    listener, port = echo_server()
    with running_proxy(tmp_path, lambda: decider, hosts={"*.test": f"127.0.0.1:{port}"}) as proxy:
        refused = raw_exchange(proxy.port, b"CONNECT warn.test:443 HTTP/1.1\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 403")
        assert b"confirm at http://gate.test/warn?url=https%3A%2F%2Fwarn.test%2F" in refused
        status, _, page = proxy.get("http://gate.test/warn?url=https%3A%2F%2Fwarn.test%2F")
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        fields = {"url": "https://warn.test/", "token": token}
        assert form_post(proxy, "http://gate.test/proceed", fields).status == 303
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(b"CONNECT warn.test:443 HTTP/1.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    listener.close()
    assert status == 403


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_proxy_authorization_makes_decisions_per_user(tmp_path, decider, origin):
    users = {
        "t.teacher": DirectoryUser("t.teacher", "staff", hash_password_pbkdf2("s3cret", 1000)),
        "p.pupil": DirectoryUser("p.pupil", "pupils", hash_password_pbkdf2("pupil", 1000)),
    }
    journal_dir = tmp_path / "journal"
    journal = JournalWriter(journal_dir, flush_interval=0.01)
    with running_proxy(
        tmp_path, lambda: decider, hosts=hosts_for(origin), users=users, journal=journal
    ) as proxy:
        staff = proxy.get(
            "http://blocked.test/", {"Proxy-Authorization": basic("t.teacher", "s3cret")}
        )
        pupil = proxy.get(
            "http://blocked.test/", {"Proxy-Authorization": basic("p.pupil", "pupil")}
        )
        wrong = proxy.get("http://blocked.test/", {"Proxy-Authorization": basic("p.pupil", "nope")})
    journal.close()
    assert staff[0] == 200
    assert pupil[0] == 403
    assert wrong[0] == 407 and wrong[1]["Proxy-Authenticate"].startswith('Basic realm="Schoolgate"')
    assert "Proxy-Authorization" not in origin.seen[0]["headers"]
    events = [e for e in read_events(journal_dir) if e["kind"] == "decision"]
    assert {Event.from_record(e).source for e in events} == {"proxy"}
    assert [(e["user"], e["group"], e["action"], e["rule"]) for e in events] == [
        ("t.teacher", "staff", "allow", "default"),
        ("p.pupil", "pupils", "block", "blocked-for-pupils"),
    ]


def test_required_authentication_asks_for_credentials(tmp_path, decider):
    with running_proxy(tmp_path, lambda: decider, users={}, require_auth=True) as proxy:
        status, headers, _ = proxy.get("http://allowed.test/")
    assert status == 407 and "Proxy-Authenticate" in headers


def form_post(proxy, url: str, fields: dict[str, str]) -> http.client.HTTPResponse:
    conn = proxy.connection()
    body = urlencode(fields)
    conn.request(
        "POST", url, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_warn_page_click_through_is_logged_and_lets_the_user_on(tmp_path, decider, origin):
    journal_dir = tmp_path / "journal"
    journal = JournalWriter(journal_dir, flush_interval=0.01)
    with running_proxy(
        tmp_path, lambda: decider, hosts=hosts_for(origin), journal=journal
    ) as proxy:
        status, _, body = proxy.get("http://warn.test/article")
        assert status == 403 and "Some sites are shown with a warning first" in body
        token = re.search(r'name="token" value="([^"]+)"', body).group(1)
        forged = form_post(
            proxy,
            "http://gate.test/proceed",
            {"url": "http://warn.test/article", "token": token + "0"},
        )
        assert forged.status == 403
        response = form_post(
            proxy, "http://gate.test/proceed", {"url": "http://warn.test/article", "token": token}
        )
        assert response.status == 303
        assert response.getheader("Location") == "http://warn.test/article"
        status, _, body = proxy.get("http://warn.test/article")
    journal.close()
    assert status == 200 and "origin page for warn.test/article" in body
    kinds = [(e["source"], e["kind"]) for e in read_events(journal_dir)]
    assert kinds == [("proxy", "decision"), ("pages", "warn-pass"), ("proxy", "decision")]


def newcomer(address: str) -> Subject:
    return Subject(group="newcomers")


def test_unsigned_users_are_sent_to_the_agreement_and_can_sign_it(tmp_path, decider, origin):
    with running_proxy(
        tmp_path, lambda: decider, hosts=hosts_for(origin), identify=newcomer
    ) as proxy:
        status, headers, _ = proxy.get("http://allowed.test/lesson")
        assert status == 302
        location = headers["Location"]
        assert location.startswith(
            "http://gate.test/agreement?next=http%3A%2F%2Fallowed.test%2Flesson&sig="
        )
        status, _, form = proxy.get(location)
        assert status == 200 and "Pupil Acceptable Use Agreement" in form
        assert "I will only use the internet when a teacher says I can." in form
        fields = {name: hidden(form, name) for name in ("next", "sig", "agreement", "form_token")}
        assert fields["next"] == "http://allowed.test/lesson"
        refused = form_post(proxy, "http://gate.test/agreement", fields)
        assert refused.status == 400
        signed = form_post(proxy, "http://gate.test/agreement", fields | {"agree": "yes"})
        assert signed.status == 303
        assert signed.getheader("Location") == "http://allowed.test/lesson"
        status, _, body = proxy.get("http://allowed.test/lesson")
    assert status == 200 and "origin page" in body
    [record] = read_jsonl(tmp_path / "signatures.jsonl")
    assert (record["subject"], record["agreement"]) == ("address:127.0.0.1", "pupil-aup")


@pytest.mark.parametrize("path", ["/agreement", "/unblock", "/report"])
@pytest.mark.parametrize("token", [None, "", "9999999999.forged", "OTHER-VISITOR", "OTHER-FORM"])
def test_forms_posted_from_another_site_are_refused(tmp_path, decider, origin, path, token):
    """Issue 9 (6): another site could sign the acceptable-use agreement for a pupil's device
    (and file requests in their name): every form needs a token only its own page gives."""
    fields = {
        "agreement": "pupil-aup",
        "agree": "yes",
        "responsible": "yes",
        "url": "http://x.test/",
        "message": "m",
    }
    with running_proxy(
        tmp_path, lambda: decider, hosts=hosts_for(origin), identify=newcomer
    ) as proxy:
        if token == "OTHER-VISITOR":
            token = proxy.pages.links.token("address:192.0.2.9", "form:" + path)
        elif token == "OTHER-FORM":
            other = "/report" if path != "/report" else "/agreement"
            token = proxy.pages.links.token("address:127.0.0.1", "form:" + other)
        if token is not None:
            fields["form_token"] = token
        answer = form_post(proxy, f"http://gate.test{path}", fields)
        assert answer.status == 403
    assert not (tmp_path / "signatures.jsonl").exists()
    assert not (tmp_path / "requests.jsonl").exists()


def hidden(form: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', form).group(1)


@pytest.mark.parametrize(
    "query",
    [
        {"next": "https://evil.example/phish"},  # no signature
        {"next": "https://evil.example/phish", "sig": "0" * 64},  # a made-up one
        {"next": "https://evil.example/phish", "sig": "é" * 64},  # not even hex
        {"next": "https://evil.example/phish", "sig": "SIG-OF-LESSON"},  # another URL's
    ],
)
def test_the_agreement_never_redirects_to_an_address_the_gateway_did_not_sign(
    tmp_path, decider, origin, query
):
    with running_proxy(
        tmp_path, lambda: decider, hosts=hosts_for(origin), identify=newcomer
    ) as proxy:
        lesson = proxy.get("http://allowed.test/lesson")[1]["Location"]
        if query.get("sig") == "SIG-OF-LESSON":
            query = query | {"sig": parse_qs(urlsplit(lesson).query)["sig"][0]}
        status, _, form = proxy.get("http://gate.test/agreement?" + urlencode(query))
        assert status == 200 and "evil.example" not in form
        fields = {"agreement": "pupil-aup", "agree": "yes", **query}
        fields["form_token"] = hidden(form, "form_token")
        signed = form_post(proxy, "http://gate.test/agreement", fields)
    assert signed.status == 200 and signed.getheader("Location") is None  # signed, no redirect


def test_unblock_requests_need_the_requester_to_take_responsibility(tmp_path, decider):
    with running_proxy(tmp_path, lambda: decider) as proxy:
        status, _, form = proxy.get("http://gate.test/unblock?url=http%3A%2F%2Fblocked.test%2F")
        assert status == 200 and "suitable for use in school" in form  # SH-026
        fields = {"url": "http://blocked.test/", "message": "Needed for a history lesson"}
        fields["form_token"] = hidden(form, "form_token")
        assert form_post(proxy, "http://gate.test/unblock", fields).status == 400
        ok = form_post(proxy, "http://gate.test/unblock", fields | {"responsible": "yes"})
        report_form = proxy.get("http://gate.test/report?url=http%3A%2F%2Fx.test%2F")[2]
        report = form_post(
            proxy,
            "http://gate.test/report",
            {
                "url": "http://x.test/",
                "message": "Page is broken",
                "form_token": hidden(report_form, "form_token"),
            },
        )
    assert ok.status == 200 and report.status == 200
    records = read_jsonl(tmp_path / "requests.jsonl")
    assert [(r["type"], r["url"]) for r in records] == [
        ("unblock-request", "http://blocked.test/"),
        ("problem-report", "http://x.test/"),
    ]


def test_hot_reload_swaps_the_snapshot_without_dropping_requests(tmp_path, origin):
    path = tmp_path / "snapshot.sgs"
    test_snapshot().save(path)
    holder = SnapshotHolder(path)
    statuses: list[tuple[float, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    with running_proxy(tmp_path, lambda: holder.decider, hosts=hosts_for(origin)) as proxy:

        def hammer() -> None:
            conn = proxy.connection()
            while not stop.is_set():
                try:
                    started = time.monotonic()
                    conn.request("GET", "http://allowed.test/")
                    response = conn.getresponse()
                    response.read()
                    statuses.append((started, response.status))
                except Exception as exc:  # any failure at all fails the test
                    errors.append(exc)
                    return

        clients = [threading.Thread(target=hammer) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(0.3)
        stricter = POLICY.replace("sites: [blocked.test]", "sites: [blocked.test, allowed.test]")
        test_snapshot(stricter).save(path)
        assert holder.reload()
        reloaded = time.monotonic()
        time.sleep(0.3)
        stop.set()
        for client in clients:
            client.join(10)
    assert errors == []
    before = {status for started, status in statuses if started < reloaded}
    after = {status for started, status in statuses if started > reloaded}
    assert 200 in before
    assert after == {403}
    assert len(statuses) > 50


def test_squid_redirect_target_shows_the_block_page_for_the_group(tmp_path, decider):
    with running_proxy(tmp_path, lambda: decider) as proxy:
        url = "http://gate.test/blocked?url=http%3A%2F%2Fblocked.test%2Fx&group=pupils"
        status, _, body = proxy.get(url)
        staff_status, _, staff_body = proxy.get(url.replace("pupils", "staff"))
    assert status == 403 and "blocked-for-pupils" in body
    assert staff_status == 200 and "not blocked" in staff_body


def small_window_socket(port: int) -> socket.socket:
    """A client that takes the page slowly: a tiny receive buffer keeps most of the block page in
    the proxy's send queue, which a reset would throw away."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_an_upload_to_a_blocked_site_gets_the_block_page_before_the_connection_closes(
    tmp_path, decider, origin, framing
):
    """The proxy will not read an upload it refuses, but the client must still see the 403: the
    proxy half-closes and discards what keeps arriving, so a TCP reset (closing with unread
    data) cannot destroy the page before the client reads it."""
    part = b"x" * 65536
    if framing == "chunked":
        head = b"Transfer-Encoding: chunked\r\n\r\n"
        body = b"%x\r\n%s\r\n" % (len(part), part) * 64 + b"0\r\n\r\n"
    else:
        head = b"Content-Length: %d\r\n\r\n" % (len(part) * 64)
        body = part * 64
    request = b"POST http://blocked.test/upload HTTP/1.1\r\nHost: blocked.test\r\n" + head

    def upload(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the proxy may stop reading after enough
            sock.sendall(request + body)

    with (
        running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy,
        small_window_socket(proxy.port) as sock,
    ):
        sender = threading.Thread(target=upload, args=(sock,))
        sender.start()
        time.sleep(0.3)  # the proxy has answered; unread upload bytes wait in its buffer
        reply = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                reply += chunk
        sender.join(10)
    assert reply.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"Connection: close" in reply
    assert b"Pupils must not visit sites the school has blocked" in reply
    assert origin.seen == []


def test_a_warn_pass_covers_the_host_however_it_was_written(tmp_path, decider, origin):
    # The pass is filed under the normalised host, the same key the tunnel check and the Squid
    # helper look up, so `WARN.test.` and `warn.test` are one site.
    with running_proxy(tmp_path, lambda: decider, hosts=hosts_for(origin)) as proxy:
        status, _, body = proxy.get("http://WARN.test./article")
        assert status == 403
        token = re.search(r'name="token" value="([^"]+)"', body).group(1)
        url = re.search(r'name="url" value="([^"]+)"', body).group(1)
        assert form_post(
            proxy, "http://gate.test/proceed", {"url": url, "token": token}
        ).status == (303)
        status, _, body = proxy.get("http://warn.test/article")
    assert status == 200 and "origin page for warn.test/article" in body
