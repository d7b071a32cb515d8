"""Shared pieces for the HTTPS inspection tests: a policy that inspects, real HTTPS origin
servers on 127.0.0.1 with their own test CA, the school CA, and a proxy that inspects.

The origins' test CA is not the school CA: the proxy trusts it through the site's extra CA file
(`upstream_ca_file`), exactly as a school would trust an internal CA. One origin presents a
certificate from a CA nobody trusts, so the proxy must refuse it.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from schoolgate.engine.decide import Decider
from schoolgate.engine.policy.loader import parse_policy
from schoolgate.engine.snapshot import Snapshot, compile_snapshot
from schoolgate.gateway.proxy.inspect import HttpsInspector
from schoolgate.gateway.tls.ca import SchoolCa, create_ca, write_ca
from schoolgate.gateway.tls.mint import LeafMinter
from schoolgate.gateway.tls.upstream import upstream_context
from tests.gateway.proxy_support import POLICY, Origin, _OriginHandler

HTTPS_POLICY = (
    POLICY
    + """
keyword_rules:
  - id: search-self-harm
    library: self-harm
    alert: high
    source: {section: Monitoring, quote: "Searches are monitored for signs of risk"}
https:
  enabled: true
  inspect: ["@search-engines", inspected.test, untrusted.test]
  never_inspect: [bank.test]
  source:
    section: Pupil Acceptable Use Agreement KS2
    quote: "I understand that St Thomas More School will monitor my use of the systems"
    requirements: [STM-210]
"""
)

ORIGIN_NAMES = ("www.google.com", "inspected.test", "bank.test", "blocked.test", "plain.test")


def https_snapshot(text: str = HTTPS_POLICY) -> Snapshot:
    snapshot = compile_snapshot(parse_policy(text, "test-academy.yaml"), [])
    snapshot.index.add_domain("bet.test", "gambling")
    return snapshot


@dataclass
class Certificates:
    school: SchoolCa
    school_dir: Path
    origin_ca: SchoolCa
    origin_ca_file: Path
    untrusted_ca: SchoolCa


def make_certificates(tmp: Path) -> Certificates:
    school = create_ca("Test Academy")
    write_ca(school, tmp / "school-ca")
    origin_ca = create_ca("Origin Test")
    origin_file = tmp / "origin-ca.pem"
    origin_file.write_bytes(origin_ca.certificate_pem())
    return Certificates(school, tmp / "school-ca", origin_ca, origin_file, create_ca("Nobody"))


@contextmanager
def https_origin(ca: SchoolCa, default_name: str = "inspected.test") -> Iterator[Origin]:
    """A real HTTPS/1.1 origin on 127.0.0.1 answering for any name (SNI) with `ca`'s leaves."""
    origin = Origin()
    handler = type("Handler", (_OriginHandler,), {"origin": origin})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    context = LeafMinter(ca).sni_context(default_name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    origin.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


def make_inspector(certs: Certificates, decider: Decider) -> HttpsInspector:
    from schoolgate.gateway.tls.ca import load_ca

    return HttpsInspector(
        LeafMinter(load_ca(certs.school_dir)),
        upstream_context(certs.origin_ca_file),
        lambda: decider,
    )


def client_context(*cas: SchoolCa) -> ssl.SSLContext:
    """A client that trusts exactly `cas` (a managed device with the school CA installed)."""
    context = ssl.create_default_context(cadata="".join(c.certificate_pem().decode() for c in cas))
    return context
