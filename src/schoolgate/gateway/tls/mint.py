"""Leaf certificates minted on the fly for the hosts the gateway answers over TLS.

For an inspected host, or a blocked one whose page must be shown over HTTPS, the gateway
presents a certificate for that host name signed by the school CA (`tls/ca.py`). Certificates
are short-lived (`LEAF_HOURS`), share one in-memory ECDSA key per process (the key never touches
disk: the server context loads it from an anonymous memory file) and are kept in a bounded
least-recently-used cache (with a smaller one of ready `ssl.SSLContext`s), re-minted before they
expire. Contexts offer HTTP/1.1 only by ALPN, so browsers never try HTTP/2 inside an inspected
session.

Requirement ids: STM-079 (activity on the school's systems is monitored), STM-154 (block
pages), CAV-027 / HG-084 (users are told).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import ssl
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from schoolgate.gateway.tls.ca import SchoolCa

LEAF_HOURS = 24
REMINT_SECONDS = 12 * 3600
"""A cached leaf older than this is minted again, so none is served within 12 h of expiry."""
CACHE_ENTRIES = 10_000
CONTEXT_ENTRIES = 1_000
ALPN = ["http/1.1"]


@dataclass(slots=True)
class _Leaf:
    minted: float
    pem: bytes


class LeafMinter:
    """Two bounded LRU caches: signed certificates (about 1.5 KiB each, `max_entries`), and
    the `ssl.SSLContext`s built from them (about 20 KiB each in OpenSSL, `max_contexts`). A
    host whose context was evicted gets a new one from its cached certificate, without signing
    again."""

    def __init__(
        self, ca: SchoolCa, max_entries: int = CACHE_ENTRIES, max_contexts: int = CONTEXT_ENTRIES
    ) -> None:
        self.ca = ca
        self.max_entries = max_entries
        self.max_contexts = max_contexts
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._key_pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._cache: OrderedDict[str, _Leaf] = OrderedDict()
        self._contexts: OrderedDict[str, tuple[float, ssl.SSLContext]] = OrderedDict()
        self.minted = 0

    def __len__(self) -> int:
        return len(self._cache)

    def context_for(self, host: str) -> ssl.SSLContext:
        """A server context presenting a certificate for `host` (cached)."""
        host = host.lower().rstrip(".")
        now = time.monotonic()
        cached = self._contexts.get(host)
        if cached is not None and now - cached[0] < REMINT_SECONDS:
            self._contexts.move_to_end(host)
            self._cache.move_to_end(host)
            return cached[1]
        leaf = self._leaf(host, now)
        context = self._server_context(leaf.pem)
        self._contexts[host] = (leaf.minted, context)
        self._contexts.move_to_end(host)
        while len(self._contexts) > self.max_contexts:
            self._contexts.popitem(last=False)
        return context

    def _leaf(self, host: str, now: float) -> _Leaf:
        leaf = self._cache.get(host)
        if leaf is None or now - leaf.minted >= REMINT_SECONDS:
            leaf = _Leaf(now, self.certificate_pem(host))
            self._cache[host] = leaf
        self._cache.move_to_end(host)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return leaf

    def sni_context(
        self, default_host: str, refuse: Callable[[str], bool] | None = None
    ) -> ssl.SSLContext:
        """A context that answers each handshake with a certificate for the name the client
        asked for (SNI), or for `default_host` when it named none (an IP address). A name
        `refuse` says yes to gets no certificate at all: the handshake fails."""

        def choose(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> int | None:
            if name and refuse is not None and refuse(name):
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            if name:
                sock.context = self.context_for(name)
            return None

        context = self._server_context(self.certificate_pem(default_host))
        context.sni_callback = choose
        return context

    def certificate_pem(self, host: str) -> bytes:
        self.minted += 1
        now = dt.datetime.now(dt.UTC)
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self.ca.name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(hours=LEAF_HOURS))
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca.key.public_key()),
                critical=False,
            )
            .sign(self.ca.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM)

    def _server_context(self, certificate_pem: bytes) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(ALPN)
        with _memory_file(certificate_pem + self._key_pem) as path:
            context.load_cert_chain(path)
        return context


@contextlib.contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """A path to `data` that lives in memory only (Linux memfd), else a private temp file."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("schoolgate-leaf", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.NamedTemporaryFile(prefix="schoolgate-leaf-") as handle:  # pragma: no cover
        handle.write(data)
        handle.flush()
        yield handle.name
