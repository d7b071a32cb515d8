"""Learn the host-name tokens of the `likely-*` categories from UT1 and ShadowWhisperer.

    .venv/bin/python lists/build_host_tokens.py [--shared ../shared] [-o FILE]

(default output: src/schoolgate/data/host_tokens.json).

For each category, the *positive* names are the name parts (`host_classifier.name_part`) of one
source's list, the *background* names those of every other UT1 folder (jobs, shopping, press,
banking, malware, phishing, …) except the folders of the same kind of site (`RELATED`). A token
is kept when

- it is in at least `MIN_SUPPORT` positive names, and
- it is at least `MIN_RATIO` times as frequent among positive names as among background names
  (background count + 1, so a token never seen outside the positives still needs support);

then a greedy cover picks, again and again, the token that matches most positive names not yet
matched (weighted by the token's length, so `casino` beats its fragment `casi`), while it adds at
least `MIN_SUPPORT` of them (at most `MAX_TOKENS`). Learnt substring tokens have 5–10 letters
(shorter ones, `oxy`, `gama`, are fragments of too many ordinary words); two-letter words only
count as whole letter runs. The hand-written `SEEDS` may be shorter.
Tokens overlapping a help word (`abuse`, `help`, `support`…) are never used: a safeguarding help
site must not look like a threat.

Sources (the evaluation uses only lists *not* named here; see tests/engine/test_host_classifier.py):

| category | learnt from | background |
|---|---|---|
| likely-gambling | UT1 gambling | the rest of UT1 |
| likely-adult | ShadowWhisperer Adult | the rest of UT1 |
| likely-vpn | UT1 vpn | the rest of UT1 |
| likely-proxy | UT1 redirector (proxy) | the rest of UT1 |

Deterministic: the same data gives the same file.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from schoolgate.engine.lists.host_classifier import name_part

REPO = Path(__file__).resolve().parents[1]
MIN_SUPPORT = 20
MIN_RATIO = 300.0
MAX_TOKENS = 400
SUBSTRING_LENGTHS = range(5, 11)
SEGMENT_LENGTHS = range(2, 3)
HELP_WORDS = ("abuse", "help", "support", "rape", "advice", "victim", "safe", "health", "child")
"""Never a token, nor part of one: a help or safeguarding site must not look like a threat."""
RELATED: dict[str, tuple[str, ...]] = {
    "likely-gambling": ("gambling", "arjel", "games", "bitcoin"),
    "likely-adult": ("adult", "mixed_adult", "lingerie", "dating"),
    "likely-vpn": ("vpn", "redirector", "strict_redirector", "strong_redirector", "doh"),
    "likely-proxy": ("vpn", "redirector", "strict_redirector", "strong_redirector", "doh"),
}
"""UT1 folders left out of a category's background: they hold its own kind of site."""
SEEDS: dict[str, dict[str, list[str]]] = {
    "likely-gambling": {
        "substrings": ["casino", "poker", "slots", "betting", "bookmaker", "roulette", "jackpot"],
        "segments": ["bet", "bets"],
    },
    "likely-adult": {
        "substrings": ["porn", "xxx", "xvideo", "hentai", "camgirl", "milf"],
        "segments": ["sex", "sexy", "nude", "nudes"],
    },
    "likely-vpn": {"substrings": ["vpn"], "segments": []},
    "likely-proxy": {"substrings": ["proxy", "unblock", "bypass", "anonymi"], "segments": []},
}
"""Hand-written tokens every category starts from (the words the issue names); the learnt ones
are added to them. Short or ambiguous words (`bet`, `sex`) only count as whole letter runs, so
`alphabet` and `sussex` do not match."""
NOT_BACKGROUND = (
    *("reaffected", "special"),
    *("malware", "phishing", "cryptojacking", "ddos", "hacking"),  # sites of every kind
)
_LETTERS = re.compile(r"[a-z]+")


def plain_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text("utf-8", errors="replace").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.split()
        host = fields[-1] if len(fields) > 1 else fields[0]
        host = host.removeprefix("||").removesuffix("^").split("/", 1)[0]
        if "." in host and not host.replace(".", "").isdigit():
            names.add(name_part(host))
    names.discard("")
    return names


def ut1_names(ut1: Path, categories: tuple[str, ...]) -> set[str]:
    names: set[str] = set()
    for category in categories:
        path = ut1 / category / "domains"
        if path.is_file():
            names |= plain_names(path)
    return names


def features(name: str) -> tuple[set[str], set[str]]:
    letters = _LETTERS.findall(name)
    substrings = {
        run[i : i + n]
        for run in letters
        for n in SUBSTRING_LENGTHS
        for i in range(len(run) - n + 1)
    }
    segments = {run for run in letters if len(run) in SEGMENT_LENGTHS}
    return substrings, segments


