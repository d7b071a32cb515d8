"""The pages server over HTTPS: the DNS path's block page for devices that trust the school CA.

The DNS resolver answers a blocked name with the block address. A browser that asked for
`https://blocked.example/` then opens TLS to that address naming `blocked.example` (SNI); the
pages server answers with a certificate for that name minted by the school CA
(`tls/mint.py`) and serves the school's block page for it. Names the policy never inspects
(banking, health, government, pinned apps, support services) get no certificate: their
handshake fails rather than being decrypted for any purpose.

Requirement ids: STM-154 (block pages), STM-079 / STM-210 (users are told).
"""

from __future__ import annotations

import ssl

from schoolgate.gateway.proxy.inspect import HttpsInspector


def block_page_context(inspector: HttpsInspector, default_host: str) -> ssl.SSLContext:
    """A server context minting for each SNI name, refusing the never-inspected ones."""

    def protected(name: str) -> bool:
        return inspector.plan().choice(name).protected

    return inspector.minter.sni_context(default_host, refuse=protected)
