"""Shared pieces for the proxy, Squid-helper and browser tests: a small policy, a real origin
server (the standard library's threading HTTP server) and a proxy running in its own thread."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.loader import parse_policy
from schoolgate.engine.snapshot import Snapshot, compile_snapshot
from schoolgate.gateway.agreement_state import AgreementState
from schoolgate.gateway.journal_events import EventSink
from schoolgate.gateway.proxy.gateway_pages import GatewayPages
from schoolgate.gateway.proxy.pages import PageLinks
from schoolgate.gateway.proxy.records import RequestLog, SignatureStore, WarnPasses
from schoolgate.gateway.proxy.server import ProxyServer, ProxySettings
from schoolgate.gateway.proxy.users import Authenticator, DirectoryUser

POLICY = """
schema_version: 1
school: {id: test-academy, name: Test Academy, policy_title: Online Safety Policy}
contacts:
  - {role: dsl, title: Designated Safeguarding Lead}
groups:
  - {id: pupils, kind: pupil, title: Pupils, agreement_required: false}
  - {id: staff, kind: staff, title: Staff, agreement_required: false}
  - {id: newcomers, kind: pupil, title: New pupils, agreement_required: true, agreement: pupil-aup}
filtering: {default_group: pupils}
rules:
  - id: no-gambling
    groups: [pupils, newcomers]
    categories: [gambling]
    action: block
    alert: low
    source:
      section: Filtering
      quote: "Gambling sites are blocked for pupils"
      requirements: [STM-154]
sites:
  - id: blocked-for-pupils
    title: Sites the school has blocked
    groups: [pupils, newcomers]
    action: block
    sites: [blocked.test]
    source: {section: Filtering, quote: "Pupils must not visit sites the school has blocked"}
  - id: caution
    title: Sites shown with a warning
    groups: [all]
    action: warn
    sites: [warn.test]
    source: {section: Filtering, quote: "Some sites are shown with a warning first"}
alert_routes:
  - {level: low, notify: [dsl]}
agreements:
  - id: pupil-aup
    title: Pupil Acceptable Use Agreement
    groups: [newcomers]
    statements: ["I will only use the internet when a teacher says I can."]
    source: {section: Agreements, quote: "Pupils sign the agreement before using the internet"}
"""


def test_snapshot(policy_text: str = POLICY) -> Snapshot:
    snapshot = compile_snapshot(parse_policy(policy_text, "test-academy.yaml"), [])
    snapshot.index.add_domain("bet.test", "gambling")
    return snapshot


test_snapshot.__test__ = False  # type: ignore[attr-defined]


@dataclass
class Origin:
    """A real HTTP/1.1 origin server on 127.0.0.1 that records what it was sent."""

    port: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)


class _OriginHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    origin: Origin

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self, body: bytes) -> None:
        self.origin.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body.decode("latin-1"),
                "client_port": self.client_address[1],
            }
        )

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return body
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self) -> None:
        self._record(b"")
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        host = self.headers.get("Host", "")
        body = f"<html><title>Origin</title><h1 id=origin>origin page for {host}{self.path}</h1>"
        self._send(200, body.encode())

    def do_POST(self) -> None:
        body = self._read_body()
        self._record(body)
        self._send(200, b"posted:" + body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def running_origin() -> Iterator[Origin]:
    origin = Origin()
    handler = type("Handler", (_OriginHandler,), {"origin": origin})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    origin.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class RunningProxy:
    port: int
    server: ProxyServer
    pages: GatewayPages
    loop: asyncio.AbstractEventLoop

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def get(self, url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
        conn = self.connection()
        try:
            conn.request("GET", url, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()


@contextmanager
def running_proxy(
    tmp: Path,
    decider: Callable[[], Decider],
    *,
    hosts: dict[str, str] | None = None,
    users: dict[str, DirectoryUser] | None = None,
    identify: Callable[[str], Subject] | None = None,
    journal: EventSink | None = None,
    require_auth: bool = False,
    connect_ports: frozenset[int] = frozenset({443}),
    passes: WarnPasses | None = None,
    agreement_state: AgreementState | None = None,
    logon_time: Callable[[str], Any] | None = None,
    inspector: Any = None,
) -> Iterator[RunningProxy]:
    """A ProxyServer on 127.0.0.1:<ephemeral> served from an event loop in a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    pages = GatewayPages(
        decider,
        PageLinks("http://gate.test", b"test-secret"),
        SignatureStore(tmp / "signatures.jsonl"),
        RequestLog(tmp / "requests.jsonl"),
        passes or WarnPasses(),
        journal,
        agreement_state,
        logon_time,
    )
    settings = ProxySettings(
        pages_url="http://gate.test",
        hosts=hosts or {},
        require_auth=require_auth,
        connect_ports=connect_ports,
    )
    server = ProxyServer(
        settings,
        decider,
        pages,
        authenticator=Authenticator(users) if users is not None else None,
        identify=identify,
        journal=journal,
        inspector=inspector,
    )
    _, port = asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield RunningProxy(port, server, pages, loop)
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
