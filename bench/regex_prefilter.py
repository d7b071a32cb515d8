"""Lookups per second with N list expressions: the literal prefilter against the plain paths.

    .venv/bin/python bench/regex_prefilter.py [--shared ../shared] [--expressions 1000] [--rounds 3]

Expressions are built the way category lists write them, `(^|[./_-])TOKEN[0-9]*([./_-]|$)`, from
the distinct second-level labels of UT1 gambling domains; the addresses are real UT1 URL entries
of every other category plus a few that do match. Three matchers answer the same addresses, rounds
interleaved:

- `combined`: one alternation of every expression tried first, then each one (the index before
  the prefilter);
- `plain`: every expression tried in turn;
- `prefilter`: Aho–Corasick over the expressions' required literals, then only the candidates.

All three must give identical masks (checked every round). Prints min / median / max lookups per
second and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

from schoolgate.engine.lists.index import compile_expressions
from schoolgate.engine.lists.prefilter import ExpressionMatcher, plain_expression_mask

REPO = Path(__file__).resolve().parents[1]


def tokens(ut1: Path, count: int) -> list[str]:
    labels = set()
    for line in (ut1 / "gambling" / "domains").read_text("utf-8").splitlines():
        parts = line.strip().split(".")
        if len(parts) >= 2 and parts[-2].isalnum() and len(parts[-2]) >= 4:
            labels.add(parts[-2].lower())
    return sorted(labels)[:count]


def addresses(ut1: Path, words: list[str], count: int) -> list[str]:
    rng = random.Random(7)
    urls = []
    for path in sorted(ut1.glob("*/urls")):
        if path.parent.name not in ("gambling", "arjel"):
            urls += [u.strip() for u in path.read_text("utf-8").splitlines() if u.strip()]
    rng.shuffle(urls)
    sample = urls[: count - count // 20]
    sample += [f"www.{rng.choice(words)}.com/play" for _ in range(count // 20)]
    return sample


def combined_mask(compiled, url: str) -> int:
    combined, simple, grouped = compiled
    mask = 0
    for regex, bits in grouped:
        if regex.search(url):
            mask |= bits
    if combined is not None and combined.search(url):
        for regex, bits in simple:
            if regex.search(url):
                mask |= bits
    return mask


def rate(function, urls: list[str]) -> tuple[float, list[int]]:
    started = time.perf_counter()
    masks = [function(url) for url in urls]
    return len(urls) / (time.perf_counter() - started), masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--expressions", type=int, default=1000)
    parser.add_argument("--addresses", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ut1 = args.shared / "data" / "ut1"
    words = tokens(ut1, args.expressions)
    expressions = [(rf"(^|[./_-]){w}[0-9]*([./_-]|$)", 1 << (i % 8)) for i, w in enumerate(words)]
    urls = addresses(ut1, words, args.addresses)
    started = time.perf_counter()
    matcher = ExpressionMatcher(expressions)
    built = time.perf_counter() - started
    compiled = compile_expressions(expressions)
    matchers = {
        "combined": lambda url: combined_mask(compiled, url),
        "plain": lambda url: plain_expression_mask(matcher.regexes, url),
        "prefilter": matcher.mask,
    }
    rates: dict[str, list[float]] = {name: [] for name in matchers}
    for _ in range(args.rounds):
        answers = []
        for name, function in matchers.items():
            per_second, masks = rate(function, urls)
            rates[name].append(per_second)
            answers.append(masks)
        assert all(a == answers[0] for a in answers), "matchers disagree"
    print(
        f"{len(expressions)} expressions ({len(matcher.always)} without a literal), "
        f"{len(urls)} addresses, {sum(1 for m in answers[0] if m)} matching; "
        f"prefilter built in {built * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    for name, values in rates.items():
        print(
            f"  {name:10} lookups/s  min {min(values):>9,.0f}  median "
            f"{statistics.median(values):>9,.0f}  max {max(values):>9,.0f}"
        )


if __name__ == "__main__":
    main()
