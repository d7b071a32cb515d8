"""A running gateway for the self-test tests: the DNS resolver and the proxy on 127.0.0.1,
sharing one snapshot file they hot-reload, groups told apart by source address (127.0.0.2
pupils, 127.0.0.3 staff, 127.0.0.4 new pupils), both journalling to disk. The proxy's host
overrides send every probe host to a real local origin, which must see nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from schoolgate.events.journal import JournalWriter
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.site import Subnet
from tests.gateway.dns_harness import Gateway
from tests.gateway.proxy_support import POLICY, Origin, RunningProxy, running_origin, running_proxy
from tests.gateway.proxy_support import test_snapshot as policy_snapshot

ASKERS = {"pupils": "127.0.0.2", "staff": "127.0.0.3", "newcomers": "127.0.0.4"}


def snapshot(policy: str = POLICY) -> Any:
    snap = policy_snapshot(policy)
    snap.index.add_domain("casino.test", "gambling")
    return snap


@dataclass
class RunningGateway:
    dns: Gateway
    proxy: RunningProxy
    origin: Origin
    holder: SnapshotHolder
    journal: JournalWriter

    @property
    def dns_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.dns.port)

    @property
    def proxy_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.proxy.port)

    def sign(self, address: str) -> None:
        """The device at `address` signs the new pupils' agreement on the gateway's page."""
        self.proxy.pages.signatures.sign(f"address:{address}", "pupil-aup", datetime.now())

    def republish(self, snap: Any) -> None:
        """What the staff app and `policy compile` do: a new snapshot file, hot-reloaded."""
        snap.save(self.holder.path)
        assert self.holder.reload()


@contextmanager
def running_gateway(tmp: Path, askers: dict[str, str] = ASKERS) -> Iterator[RunningGateway]:
    path = tmp / "gateway.sgs"
    snapshot().save(path)
    holder = SnapshotHolder(path)
    who = Identity([Subnet(network=f"{a}/32", group=g) for g, a in askers.items()])
    journal = JournalWriter(tmp / "journal-proxy", flush_interval=0.01)
    dns = Gateway(None, tmp / "journal-dns", holder=holder, identity=who)
    try:
        with running_origin() as origin:
            hosts = {"*.test": f"127.0.0.1:{origin.port}"}
            with running_proxy(
                tmp, lambda: holder.decider, hosts=hosts, identify=who.identify, journal=journal
            ) as proxy:
                yield RunningGateway(dns, proxy, origin, holder, journal)
    finally:
        dns.close()
        journal.close()
