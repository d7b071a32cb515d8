"""Wiring the proxy and the pages server together from a site configuration."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from schoolgate.engine.decide import Decider, Subject
from schoolgate.gateway.agreement_state import AGREEMENT_STATE_FILE, AgreementState
from schoolgate.gateway.journal_events import EventSink
from schoolgate.gateway.proxy.gateway_pages import GatewayPages
from schoolgate.gateway.proxy.inspect import HttpsInspector
from schoolgate.gateway.proxy.pages import PageLinks
from schoolgate.gateway.proxy.pages_server import PagesServer
from schoolgate.gateway.proxy.records import (
    REQUESTS_FILE,
    SIGNATURES_FILE,
    WARN_PASSES_FILE,
    RequestLog,
    SignatureStore,
    WarnPasses,
)
from schoolgate.gateway.proxy.server import ProxyServer, ProxySettings
from schoolgate.gateway.proxy.users import Authenticator, load_user_directory
from schoolgate.gateway.site import ProxySiteSettings, parse_host_port
from schoolgate.gateway.tls.ca import load_ca
from schoolgate.gateway.tls.mint import LeafMinter
from schoolgate.gateway.tls.pages_tls import block_page_context
from schoolgate.gateway.tls.upstream import upstream_context


@dataclass
class Gateway:
    proxy: ProxyServer
    pages_server: PagesServer
    pages: GatewayPages
    pages_tls_address: tuple[str, int] | None = None
    """Where the pages are served over HTTPS, once started (`pages_tls_listen`)."""

    def set_pages_url(self, url: str) -> None:
        """Once the pages server is bound (e.g. to an ephemeral port), point every link at it."""
        url = url.rstrip("/")
        authority = _authority(url)
        self.pages.links.base_url = url
        self.proxy.settings.pages_url = url
        self.proxy.pages_authority = authority
        self.pages_server.own_hosts.add(authority)

    async def start(self, settings: ProxySiteSettings) -> tuple[str, str]:
        """Bind the pages server, then the proxy; returns (proxy address, pages URL)."""
        host, port = await self.pages_server.start(*parse_host_port(settings.pages_listen, 80))
        if not settings.pages_url:
            self.set_pages_url(f"http://{join_host_port(host, port)}")
        inspector = self.proxy.inspector
        if settings.pages_tls_listen and inspector is not None:
            default = _authority(self.pages.links.base_url).rsplit(":", 1)[0].strip("[]")
            context = block_page_context(inspector, default)
            self.pages_tls_address = await self.pages_server.start_tls(
                context, *parse_host_port(settings.pages_tls_listen, 443)
            )
        proxy_address = await self.proxy.start(*parse_host_port(settings.listen, 3128))
        return join_host_port(*proxy_address), self.pages.links.base_url

    async def close(self) -> None:
        await self.proxy.close()
        await self.pages_server.close()


def page_secret(state_dir: Path) -> bytes:
    """The key that signs warn click-through links; made once per site, kept private."""
    path = state_dir / "page-secret"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pages_url(settings: ProxySiteSettings) -> str:
    if settings.pages_url:
        return settings.pages_url.rstrip("/")
    return f"http://{join_host_port(*parse_host_port(settings.pages_listen, 80))}"


def join_host_port(host: str, port: int) -> str:
    """`host:port`, an IPv6 address in brackets: what `parse_host_port` reads back."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _authority(url: str) -> str:
    """`http://Gate.test:8081/x` -> `gate.test:8081`: the Host the pages are asked for under."""
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


def build_gateway(
    settings: ProxySiteSettings,
    decider: Callable[[], Decider],
    *,
    identify: Callable[[str], Subject] | None = None,
    journal: EventSink | None = None,
    logon_time: Callable[[str], datetime | None] | None = None,
) -> Gateway:
    """`logon_time(address)`: when the user bound there logged on (each-logon agreements)."""
    state = settings.state_dir
    url = pages_url(settings)
    pages = GatewayPages(
        decider,
        PageLinks(url, page_secret(state)),
        SignatureStore(state / SIGNATURES_FILE),
        RequestLog(state / REQUESTS_FILE),
        WarnPasses(path=state / WARN_PASSES_FILE),
        journal,
        AgreementState.load(state / AGREEMENT_STATE_FILE),
        logon_time,
    )
    users = load_user_directory(settings.users_file) if settings.users_file else None
    inspector = build_inspector(settings, decider)
    proxy = ProxyServer(
        ProxySettings(
            pages_url=url,
            hosts=dict(settings.hosts),
            connect_ports=frozenset(settings.connect_ports),
            require_auth=settings.require_auth,
        ),
        decider,
        pages,
        authenticator=Authenticator(users) if users is not None else None,
        identify=identify,
        journal=journal,
        inspector=inspector,
    )
    own = {_authority(url), settings.pages_listen.lower()}
    return Gateway(proxy, PagesServer(pages, own, identify), pages)


def build_inspector(
    settings: ProxySiteSettings, decider: Callable[[], Decider]
) -> HttpsInspector | None:
    """HTTPS inspection when the site names a school CA (docs/https-limits.md), else None."""
    if settings.tls_ca_dir is None:
        return None
    minter = LeafMinter(load_ca(settings.tls_ca_dir))
    return HttpsInspector(minter, upstream_context(settings.upstream_ca_file), decider)
