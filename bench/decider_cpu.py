"""CPU time per uncached `Decider.decide` (microseconds): St Thomas More's policy without the
default lists (its site lists and the host-name guesses), 53 mixed hosts and searches, 212,000
decisions. Compare two source trees interleaved, e.g. before and after a decider change:

    for r in 1 2 3; do PYTHONPATH=/tmp/old/src python bench/decider_cpu.py; \\
        PYTHONPATH=src python bench/decider_cpu.py; done
"""

from __future__ import annotations

import time
from datetime import datetime

from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot

ROUNDS = 4000


def main() -> None:
    decider = Decider(compile_snapshot(load_policy("policies/st-thomas-more.yaml"), []))
    targets = [f"http://site{i}.example/page" for i in range(50)] + [
        "http://www.google.com/search?q=tudor+houses",
        "http://bbc.co.uk/news",
        "http://www.google.com/search?q=noose+knot",
    ]
    when = datetime(2026, 12, 3, 10, 30)
    subjects = [Subject("pupil-ks2"), Subject("staff")]
    started = time.process_time()
    for i in range(ROUNDS):
        for target in targets:
            decider.decide(subjects[i & 1], target, when)
    spent = time.process_time() - started
    print(f"{spent * 1e6 / (ROUNDS * len(targets)):.2f} us CPU per decision")


if __name__ == "__main__":
    main()
