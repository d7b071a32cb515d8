"""One wiring of the gateway's services, shared by `schoolgate dns`, `schoolgate proxy` and
`schoolgate serve`, so the same settings mean the same thing whichever command runs them.

The DNS resolver is built here from the site's `dns` settings (upstream timeout, retries, answer
cache size and TTL cap, block TTL, DoH lists, safe-search tables, journalling of allowed names);
`serve` passes `DnsSettings` with its own listen address and upstreams and every other setting at
its documented default. The proxy and pages are built by `proxy.assemble.build_gateway`.
"""

from __future__ import annotations

from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.dns.filtering import load_doh_domains
from schoolgate.gateway.dns.resolver import Resolver
from schoolgate.gateway.dns.safesearch import SafeSearch
from schoolgate.gateway.dns.upstream import Upstream
from schoolgate.gateway.journal_events import EventSink
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.site import BlockPage, DnsSettings, parse_host_port


def dns_resolver(
    settings: DnsSettings,
    holder: SnapshotHolder,
    *,
    who: WhoIsAsking,
    journal: EventSink | None,
    block_page: BlockPage,
) -> Resolver:
    """Raises OSError / SafeSearchTableError when a DoH list or safe-search table is unreadable."""
    upstream = Upstream(
        [parse_host_port(u) for u in settings.upstreams],
        timeout=settings.timeout,
        retries=settings.retries,
        cache_entries=settings.cache_entries,
        max_ttl=settings.max_cache_ttl,
    )
    return Resolver(
        holder,
        upstream,
        who=who,
        journal=journal,
        block_page=block_page,
        block_ttl=settings.block_ttl,
        safe_search=SafeSearch.from_directory(settings.safe_search_tables),
        doh_domains=load_doh_domains(settings.doh_lists),
        journal_allowed=settings.journal_allowed,
    )