def learn(positive: set[str], background: set[str]) -> dict[str, list[str]]:
    pos_sub: Counter[str] = Counter()
    pos_seg: Counter[str] = Counter()
    for name in positive:
        substrings, segments = features(name)
        pos_sub.update(substrings)
        pos_seg.update(segments)
    candidates_sub = {t for t, n in pos_sub.items() if n >= MIN_SUPPORT}
    candidates_seg = {t for t, n in pos_seg.items() if n >= MIN_SUPPORT}
    bg_sub: Counter[str] = Counter()
    bg_seg: Counter[str] = Counter()
    for name in background:
        substrings, segments = features(name)
        bg_sub.update(substrings & candidates_sub)
        bg_seg.update(segments & candidates_seg)
    scale = len(positive) / max(1, len(background))

    def good(pos: Counter[str], bg: Counter[str], candidates: set[str]) -> set[str]:
        return {
            t
            for t in candidates
            if pos[t] >= MIN_RATIO * scale * (bg[t] + 1)
            and not any(t in word or word in t for word in HELP_WORDS)
        }

    return cover(
        positive,
        good(pos_sub, bg_sub, candidates_sub),
        good(pos_seg, bg_seg, candidates_seg),
    )


def cover(positive: set[str], substrings: set[str], segments: set[str]) -> dict[str, list[str]]:
    """Greedy cover: take the token that matches most names not yet matched, while it adds at
    least `MIN_SUPPORT` (so fragments such as `asinobetsi`, whose names `casino` already
    matches, are left out), up to `MAX_TOKENS`."""
    matches: dict[tuple[str, str], set[int]] = {}
    for number, name in enumerate(sorted(positive)):
        name_substrings, name_segments = features(name)
        for token in name_substrings & substrings:
            matches.setdefault(("substrings", token), set()).add(number)
        for token in name_segments & segments:
            matches.setdefault(("segments", token), set()).add(number)
    chosen: dict[str, list[str]] = {"substrings": [], "segments": []}
    covered: set[int] = set()
    while len(chosen["substrings"]) + len(chosen["segments"]) < MAX_TOKENS and matches:
        key = max(matches, key=lambda k: (len(matches[k] - covered) * len(k[1]), k))
        names = matches.pop(key)
        if len(names - covered) < MIN_SUPPORT:
            break
        chosen[key[0]].append(key[1])
        covered |= names
    return {kind: sorted(tokens) for kind, tokens in chosen.items()}


def ut1_folders(ut1: Path) -> dict[str, set[str]]:
    return {
        folder.name: plain_names(folder / "domains")
        for folder in sorted(ut1.iterdir())
        if (folder / "domains").is_file() and folder.name not in NOT_BACKGROUND
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    default = REPO / "src" / "schoolgate" / "data" / "host_tokens.json"
    parser.add_argument("-o", "--output", type=Path, default=default)
    args = parser.parse_args()
    data = args.shared / "data"
    ut1 = data / "ut1"
    folders = ut1_folders(ut1)
    sources = {
        "likely-gambling": ("UT1 gambling", ut1_names(ut1, ("gambling",))),
        "likely-adult": ("ShadowWhisperer Adult", plain_names(data / "shadowwhisperer" / "Adult")),
        "likely-vpn": ("UT1 vpn", ut1_names(ut1, ("vpn",))),
        "likely-proxy": ("UT1 redirector", ut1_names(ut1, ("redirector",))),
    }
    model: dict[str, dict] = {}
    for category, (source, positive) in sources.items():
        related = RELATED[category]
        background = set().union(*(n for f, n in folders.items() if f not in related))
        tokens = learn(positive - background, background - positive)
        others = [t for c, seeds in SEEDS.items() if c != category for t in seeds["substrings"]]
        # A learnt token holding another category's seed (`proxy` among VPN names) is that one's.
        tokens["substrings"] = [t for t in tokens["substrings"] if not any(o in t for o in others)]
        for kind, seeds in SEEDS[category].items():
            tokens[kind] = sorted(set(tokens[kind]) | set(seeds))
        model[category] = {
            "source": source,
            "positive_names": len(positive),
            "background": f"UT1 except {', '.join(related)} ({len(background):,} names)",
            **tokens,
        }
        print(
            f"{category}: {len(tokens['substrings'])} substrings, {len(tokens['segments'])} "
            f"segments from {len(positive):,} {source} names"
        )
    output = {
        "built_by": "lists/build_host_tokens.py",
        "min_support": MIN_SUPPORT,
        "min_ratio": MIN_RATIO,
        "categories": model,
    }
    args.output.write_text(json.dumps(output, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
