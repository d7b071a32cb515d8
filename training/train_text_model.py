"""Train Schoolgate's text model and write it into the package.

    .venv/bin/python -m training.train_text_model [--shared ../shared]
        [--out src/schoolgate/data/text_model.json]

One logistic regression per theme (self-harm, bullying, extremism) over the features of
`schoolgate.engine.text.model.features` (word unigrams, bigrams, long-word prefixes; identity
words folded into one placeholder), trained with AdaGrad and L2 on the `train` split of
training/text_data.py. Deterministic: fixed example order, a seeded shuffle, rounded weights, so
the same data always gives the same file. Default thresholds per theme are chosen on the
`validation` split only; the `heldout` split and training/data/self_harm_heldout.tsv are never
read here. Prints counts and rates only (the data contains hate speech).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import Counter
from pathlib import Path

from schoolgate.engine.text.canonical import canonical
from schoolgate.engine.text.keywords import identity_words
from schoolgate.engine.text.model import features
from schoolgate.engine.text.normalise import normalise
from training.text_data import REPO, THEMES, Example, own_self_harm, shared_examples, split_of

EPOCHS = 6
LEARNING_RATE = 0.3
L2 = 2e-6
MIN_COUNT = 3
KEEP_WEIGHT = 0.1
POSITIVE_WEIGHT_CAP = 10.0
SEED = 20261203
SCALE = 1000
"""Weights are stored as integers in thousandths (a smaller file; the same scores to 1e-3)."""

# Validation goals for the default thresholds (false alerts among negatives of the theme).
MEDIUM_FALSE_ALERTS = {"self-harm": 0.002, "bullying": 0.02, "extremism": 0.02}
LOW_FALSE_ALERTS = {"self-harm": 0.02, "bullying": 0.08, "extremism": 0.08}
NQ_LOW_FALSE_ALERTS = 0.003


def featurise(examples: list[Example]) -> list[list[str]]:
    identity = identity_words()
    return [features(canonical(normalise(e.text)), identity) for e in examples]


def train_theme(
    rows: list[tuple[list[str], int]], vocabulary: set[str], seed: int
) -> tuple[float, dict[str, float]]:
    positives = sum(label for _, label in rows)
    negatives = len(rows) - positives
    positive_weight = min(POSITIVE_WEIGHT_CAP, negatives / max(positives, 1))
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias, bias_square = 0.0, 1e-8
    order = list(range(len(rows)))
    rng = random.Random(seed)
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for index in order:
            feats, label = rows[index]
            feats = [f for f in feats if f in vocabulary]
            z = bias + sum(weights.get(f, 0.0) for f in feats)
            p = 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
            gradient = (p - label) * (positive_weight if label else 1.0)
            bias_square += gradient * gradient
            bias -= LEARNING_RATE * gradient / math.sqrt(bias_square)
            for f in feats:
                g = gradient + L2 * weights.get(f, 0.0)
                squares[f] = squares.get(f, 1e-8) + g * g
                weights[f] = weights.get(f, 0.0) - LEARNING_RATE * g / math.sqrt(squares[f])
    return bias, weights


def threshold_for(scores: list[float], goal: float) -> float:
    """The smallest threshold (2 decimals) with at most `goal` of negatives reaching it."""
    ranked = sorted(scores, reverse=True)
    allowed = int(goal * len(ranked))
    cut = ranked[allowed] if allowed < len(ranked) else 0.0
    return min(0.99, math.floor(cut * 100 + 1) / 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO / "src/schoolgate/data/text_model.json")
    args = parser.parse_args()

    shared = shared_examples(args.shared)
    own = list(own_self_harm("self_harm_train.tsv"))
    train = [e for e in shared if split_of(e.text) == "train"]
    train += [e for e in own if split_of(e.text) == "train"]
    validation = [e for e in shared if split_of(e.text) == "validation"]
    validation += [e for e in own if split_of(e.text) != "train"]
    print(f"train {len(train)} texts, validation {len(validation)} texts")

    train_features = featurise(train)
    counts = Counter(f for feats in train_features for f in set(feats))
    vocabulary = {f for f, n in counts.items() if n >= MIN_COUNT}
    print(f"vocabulary: {len(vocabulary)} features seen at least {MIN_COUNT} times")

    biases: list[float] = []
    per_theme: list[dict[str, float]] = []
    for i, theme in enumerate(THEMES):
        rows = [
            (feats, e.labels[i])
            for feats, e in zip(train_features, train, strict=True)
            if e.labels[i] is not None
        ]
        bias, weights = train_theme(rows, vocabulary, SEED + i)  # type: ignore[arg-type]
        biases.append(round(bias, 4))
        per_theme.append(weights)
        print(f"{theme}: {sum(r[1] for r in rows)} positive of {len(rows)}")

    kept = sorted(
        f for f in vocabulary if any(abs(w.get(f, 0.0)) >= KEEP_WEIGHT for w in per_theme)
    )
    model = {
        "version": 1,
        "themes": list(THEMES),
        "bias": biases,
        "scale": SCALE,
        "weights": {f: [round(w.get(f, 0.0) * SCALE) for w in per_theme] for f in kept},
    }
    model["thresholds"] = choose_thresholds(model, validation)
    args.out.write_text(json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {args.out} ({len(kept)} features, {args.out.stat().st_size // 1024} KiB)")
    print(f"default thresholds (validation split): {model['thresholds']}")


def choose_thresholds(model: dict, validation: list[Example]) -> dict[str, dict[str, float]]:
    """Per theme, the lowest thresholds that keep false alerts within the goals on every
    source of the validation split, and no benign NQ query at `medium`."""
    from schoolgate.engine.text.model import TextModel

    scorer = TextModel.from_json(model)
    probabilities = [scorer.probabilities(f) for f in featurise(validation)]
    chosen: dict[str, dict[str, float]] = {}
    for i, theme in enumerate(THEMES):
        by_source: dict[str, list[float]] = {}
        for p, e in zip(probabilities, validation, strict=True):
            if e.labels[i] == 0:
                by_source.setdefault(e.source, []).append(p[i])
        benign = by_source.get("nq", [0.0])
        medium = max(threshold_for(v, MEDIUM_FALSE_ALERTS[theme]) for v in by_source.values())
        medium = max(medium, max(benign) + 0.01)
        low = max(threshold_for(v, LOW_FALSE_ALERTS[theme]) for v in by_source.values())
        low = max(low, threshold_for(benign, NQ_LOW_FALSE_ALERTS))
        chosen[theme] = {"low": round(min(low, medium), 2), "medium": round(min(medium, 0.99), 2)}
    return chosen


if __name__ == "__main__":
    main()
