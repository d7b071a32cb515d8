"""TLS to origin servers for inspected sessions: full verification, never silently relaxed.

The gateway stands in for the browser, so it must check what the browser would have checked:
the certificate chain against the system's trusted roots (plus, for tests or an internal CA,
one extra CA file from the site configuration) and the host name. A failure is never retried
without checking: the user gets a page that says what was wrong (`certificate_problem`).
HTTP/1.1 is asked for by ALPN, the only protocol the proxy speaks.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from schoolgate.gateway.proxy.http import MAX_HEAD_BYTES
from schoolgate.gateway.proxy.upstream import Address, Connection

CONNECT_TIMEOUT = 10.0


class UpstreamCertificateError(Exception):
    """The origin's certificate failed verification; `problem` says why in plain words."""

    def __init__(self, host: str, problem: str) -> None:
        super().__init__(f"{host}: {problem}")
        self.host = host
        self.problem = problem


def upstream_context(extra_ca_file: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=str(extra_ca_file))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


async def open_tls(address: Address, host: str, context: ssl.SSLContext) -> Connection:
    """Connect to `address` and verify that it is `host`."""
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(
                address.host,
                address.port,
                ssl=context,
                server_hostname=host.strip("[]"),
                limit=MAX_HEAD_BYTES,
            ),
            CONNECT_TIMEOUT,
        )
    except ssl.SSLCertVerificationError as exc:
        raise UpstreamCertificateError(host, certificate_problem(exc)) from None


def certificate_problem(exc: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's verdict as a sentence a teacher can act on."""
    message = str(exc.verify_message or exc.reason or exc)
    lowered = message.lower()
    if "hostname mismatch" in lowered or "ip address mismatch" in lowered:
        return "its certificate was issued for a different site name"
    if "expired" in lowered:
        return "its certificate has expired"
    if "not yet valid" in lowered:
        return "its certificate is not valid yet"
    if "self-signed" in lowered or "self signed" in lowered:
        return "its certificate is self-signed: nobody trusted vouches for it"
    if "local issuer" in lowered or "unable to get issuer" in lowered:
        return "its certificate was issued by an authority that is not trusted"
    if "revoked" in lowered:
        return "its certificate has been revoked"
    return f"its certificate could not be verified ({message})"
