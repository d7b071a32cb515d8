"""Text detection accuracy (libraries + intent grammar + text model) and speed, on real data.

    .venv/bin/python bench/text_accuracy.py [--shared ../shared] [--rounds 3] [--speed-only]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/text_accuracy.py --passes 2     # and --passes 0: instructions

Reports, per theme, precision and recall on the HELD-OUT split (training/text_data.py: a fixed
20 % of each shared set by hash, never trained on or used to choose thresholds) and on the
project's held-out self-harm file (training/data/self_harm_heldout.tsv), plus the false-alert
rate on the benign NQ queries, and the scanning speed on the NQ queries in texts per CPU-second
(one core; `--speed-only` skips the accuracy part, for re-measuring on a quiet machine).
`--passes N` only scans the NQ queries N times with the full scanner after one untimed pass and
prints nothing: run under callgrind with N = 2 and N = 0, the difference of the instructions
collected divided by 2 x 3,610 is the instructions per scan, whatever the machine's load.
Thresholds are the model's defaults (as a policy without `text_thresholds` gets). Prints counts
and rates only: the labelled sets contain hate speech.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from schoolgate.engine.policy.schema import AlertLevel  # noqa: E402
from schoolgate.engine.taxonomy import KEYWORD_LIBRARIES  # noqa: E402
from schoolgate.engine.text import keywords  # noqa: E402
from schoolgate.engine.text.keywords import KeywordScanner  # noqa: E402
from schoolgate.engine.text.model import default_thresholds  # noqa: E402
from training.text_data import (  # noqa: E402
    Example,
    davidson,
    nq,
    own_self_harm,
    split_of,
    stormfront,
)

LEVELS = (AlertLevel.LOW, AlertLevel.MEDIUM, AlertLevel.HIGH)


def scanner(libraries: Iterable[str]) -> KeywordScanner:
    return KeywordScanner.from_libraries(list(libraries), default_thresholds())


def levels(scan: KeywordScanner, texts: list[str]) -> list[int]:
    return [scan.scan(text).alert.rank for text in texts]


def rate(ranks: list[int], floor: AlertLevel) -> float:
    return sum(r >= floor.rank for r in ranks) / max(len(ranks), 1)


def precision_recall(pos: list[int], neg: list[int], floor: AlertLevel) -> tuple[float, float]:
    true_pos = sum(r >= floor.rank for r in pos)
    false_pos = sum(r >= floor.rank for r in neg)
    return true_pos / max(true_pos + false_pos, 1), true_pos / max(len(pos), 1)


def heldout(examples: Iterable[Example]) -> list[Example]:
    return [e for e in examples if split_of(e.text) == "heldout"]


def report_self_harm() -> dict[str, float]:
    scan = scanner(["self-harm"])
    rows = list(own_self_harm("self_harm_heldout.tsv"))
    print(f"Self-harm, project held-out set ({len(rows)} sentences), self-harm library + model")
    out: dict[str, float] = {}
    for kind in ("at-risk", "supportive", "neutral"):
        ranks = levels(scan, [e.text for e in rows if e.kind == kind])
        cells = "  ".join(f">= {f.value}: {rate(ranks, f):6.1%}" for f in LEVELS)
        print(f"  {kind:<10} n={len(ranks):3d}  {cells}")
        out[kind] = rate(ranks, AlertLevel.HIGH)
    bullying = scanner(["bullying"])
    supportive = [e.text for e in rows if e.kind == "supportive"]
    filed = rate(levels(bullying, supportive), AlertLevel.LOW)
    print(f"  supportive filed as bullying (>= low): {filed:.1%}")
    return out


def report_bullying(shared: Path) -> dict[str, float]:
    scan = scanner(["bullying"])
    tweets = heldout(davidson(shared))
    pos = levels(scan, [e.text for e in tweets if e.labels[1] == 1])
    neg = levels(scan, [e.text for e in tweets if e.labels[1] == 0])
    queries = levels(scan, [e.text for e in heldout(nq(shared))])
    own = [e.text for e in own_self_harm("self_harm_heldout.tsv")]
    own_ranks = levels(scan, own)
    print(
        f"Bullying/abuse, Davidson held-out ({len(pos)} hate+offensive, {len(neg)} neither), "
        "bullying library + model"
    )
    out: dict[str, float] = {}
    for floor in LEVELS:
        precision, recall = precision_recall(pos, neg, floor)
        print(
            f"  >= {floor.value:<6} precision {precision:.3f}  recall {recall:.3f}  "
            f"false alerts: Davidson neither {rate(neg, floor):.1%}, NQ {rate(queries, floor):.2%}"
            f", self-harm set {rate(own_ranks, floor):.1%}"
        )
        out[floor.value] = recall
    everything = neg + queries + own_ranks
    out["false"] = rate(everything, AlertLevel.MEDIUM)
    print(
        f"  false alerts >= medium on all non-bullying text ({len(everything)}): {out['false']:.2%}"
    )
    return out


def report_hate(shared: Path) -> None:
    scan = scanner(["extremism"])
    sentences = heldout(stormfront(shared))
    pos = levels(scan, [e.text for e in sentences if e.labels[2] == 1])
    neg = levels(scan, [e.text for e in sentences if e.labels[2] == 0])
    print(
        f"Hate/extremism, Stormfront held-out ({len(pos)} hate, {len(neg)} noHate), "
        "extremism library + model"
    )
    for floor in LEVELS:
        precision, recall = precision_recall(pos, neg, floor)
        print(f"  >= {floor.value:<6} precision {precision:.3f}  recall {recall:.3f}")
    tweets = heldout(davidson(shared))
    hate = levels(scan, [e.text for e in tweets if e.kind == "hate"])
    rest = levels(scan, [e.text for e in tweets if e.kind != "hate"])
    for floor in (AlertLevel.MEDIUM,):
        precision, recall = precision_recall(hate, rest, floor)
        print(
            f"  Davidson held-out hate ({len(hate)}) vs rest ({len(rest)}), >= {floor.value}: "
            f"precision {precision:.3f}  recall {recall:.3f}"
        )


def report_benign(shared: Path) -> float:
    scan = scanner(KEYWORD_LIBRARIES)
    everything = [e.text for e in nq(shared)]
    held = [e.text for e in heldout(nq(shared))]
    print(
        f"Benign NQ queries, all seven libraries + model: held-out {len(held)}, all "
        f"{len(everything)}"
    )
    result = 0.0
    for name, texts in (("held-out", held), ("all", everything)):
        ranks = levels(scan, texts)
        cells = "  ".join(f">= {f.value}: {sum(r >= f.rank for r in ranks):3d}" for f in LEVELS)
        print(f"  {name:<8} false alerts  {cells}")
        if name == "all":
            result = rate(ranks, AlertLevel.MEDIUM)
    return result


def report_speed(shared: Path, rounds: int) -> float:
    """Texts per second on one core, every library + grammar + model, model cache cleared.

    Each scanner first reads every text once, untimed (the model file, the grammar's patterns
    and the model's token table load on first use, as in a gateway that has been running);
    then `rounds` timed rounds, the two scanners interleaved."""
    scan = scanner(KEYWORD_LIBRARIES)
    plain = KeywordScanner.from_libraries(list(KEYWORD_LIBRARIES))
    texts = [e.text for e in nq(shared)]
    for target in (plain, scan):
        for text in texts:
            target.scan(text)
    wall: dict[str, list[float]] = {"model": [], "plain": []}
    cpu: dict[str, list[float]] = {"model": [], "plain": []}
    for _ in range(rounds):
        for name, target in (("plain", plain), ("model", scan)):
            keywords._model_scores.cache_clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            for text in texts:
                target.scan(text)
            cpu[name].append(len(texts) / (time.process_time() - start_cpu))
            wall[name].append(len(texts) / (time.perf_counter() - start))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Speed on {len(texts)} search-sized texts, {rounds} rounds, load average {load}")
    for label, values in (
        ("libraries + grammar + model (CPU time)", cpu["model"]),
        ("libraries + grammar + model (wall)", wall["model"]),
        ("libraries + grammar, no model (CPU time)", cpu["plain"]),
        ("libraries + grammar, no model (wall)", wall["plain"]),
    ):
        print(
            f"  {label:<42} min {min(values):8,.0f}  median {statistics.median(values):8,.0f}  "
            f"max {max(values):8,.0f} texts/s"
        )
    return statistics.median(cpu["model"])


def scan_passes(shared: Path, passes: int) -> None:
    """One untimed pass, then `passes` passes over the NQ queries (model cache cleared before
    each): the work whose instructions callgrind counts."""
    scan = scanner(KEYWORD_LIBRARIES)
    texts = [e.text for e in nq(shared)]
    for text in texts:
        scan.scan(text)
    for _ in range(passes):
        keywords._model_scores.cache_clear()
        for text in texts:
            scan.scan(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed-only", action="store_true", help="skip the accuracy part")
    parser.add_argument("--passes", type=int, help="only scan NQ N times (for callgrind)")
    args = parser.parse_args()
    if args.passes is not None:
        scan_passes(args.shared, args.passes)
        return
    if args.speed_only:
        speed = report_speed(args.shared, args.rounds)
        print(f">= 20,000 texts/s per core (CPU time, median): {speed:,.0f}")
        return
    self_harm = report_self_harm()
    bullying = report_bullying(args.shared)
    report_hate(args.shared)
    benign = report_benign(args.shared)
    speed = report_speed(args.shared, args.rounds)
    print("Goals:")
    print(f"  at-risk self-harm at high >= 80%: {self_harm['at-risk']:.1%}")
    print(f"  supportive at high < 25%: {self_harm['supportive']:.1%}")
    print(f"  bullying recall at medium >= 50%: {bullying['medium']:.1%}")
    print(f"  false alerts at medium on non-bullying <= 3%: {bullying['false']:.2%}")
    print(f"  NQ false alerts at medium = 0: {benign:.2%}")
    print(f"  >= 20,000 texts/s per core (CPU time, median): {speed:,.0f}")


if __name__ == "__main__":
    main()
