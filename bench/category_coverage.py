"""Category coverage: how much of each shared list a pupil group is kept from, with the default
manifest; and the host-name classifier's precision on lists it was not built from.

    .venv/bin/python bench/category_coverage.py [--shared ../shared] [--policy FILE]
        [--group pupil-ks2] [--sample 2000] [--classifier-only]

Part 1: for every list file the default manifest names (and every UT1 category folder), a sample
of its hosts is decided for the pupil group exactly as the gateway would (`Decider` over the
snapshot of `lists/default.yaml`). A list in the manifest should be ~100% *categorised*; whether
it is *blocked* is the policy's choice (social media, streaming…). Hosts only reached through the
classifier's guesses are counted apart.

Part 2: the classifier's precision and recall per `likely-*` category, measured on sources it was
not built from (see `HELD_OUT`): blocklistproject gambling for gambling (built from UT1), UT1's
adult URLs and mixed_adult for adult (built from ShadowWhisperer), vpn-proxy-hosts for VPN and
proxy (built from UT1; blocklistproject's "redirect" list, mostly web proxies, counts as proxy).
Negatives come in two pools, reported apart: `ORDINARY` (the service domains of Facebook, TikTok,
Twitter, WhatsApp, YouTube, Fortnite and the DoH servers: ordinary names) and `OTHER_HARMFUL`
(the other held-out harm lists: drugs, piracy, scams, malware…). A flagged host from a negative
pool counts as a false positive even when it really is, say, a casino (these aggregated lists mix
kinds), so precision against `OTHER_HARMFUL` is a lower bound.

Prints counts and rates only.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schoolgate.engine.lists.host_classifier import HostClassifier, name_part, shipped_classifier

REPO = Path(__file__).resolve().parents[1]

ORDINARY = (
    *(f"blocklistproject/{n}.txt" for n in ("facebook", "tiktok", "twitter", "whatsapp")),
    *(f"blocklistproject/{n}.txt" for n in ("youtube", "fortnite")),
    "doh-servers/doh-domains_overall.txt",
)
"""Held-out lists of ordinary service names: no classifier category was built from them."""
OTHER_HARMFUL = (
    *(f"blocklistproject/{n}.txt" for n in ("crypto", "drugs", "piracy", "ransomware", "scam")),
    *(f"blocklistproject/{n}.txt" for n in ("torrent", "vaping")),
    "shadowwhisperer/Malware",
    "shadowwhisperer/Scam",
)
"""Held-out harm lists of other kinds (not redirect.txt: "malicious redirects" that are mostly
web proxies, so a proxy source)."""
NEGATIVE_POOLS = {"ordinary": ORDINARY, "other harmful": OTHER_HARMFUL}
HELD_OUT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # category: (positive sources, extra negative sources)
    "likely-gambling": (("blocklistproject/gambling.txt",), ("shadowwhisperer/Adult",)),
    "likely-adult": (
        ("ut1/adult/urls", "ut1/mixed_adult/domains"),
        ("blocklistproject/gambling.txt",),
    ),
    "likely-vpn": (
        ("vpn-proxy-hosts/input/hostname_ip/*", "vpn-proxy-hosts/input/hostname_only/misc.txt"),
        ("blocklistproject/gambling.txt",),
    ),
    "likely-proxy": (
        ("vpn-proxy-hosts/input/hostname_only/proxy.txt", "blocklistproject/redirect.txt"),
        ("blocklistproject/gambling.txt",),
    ),
}

NOW = datetime.now(UTC)
"""Every sampled host is decided for the same moment."""


def hosts_of(path: Path) -> list[str]:
    """Host names of a list file in any of the shared formats (hosts, plain, adblock, URLs)."""
    hosts = []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("!"):
            continue
        fields = text.split()
        host = fields[1] if len(fields) > 1 and fields[0] in ("0.0.0.0", "127.0.0.1") else fields[0]
        host = host.removeprefix("||").removesuffix("^").split("/", 1)[0].split(",", 1)[0]
        if "." in host and not host.replace(".", "").replace(":", "").isdigit():
            hosts.append(host.lower())
    return hosts


def names_of(data: Path, patterns: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        for path in sorted(data.glob(pattern)):
            if path.is_file():
                names |= {name_part(h) for h in hosts_of(path)}
    names.discard("")
    return names


@dataclass(frozen=True)
class Precision:
    category: str
    pool: str
    positives: int
    negatives: int
    true_positives: int
    false_positives: int

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 0.0


def classifier_precision(
    data: Path, classifier: HostClassifier | None = None
) -> list[Precision]:
    """Per `likely-*` category and negative pool, on held-out registered names (one per site,
    not one per server: `uk1234.nordvpn.com` and `us5.nordvpn.com` are one `nordvpn`)."""
    classifier = classifier or shipped_classifier()

    def flagged(names: set[str], category: str) -> int:
        # A registered name is classified as `name.x`: the classifier only reads the name part.
        return sum(1 for n in names if category in classifier.categories(n + ".x"))

    pools = {pool: names_of(data, sources) for pool, sources in NEGATIVE_POOLS.items()}
    results = []
    for category, (positive_sources, extra_negatives) in HELD_OUT.items():
        positives = names_of(data, positive_sources)
        true_positives = flagged(positives, category)
        for pool, names in pools.items():
            if pool == "other harmful":
                names = names | names_of(data, extra_negatives)
            negatives = names - positives
            results.append(
                Precision(
                    category,
                    pool,
                    len(positives),
                    len(negatives),
                    true_positives,
                    flagged(negatives, category),
                )
            )
    return results


# --- coverage with the default manifest ------------------------------------------------------


def coverage_rows(shared: Path, policy: Path, group: str, sample: int) -> list[tuple]:
    from schoolgate.commands._snapshots import cached_snapshot
    from schoolgate.engine.decide import Decider, Subject
    from schoolgate.engine.lists.manifest import load_manifest
    from schoolgate.engine.policy.schema import Action
    from schoolgate.engine.taxonomy import LIKELY_CATEGORIES, UT1_MAPPING

    data = shared / "data"
    manifest_path = REPO / "lists" / "default.yaml"
    started = time.perf_counter()
    decider = Decider(cached_snapshot(policy, [manifest_path], data_root=data))
    print(f"snapshot ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    subject = Subject(group)
    lists: list[tuple[str, str, Path]] = []
    for entry in load_manifest(manifest_path, data_root=data).entries:
        if entry.format == "ut1":
            for folder in sorted(entry.file.iterdir()):
                category = UT1_MAPPING.get(folder.name)
                if (folder / "domains").is_file() and category:
                    lists.append((f"ut1/{folder.name}", category, folder / "domains"))
        elif entry.format != "expressions":
            for file in entry.files:
                lists.append((str(file.relative_to(data.resolve())), entry.category, file))
    rng = random.Random(14)
    rows = []
    for name, category, path in lists:
        hosts = sorted(set(hosts_of(path)))
        if not hosts:
            continue
        chosen = rng.sample(hosts, min(sample, len(hosts)))
        blocked = warned = categorised = likely_only = 0
        decisions = []
        for host in chosen:
            try:
                decisions.append(decider.decide(subject, host, NOW))
            except ValueError:  # a line the importer also skips (an invalid host name)
                continue
        for decision in decisions:
            blocked += decision.action is Action.BLOCK
            warned += decision.action is Action.WARN
            categories = set(decision.categories)
            categorised += category in categories
            likely_only += bool(categories) and categories <= LIKELY_CATEGORIES
        n = len(decisions)
        rows.append((name, category, n, categorised / n, blocked / n, warned / n, likely_only / n))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--policy", type=Path, default=REPO / "policies" / "st-thomas-more.yaml")
    parser.add_argument("--group", default="pupil-ks2")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--classifier-only", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("\nHost-name classifier on held-out lists (registered names):")
    print(
        "| category | negatives pool | held-out positives | negatives | flagged true "
        "| flagged false | precision | recall |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for p in classifier_precision(args.shared / "data"):
        print(
            f"| {p.category} | {p.pool} | {p.positives:,} | {p.negatives:,} | "
            f"{p.true_positives:,} | {p.false_positives:,} | {p.precision:.3f} | {p.recall:.3f} |"
        )
    if args.classifier_only:
        return
    rows = coverage_rows(args.shared, args.policy, args.group, args.sample)
    print(f"\nCoverage for group {args.group} of {args.policy.name} with lists/default.yaml:")
    print("| list | category | sampled | in its category | blocked | warned | by guess only |")
    print("|---|---|---|---|---|---|---|")
    for name, category, n, categorised, blocked, warned, likely in rows:
        print(
            f"| {name} | {category} | {n:,} | {categorised:.1%} | {blocked:.1%} | {warned:.1%} "
            f"| {likely:.1%} |"
        )


if __name__ == "__main__":
    main()
