"""Accuracy of keyword scanning on real data in ../shared/data (read-only, never copied in).

Measured numbers and the command that produced them are in docs/benchmarks.md
("Keyword scanning accuracy and speed"); the floors here sit a little under them.
Nothing here prints the texts: the labelled sets contain hate speech.
"""

from __future__ import annotations

import csv
import json

import pytest

from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.taxonomy import KEYWORD_LIBRARIES
from schoolgate.engine.text.keywords import KeywordScanner
from schoolgate.engine.text.model import default_thresholds
from tests.conftest import DATA
from training.text_data import davidson, nq, own_self_harm, split_of, stormfront

SHARED = DATA.parent

ABUSE_LIBRARIES = ["bullying", "extremism", "sexual"]


@pytest.fixture(scope="module")
def everything() -> KeywordScanner:
    return KeywordScanner.from_libraries(list(KEYWORD_LIBRARIES))


@pytest.fixture(scope="module")
def abuse() -> KeywordScanner:
    return KeywordScanner.from_libraries(ABUSE_LIBRARIES)


def nq_queries() -> list[str]:
    path = DATA / "queries-nq" / "NQ-open.dev.jsonl"
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line)["question"] for line in lines if line.strip()]


def rate_at(scanner: KeywordScanner, texts: list[str], floor: AlertLevel) -> list[bool]:
    return [scanner.scan(text).alert.rank >= floor.rank for text in texts]


def precision_recall(flagged: list[bool], actual: list[bool]) -> tuple[float, float]:
    true_pos = sum(f and a for f, a in zip(flagged, actual, strict=True))
    return true_pos / max(sum(flagged), 1), true_pos / max(sum(actual), 1)


def test_benign_search_queries_rarely_alert(everything: KeywordScanner) -> None:
    """Over-flagging harms pupils: < 0.2% of 3,610 real benign queries may raise >= medium."""
    queries = nq_queries()
    assert len(queries) == 3610
    medium = sum(rate_at(everything, queries, AlertLevel.MEDIUM))
    low = sum(rate_at(everything, queries, AlertLevel.LOW))
    assert medium / len(queries) < 0.002, medium
    assert low / len(queries) < 0.005, low


@pytest.mark.parametrize(
    "query",
    [
        "sharp objects cast",
        "to kill a mockingbird summary",
        "who killed martin luther king",
        "breaking bad meth episode",
        "suicide squad",
        "shooting stars meaning",
        "how to kill weeds in the lawn",
        "weed killer for patios",
        "drug trafficking county lines pshe",
        "nazi germany ks3 history",
        "ku klux klan civil rights history",
        "cutting board chopping",
        "sex education year 9",
        "the holocaust gcse",
        "13 reasons why season 2",
        "die hard film",
        "how to shoot a basketball",
        "bomb calorimeter chemistry",
        "the great gatsby essay",
        "what is radicalisation",
        "how do vaccines kill viruses",
        "gun powder plot 1605",
        "assassination of jfk",
    ],
)
def test_alarming_but_benign_school_queries_stay_below_medium(
    everything: KeywordScanner, query: str
) -> None:
    assert everything.scan(query).alert.rank < AlertLevel.MEDIUM.rank, query


def test_recall_on_offensive_and_hate_tweets(abuse: KeywordScanner) -> None:
    """Davidson et al.: class 0 hate, 1 offensive, 2 neither (24,783 tweets)."""
    path = DATA / "text-davidson-offensive" / "labeled_data.csv"
    with path.open(encoding="utf-8", newline="") as rows:
        tweets = [(row["tweet"], int(row["class"])) for row in csv.DictReader(rows)]
    flagged = rate_at(abuse, [text for text, _ in tweets], AlertLevel.LOW)
    precision, recall = precision_recall(flagged, [label < 2 for _, label in tweets])
    assert precision > 0.97 and recall > 0.85, (precision, recall)
    _, hate_recall = precision_recall(flagged, [label == 0 for _, label in tweets])
    assert hate_recall > 0.75, hate_recall


