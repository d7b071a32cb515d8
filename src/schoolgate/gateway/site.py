"""The site configuration: how one school's gateway is wired into its network.

The policy says what is allowed; this file says where the services listen, which upstream
resolvers to use, where the block page lives, which subnets hold which groups, and where the
snapshot, journal and login bindings are. Relative paths are relative to the configuration file.

    snapshot: var/snapshot.sgs
    journal: var/journal
    block_page: {ipv4: 10.0.0.5, ipv6: "fd00::5"}
    dns:
      listen: ["0.0.0.0:53"]
      upstreams: ["10.0.0.1:53", "9.9.9.9:53"]
    subnets:
      - {network: 10.20.0.0/16, group: pupils, title: pupil VLAN}
      - {network: 10.30.0.0/16, group: staff}
    bindings_file: var/bindings.json
    bindings_listen: 127.0.0.1:8053
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError


class SiteError(ValueError):
    """The site configuration is unreadable or invalid; the message says where and why."""


def parse_host_port(text: str, default_port: int = 53) -> tuple[str, int]:
    """`127.0.0.1:53`, `[::1]:5353`, `::1` or `10.0.0.1` -> (address, port)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [address]:port")
        port_text = rest[1:] or str(default_port)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, str(default_port)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} in {text!r} is not an IP address") from None
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"port {port_text!r} in {text!r} is not a number from 0 to 65535")
    return host, int(port_text)


def _host_port(text: str) -> str:
    parse_host_port(text)
    return text


HostPort = Annotated[str, AfterValidator(_host_port)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DnsSettings(Strict):
    listen: list[HostPort] = Field(default_factory=lambda: ["127.0.0.1:5353"])
    upstreams: list[HostPort] = Field(default_factory=lambda: ["127.0.0.1:53"], min_length=1)
    timeout: float = Field(default=2.0, gt=0, le=30)
    """Seconds to wait for one upstream attempt."""
    retries: int = Field(default=2, ge=0, le=10)
    """Further attempts after the first, moving round the upstreams."""
    cache_entries: int = Field(default=50_000, ge=0)
    max_cache_ttl: int = Field(default=86_400, ge=0)
    block_ttl: int = Field(default=60, ge=0)
    """TTL of block-page and NXDOMAIN answers for blocked names."""
    doh_lists: list[Path] = Field(default_factory=list)
    """Plain files of DNS-over-HTTPS host names, blocked for everyone."""
    safe_search_tables: Path | None = None
    """A directory of AdGuard `$dnsrewrite` tables (google.txt, bing.txt...)."""
    journal_allowed: bool = True
    """Journal allowed lookups too (every decision); False keeps only blocks and warnings."""


class BlockPage(Strict):
    ipv4: ipaddress.IPv4Address | None = ipaddress.IPv4Address("127.0.0.1")
    ipv6: ipaddress.IPv6Address | None = ipaddress.IPv6Address("::1")
    url: str | None = None


class Subnet(Strict):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    group: str
    title: str = ""


class ProxySiteSettings(Strict):
    """The HTTP proxy and the gateway pages (block, warn, agreement); see docs/https-limits.md."""

    listen: HostPort = "127.0.0.1:3128"
    pages_listen: HostPort = "127.0.0.1:8081"
    pages_url: str | None = None
    """How browsers reach the pages; default `http://<pages_listen>`."""
    hosts: dict[str, str] = Field(default_factory=dict)
    """Names (`name` or `*.suffix`) the proxy connects to at a fixed `address[:port]`."""
    users_file: Path | None = None
    """YAML user directory (name -> group, password hash), exported by the staff app."""
    require_auth: bool = False
    connect_ports: list[int] = Field(default_factory=lambda: [443])
    state_dir: Path = Path("var/gateway")
    """Agreement signatures, unblock requests and the page-signing secret."""
    tls_ca_dir: Path | None = None
    """The school CA (`schoolgate ca init`): set it to enable optional HTTPS inspection and
    block pages over HTTPS (docs/https-limits.md). The policy says which hosts are inspected."""
    upstream_ca_file: Path | None = None
    """One extra CA file trusted for origins of inspected sessions (tests, an internal CA)."""
    pages_tls_listen: HostPort | None = None
    """With `tls_ca_dir`: also serve the pages over HTTPS here (the block address, port 443),
    so a name the DNS resolver blocked shows the block page over HTTPS too."""


class SiteConfig(Strict):
    school: str | None = None
    snapshot: Path | None = None
    journal: Path = Path("var/journal")
    block_page: BlockPage = Field(default_factory=BlockPage)
    dns: DnsSettings = Field(default_factory=DnsSettings)
    subnets: list[Subnet] = Field(default_factory=list)
    bindings_file: Path | None = None
    """JSON file of address -> user bindings written by logins or a DHCP hook."""
    bindings_listen: HostPort | None = None
    """Where the HTTP endpoint that accepts bindings listens (keep it on a management address)."""
    bindings_token: str | None = None
    """If set, POSTs must carry `Authorization: Bearer <token>`."""
    proxy: ProxySiteSettings = Field(default_factory=ProxySiteSettings)

    def resolved(self, base: Path) -> SiteConfig:
        """A copy with relative paths made relative to `base` (the config file's directory)."""

        def fix(path: Path | None) -> Path | None:
            return path if path is None or path.is_absolute() else base / path

        dns = self.dns.model_copy(
            update={
                "doh_lists": [fix(p) for p in self.dns.doh_lists],
                "safe_search_tables": fix(self.dns.safe_search_tables),
            }
        )
        return self.model_copy(
            update={
                "snapshot": fix(self.snapshot),
                "journal": fix(self.journal),
                "bindings_file": fix(self.bindings_file),
                "dns": dns,
                "proxy": self.proxy.model_copy(
                    update={
                        "users_file": fix(self.proxy.users_file),
                        "state_dir": fix(self.proxy.state_dir),
                        "tls_ca_dir": fix(self.proxy.tls_ca_dir),
                        "upstream_ca_file": fix(self.proxy.upstream_ca_file),
                    }
                ),
            }
        )


def load_site(path: str | Path) -> SiteConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SiteError(f"{path}: cannot read site configuration: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SiteError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SiteError(f"{path}: the site configuration must be a mapping")
    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise SiteError(_describe(path, exc)) from None
    return site.resolved(path.parent.resolve())


def _describe(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid site configuration:"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)
