"""The site configuration file: where the gateway listens, its upstreams, subnets and paths."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from schoolgate.gateway.site import SiteError, load_site, parse_host_port


def test_host_port_forms() -> None:
    assert parse_host_port("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_host_port("[::1]:53") == ("::1", 53)
    assert parse_host_port("::1") == ("::1", 53)
    assert parse_host_port("10.0.0.1", default_port=8053) == ("10.0.0.1", 8053)
    for bad in ("localhost:53", "10.0.0.1:http", "10.0.0.1:70000", "[::1"):
        with pytest.raises(ValueError):
            parse_host_port(bad)


def test_load_site_resolves_relative_paths(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(
        "snapshot: var/snap.sgs\n"
        "journal: /srv/journal\n"
        "bindings_file: var/bindings.json\n"
        "block_page: {ipv4: 10.0.0.5, ipv6: null}\n"
        "dns: {listen: ['0.0.0.0:53'], upstreams: ['10.0.0.1:53', '[fd00::1]:53'], retries: 1}\n"
        "subnets:\n  - {network: 10.20.0.0/16, group: pupils, title: pupil VLAN}\n"
    )
    site = load_site(config)
    assert site.snapshot == tmp_path / "var/snap.sgs"
    assert site.journal == Path("/srv/journal")
    assert site.bindings_file == tmp_path / "var/bindings.json"
    assert site.block_page.ipv4 == ipaddress.IPv4Address("10.0.0.5")
    assert site.block_page.ipv6 is None
    assert site.dns.upstreams == ["10.0.0.1:53", "[fd00::1]:53"]
    assert site.subnets[0].network == ipaddress.ip_network("10.20.0.0/16")


def test_bad_site_config_says_where_and_why(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("dns: {upstreams: ['dns.example:53'], timeout: -1}\nsubnets: [{group: x}]\n")
    with pytest.raises(SiteError) as caught:
        load_site(config)
    message = str(caught.value)
    assert str(config) in message
    assert "dns.upstreams.0" in message and "not an IP address" in message
    assert "dns.timeout" in message
    assert "subnets.0.network" in message
    config.write_text("listen: [")
    with pytest.raises(SiteError, match="not valid YAML"):
        load_site(config)
    with pytest.raises(SiteError, match="cannot read"):
        load_site(tmp_path / "missing.yaml")
