"""The development text for the text model, and the fixed split every script agrees on.

Sources (read-only, never copied into the repository; see ../shared/data/README.md):
- text-davidson-offensive: tweets, class 0 hate / 1 offensive / 2 neither;
- text-stormfront-dev: forum sentences, hate / noHate;
- queries-nq: real benign search queries;
- training/data/self_harm_train.tsv: the project's own self-harm set (at-risk / supportive /
  neutral); training/data/self_harm_heldout.tsv is a separate file, never trained or tuned on.

`split_of(text)` puts every shared text in `train` (60 %), `validation` (20 %, used only to
choose default thresholds) or `heldout` (20 %, used only by bench/text_accuracy.py to report)
by a stable hash of the text, so the split never changes between runs or machines.

Labels per theme: 1 positive, 0 negative, None not used for that theme.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWN_DATA = REPO / "training" / "data"
THEMES = ("self-harm", "bullying", "extremism")


@dataclass(frozen=True, slots=True)
class Example:
    source: str
    text: str
    labels: tuple[int | None, ...]
    """One per theme in THEMES."""
    kind: str
    """The source's own label (e.g. "hate", "offensive", "supportive")."""


def split_of(text: str) -> str:
    bucket = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest()) % 5
    return "heldout" if bucket == 0 else "validation" if bucket == 1 else "train"


def davidson(shared: Path) -> Iterator[Example]:
    path = shared / "data" / "text-davidson-offensive" / "labeled_data.csv"
    with path.open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            label = int(row["class"])
            kind = ("hate", "offensive", "neither")[label]
            yield Example("davidson", row["tweet"], (0, int(label < 2), int(label == 0)), kind)


def stormfront(shared: Path) -> Iterator[Example]:
    path = shared / "data" / "text-stormfront-dev" / "stormfront_dev.csv"
    with path.open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            if row["label"] not in ("hate", "noHate"):
                continue
            hate = row["label"] == "hate"
            # Forum hate is about groups, not at a person: not used for the bullying theme;
            # the other sentences are ordinary prose, negatives for bullying.
            bullying = None if hate else 0
            yield Example("stormfront", row["text"], (0, bullying, int(hate)), row["label"])


def nq(shared: Path) -> Iterator[Example]:
    path = shared / "data" / "queries-nq" / "NQ-open.dev.jsonl"
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield Example("nq", json.loads(line)["question"], (0, 0, 0), "benign")


def own_self_harm(name: str) -> Iterator[Example]:
    """`self_harm_train.tsv` or `self_harm_heldout.tsv` (label<TAB>text, # comments)."""
    path = OWN_DATA / name
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in ("at-risk", "supportive", "neutral"):
            raise ValueError(f"{path}:{number}: expected at-risk|supportive|neutral<TAB>text")
        yield Example("self-harm-set", text, (int(label == "at-risk"), 0, 0), label)


def shared_examples(shared: Path) -> list[Example]:
    return [*davidson(shared), *stormfront(shared), *nq(shared)]
