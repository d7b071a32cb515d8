"""Keyword scanning accuracy and speed on real, labelled data from ../shared/data.

    .venv/bin/python bench/keyword_accuracy.py [--shared ../shared] [--show-benign-hits]

Prints counts and rates only: the labelled sets contain hate speech, so no text is printed
(except, with --show-benign-hits, the benign NQ queries that raised an alert, for tuning).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.targets import parse_target
from schoolgate.engine.taxonomy import KEYWORD_LIBRARIES
from schoolgate.engine.text.keywords import KeywordScanner
from schoolgate.engine.text.normalise import normalise
from schoolgate.engine.text.search import extract_search

REPO = Path(__file__).resolve().parents[1]
ABUSE_LIBRARIES = ("bullying", "extremism", "sexual")


def nq_queries(shared: Path) -> list[str]:
    folder = shared / "data" / "queries-nq"
    queries = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            queries.extend(json.loads(line)["question"] for line in lines if line.strip())
    return queries


def davidson(shared: Path) -> list[tuple[str, int]]:
    """(tweet, class): 0 hate speech, 1 offensive language, 2 neither."""
    path = shared / "data" / "text-davidson-offensive" / "labeled_data.csv"
    with path.open(encoding="utf-8", newline="") as rows:
        return [(row["tweet"], int(row["class"])) for row in csv.DictReader(rows)]


def stormfront(shared: Path) -> list[tuple[str, bool]]:
    """(sentence, is_hate), leaving out the `relation` and `idk/skip` labels."""
    path = shared / "data" / "text-stormfront-dev" / "stormfront_dev.csv"
    with path.open(encoding="utf-8", newline="") as rows:
        return [
            (row["text"], row["label"] == "hate")
            for row in csv.DictReader(rows)
            if row["label"] in ("hate", "noHate")
        ]


def flagged(scanner: KeywordScanner, texts: Iterable[str], floor: AlertLevel) -> list[bool]:
    return [scanner.scan(text).alert.rank >= floor.rank for text in texts]


def precision_recall(predicted: list[bool], actual: list[bool]) -> tuple[float, float, int]:
    true_pos = sum(p and a for p, a in zip(predicted, actual, strict=True))
    positives = sum(predicted)
    precision = true_pos / positives if positives else 0.0
    recall = true_pos / sum(actual) if any(actual) else 0.0
    return precision, recall, positives


def rate(predicate: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        predicate()
    return count / (time.perf_counter() - start)


def report_benign(scanner: KeywordScanner, queries: list[str], show: bool) -> None:
    print(f"NQ benign queries: {len(queries)}")
    raw = [scanner.scan(q) for q in queries]
    for floor in (AlertLevel.LOW, AlertLevel.MEDIUM, AlertLevel.HIGH):
        hits = sum(r.alert.rank >= floor.rank for r in raw)
        print(f"  alert >= {floor.value:<6}: {hits:4d} ({hits / len(queries):.2%})")
    for floor in (AlertLevel.LOW, AlertLevel.MEDIUM):
        hits = sum(
            any(h.severity.rank >= floor.rank for h in (*r.hits, *r.suppressed)) for r in raw
        )
        print(f"  term >= {floor.value:<6} before context: {hits:4d} ({hits / len(queries):.2%})")
    terms = Counter(hit.term for result in raw for hit in (*result.hits, *result.suppressed))
    print(f"  terms that hit (incl. suppressed): {dict(terms.most_common(15))}")
    if show:
        for query, result in zip(queries, raw, strict=True):
            if result.alert.rank >= AlertLevel.LOW.rank:
                print(f"    {result.alert.value:8} {query!r} {[h.term for h in result.hits]}")


def report_labelled(name: str, scanner: KeywordScanner, texts: list[str], actual: list[bool]):
    print(f"{name}: {len(texts)} texts, {sum(actual)} positive")
    for floor in (AlertLevel.LOW, AlertLevel.MEDIUM):
        precision, recall, positives = precision_recall(flagged(scanner, texts, floor), actual)
        print(
            f"  alert >= {floor.value:<6}: flagged {positives:5d}  "
            f"precision {precision:.3f}  recall {recall:.3f}"
        )


def report_speed(scanner: KeywordScanner, queries: list[str], tweets: list[str]) -> None:
    loops = 5
    start = time.perf_counter()
    for _ in range(loops):
        for query in queries:
            scanner.scan(query)
    scans = loops * len(queries) / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(loops):
        for query in queries:
            normalise(query)
    norms = loops * len(queries) / (time.perf_counter() - start)
    start = time.perf_counter()
    for tweet in tweets:
        scanner.scan(tweet)
    tweet_rate = len(tweets) / (time.perf_counter() - start)
    url = parse_target("https://www.google.co.uk/search?q=how+to+stay+safe+online&hl=en")
    extracts = rate(lambda: extract_search(url), 50_000)
    start = time.perf_counter()
    KeywordScanner.from_libraries(list(KEYWORD_LIBRARIES))
    build_ms = (time.perf_counter() - start) * 1000
    print("Speed (one core, all seven libraries):")
    print(f"  scan:           {scans:10,.0f} queries/s ({1e6 / scans:.1f} µs each)")
    print(f"  scan tweets:    {tweet_rate:10,.0f} texts/s ({1e6 / tweet_rate:.1f} µs each, tweets)")
    print(f"  normalise only: {norms:10,.0f} queries/s ({1e6 / norms:.1f} µs each)")
    print(f"  extract_search: {extracts:10,.0f} URLs/s ({1e6 / extracts:.1f} µs each)")
    print(f"  build scanner:  {build_ms:.0f} ms (library files already parsed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--show-benign-hits", action="store_true")
    args = parser.parse_args()

    everything = KeywordScanner.from_libraries(list(KEYWORD_LIBRARIES))
    abuse = KeywordScanner.from_libraries(list(ABUSE_LIBRARIES))
    queries = nq_queries(args.shared)
    report_benign(everything, queries, args.show_benign_hits)

    tweets = davidson(args.shared)
    texts = [text for text, _ in tweets]
    report_labelled("Davidson hate+offensive vs neither", abuse, texts, [c < 2 for _, c in tweets])
    report_labelled("Davidson hate vs rest", abuse, texts, [c == 0 for _, c in tweets])
    sentences = stormfront(args.shared)
    report_labelled(
        "Stormfront hate vs noHate",
        abuse,
        [text for text, _ in sentences],
        [hate for _, hate in sentences],
    )
    print(f"(labelled sets scanned with libraries: {', '.join(ABUSE_LIBRARIES)})")
    report_speed(everything, queries, texts)


if __name__ == "__main__":
    main()