def test_precision_on_white_supremacist_forum_sentences(abuse: KeywordScanner) -> None:
    """de Gibert et al. Stormfront dev: keyword lists catch only explicit hate (low recall)."""
    path = DATA / "text-stormfront-dev" / "stormfront_dev.csv"
    with path.open(encoding="utf-8", newline="") as rows:
        labelled = [
            (row["text"], row["label"] == "hate")
            for row in csv.DictReader(rows)
            if row["label"] in ("hate", "noHate")
        ]
    flagged = rate_at(abuse, [text for text, _ in labelled], AlertLevel.MEDIUM)
    precision, recall = precision_recall(flagged, [hate for _, hate in labelled])
    base_rate = sum(hate for _, hate in labelled) / len(labelled)
    assert precision > 3 * base_rate, (precision, base_rate)
    assert recall > 0.05, recall


# --- libraries + intent grammar + text model, on the held-out split ------------------------
# Measured with bench/text_accuracy.py (docs/benchmarks.md, "Text detection"); floors sit a
# little under the measured numbers. The held-out split is never trained on nor used to choose
# the model's default thresholds (training/text_data.py).


def _modelled(libraries: list[str]) -> KeywordScanner:
    return KeywordScanner.from_libraries(libraries, default_thresholds())


def _share(scanner: KeywordScanner, texts: list[str], floor: AlertLevel) -> float:
    return sum(rate_at(scanner, texts, floor)) / max(len(texts), 1)


def test_self_harm_heldout_at_risk_reach_high_and_supportive_do_not() -> None:
    """Goal: at-risk recall at `high` >= 80 % with supportive text below 25 % (measured
    80.0 % and 2.5 % on the project's 140-sentence held-out set)."""
    rows = list(own_self_harm("self_harm_heldout.tsv"))
    scanner = _modelled(["self-harm"])
    at_risk = [e.text for e in rows if e.kind == "at-risk"]
    supportive = [e.text for e in rows if e.kind == "supportive"]
    assert _share(scanner, at_risk, AlertLevel.HIGH) >= 0.75
    assert _share(scanner, supportive, AlertLevel.HIGH) <= 0.10
    bullying = _modelled(["bullying"])
    assert _share(bullying, supportive, AlertLevel.LOW) <= 0.10  # care is not bullying


def test_bullying_heldout_recall_and_false_alerts_at_medium() -> None:
    """Goal: recall >= 50 % at `medium` with <= 3 % false alerts on non-bullying text
    (measured on Davidson held-out: recall 81.7 %; false alerts 3.6 % of "neither" tweets,
    1.8 % of all non-bullying text incl. NQ and the self-harm set)."""
    tweets = [e for e in davidson(SHARED) if split_of(e.text) == "heldout"]
    scanner = _modelled(["bullying"])
    abusive = [e.text for e in tweets if e.labels[1] == 1]
    neither = [e.text for e in tweets if e.labels[1] == 0]
    others = [e.text for e in nq(SHARED) if split_of(e.text) == "heldout"]
    others += [e.text for e in own_self_harm("self_harm_heldout.tsv")]
    assert _share(scanner, abusive, AlertLevel.MEDIUM) >= 0.75
    assert _share(scanner, neither, AlertLevel.MEDIUM) <= 0.05
    assert _share(scanner, neither + others, AlertLevel.MEDIUM) <= 0.03


def test_benign_queries_raise_nothing_at_medium_with_the_model() -> None:
    """Goal: 0 false alerts at `medium` on the 3,610 benign NQ queries (all seven libraries)."""
    queries = nq_queries()
    scanner = _modelled(list(KEYWORD_LIBRARIES))
    assert sum(rate_at(scanner, queries, AlertLevel.MEDIUM)) == 0
    assert sum(rate_at(scanner, queries, AlertLevel.LOW)) / len(queries) < 0.01


def test_hate_heldout_precision_above_base_rate() -> None:
    """Stormfront held-out: implicit hate is hard; the model lifts recall at `low` while keeping
    precision well above the base rate (measured: see docs/benchmarks.md)."""
    sentences = [e for e in stormfront(SHARED) if split_of(e.text) == "heldout"]
    scanner = _modelled(["extremism"])
    flagged = rate_at(scanner, [e.text for e in sentences], AlertLevel.LOW)
    precision, recall = precision_recall(flagged, [e.labels[2] == 1 for e in sentences])
    base_rate = sum(e.labels[2] == 1 for e in sentences) / len(sentences)
    assert precision > 2 * base_rate, (precision, base_rate)
    assert recall > 0.15, recall
