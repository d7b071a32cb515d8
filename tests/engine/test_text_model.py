"""The learned text model: shipped, deterministic, explainable, and thresholded by the policy
(SH-024, HG-043). Prints no data-set text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources

import pytest

from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.loader import PolicyError, parse_policy
from schoolgate.engine.policy.render import render_markdown
from schoolgate.engine.policy.schema import Action, AlertLevel
from schoolgate.engine.taxonomy import TEXT_MODEL_THEMES
from schoolgate.engine.text.canonical import canonical
from schoolgate.engine.text.keywords import KeywordScanner, identity_words
from schoolgate.engine.text.model import (
    IDENTITY_TOKEN,
    ModelError,
    TextModel,
    default_thresholds,
    features,
    level_for,
    shipped_model,
)
from schoolgate.engine.text.normalise import normalise
from tests.engine.sample_policy import SAMPLE_POLICY, sample_snapshot

BING = "https://www.bing.com/search?q="


def words(text: str) -> str:
    return canonical(normalise(text))


def test_the_model_ships_in_the_package_and_is_small() -> None:
    path = resources.files("schoolgate").joinpath("data", "text_model.json")
    assert len(path.read_bytes()) < 1_500_000
    assert shipped_model().themes == TEXT_MODEL_THEMES


def test_scores_are_deterministic_and_in_range() -> None:
    model = shipped_model()
    text = words("you are such an ugly loser")
    first = model.scores(text, identity_words())
    again = TextModel.from_json(
        json.loads(resources.files("schoolgate").joinpath("data", "text_model.json").read_text())
    ).scores(text, identity_words())
    assert [(s.theme, s.probability, s.words) for s in first] == [
        (s.theme, s.probability, s.words) for s in again
    ]
    assert all(0.0 <= s.probability <= 1.0 for s in first)


def test_explanations_name_the_words_that_drove_a_score() -> None:
    scores = {
        s.theme: s
        for s in shipped_model().scores(words("shut up you ugly bitch"), identity_words())
    }
    bullying = scores["bullying"]
    assert bullying.probability > 0.5
    assert bullying.words
    assert any(word.split()[0] in {"ugly", "bitch", "shut"} for word in bullying.words)


def test_identity_words_are_one_placeholder_and_explain_nothing() -> None:
    feats = features(words("am i gay"), identity_words())
    assert "w:gay" not in feats and all(f != "w:" + IDENTITY_TOKEN for f in feats)
    model = shipped_model()
    for text in ("am i gay", "muslim prayer times", "trans support", "jewish history"):
        for score in model.scores(words(text), identity_words()):
            assert not any(IDENTITY_TOKEN in w for w in score.words), text


def test_identity_searches_never_alert_with_the_model() -> None:
    scanner = KeywordScanner.from_libraries(list(TEXT_MODEL_THEMES), default_thresholds())
    for text in ("am i gay", "muslim prayer times", "black history month", "am i trans"):
        assert scanner.scan(text).alert is AlertLevel.NONE, text


def test_level_for_thresholds() -> None:
    thresholds = {AlertLevel.LOW: 0.5, AlertLevel.MEDIUM: 0.8, AlertLevel.HIGH: None}
    assert level_for(0.49, thresholds) is AlertLevel.NONE
    assert level_for(0.5, thresholds) is AlertLevel.LOW
    assert level_for(0.99, thresholds) is AlertLevel.MEDIUM


def test_malformed_model_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="one value per theme"):
        TextModel.from_json({"themes": ["a", "b", "c"], "bias": [0, 0, 0], "weights": {"w:x": [1]}})
    with pytest.raises(ModelError, match="expected 3 themes"):
        TextModel.from_json({"themes": ["a"], "bias": [0], "weights": {}})
    with pytest.raises(ModelError, match="malformed"):
        TextModel.from_json({"themes": ["a"]})


def test_the_model_adds_alerts_the_libraries_miss_and_context_caps_them() -> None:
    plain = KeywordScanner.from_libraries(["bullying"])
    modelled = KeywordScanner.from_libraries(["bullying"], default_thresholds())
    text = "shut up you ugly bitch nobody asked"
    assert modelled.scan(text).alert.rank >= plain.scan(text).alert.rank
    hit = next(h for h in modelled.scan(text).hits if h.term.startswith("model"))
    assert hit.library == "bullying"
    # help-seeking drops the model's alert, like a topic term
    assert not [
        h
        for h in modelled.scan("my friend called me an ugly bitch childline").hits
        if h.term.startswith("model")
    ]


# --- thresholds from the policy ------------------------------------------------------------


def _with_thresholds(block: str) -> str:
    return SAMPLE_POLICY.replace("category_alerts:", block + "category_alerts:", 1)


BULLYING_RULE = """  - id: bullying-searches
    library: bullying
    groups: [all]
    action: allow
    alert: low
    source: {section: Monitoring, quote: "Bullying is reported"}
"""


def _policy(thresholds: str) -> str:
    text = SAMPLE_POLICY.replace("category_alerts:", BULLYING_RULE + "category_alerts:", 1)
    return text.replace("category_alerts:", thresholds + "category_alerts:", 1)


def test_policy_thresholds_decide_the_models_level() -> None:
    query = BING + "shut+up+you+ugly+bitch+nobody+asked"
    strict = _policy("text_thresholds:\n  bullying: {low: 0.01, medium: 0.02, high: 0.03}\n")
    silent = _policy("text_thresholds:\n  bullying: {}\n")
    high = Decider(sample_snapshot(strict)).decide(Subject("juniors"), query, datetime.now(UTC))
    none = Decider(sample_snapshot(silent)).decide(Subject("juniors"), query, datetime.now(UTC))
    assert high.alert is AlertLevel.HIGH
    assert any(k.startswith("model") for k in high.keywords)
    assert not any(k.startswith("model") for k in none.keywords)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("text_thresholds:\n  bulying: {low: 0.5}\n", "unknown text-model theme"),
        ("text_thresholds:\n  bullying: {low: 0.9, medium: 0.5}\n", "must not be above"),
        ("text_thresholds:\n  bullying: {low: 1.5}\n", "less than or equal to 1"),
        ("text_thresholds:\n  bullying: {lowest: 0.5}\n", "lowest"),
    ],
)
def test_bad_thresholds_are_refused_with_where_and_why(block: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(_policy(block), "sample.yaml")
    assert message in str(error.value)
    assert "text_thresholds" in str(error.value)


def test_printed_policy_shows_the_thresholds() -> None:
    policy = parse_policy(
        _policy("text_thresholds:\n  bullying: {low: 0.6, medium: 0.9}\n"), "s.yaml"
    )
    text = render_markdown(policy)
    assert "### Text model thresholds" in text
    assert "| bullying | 0.60 | 0.90 | never | this policy |" in text
    assert "| self-harm |" in text and "default" in text


# --- routing: concern goes to the DSL, help is recorded and never blocked -------------------


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(sample_snapshot(_policy("")))


def test_concern_for_a_friend_reaches_the_dsl_and_is_not_bullying(decider: Decider) -> None:
    for query in ("please+dont+kill+yourself", "how+do+i+help+a+friend+who+self+harms"):
        d = decider.decide(Subject("juniors"), BING + query, datetime.now(UTC))
        assert d.action is Action.ALLOW, query
        assert d.rule != "bullying-searches", query
        assert "dsl" in d.notify, query
        assert d.alert.rank < AlertLevel.HIGH.rank, query


def test_help_seeking_search_is_recorded_never_blocked(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), BING + "self+harm+support+line", datetime.now(UTC))
    assert d.action is Action.ALLOW
    assert d.alert is AlertLevel.NONE
    assert d.keywords == ("help-seeking",)
    assert "asks for help" in d.reason


def test_intent_grammar_reaches_the_dsl_through_the_decider(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), BING + "i+dont+want+to+live+anymore", datetime.now(UTC))
    assert d.alert.rank >= AlertLevel.HIGH.rank
    assert "dsl" in d.notify
    assert d.rule == "self-harm-searches"


def test_helpline_search_is_recorded_as_help_seeking(decider: Decider) -> None:
    for query in ("childline+number", "samaritans+phone+number"):
        d = decider.decide(Subject("juniors"), BING + query, datetime.now(UTC))
        assert (d.action, d.alert, d.keywords) == (Action.ALLOW, AlertLevel.NONE, ("help-seeking",))


def test_ordinary_help_is_not_recorded(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), BING + "help+with+maths+homework", datetime.now(UTC))
    assert d.keywords == ()


@pytest.mark.parametrize(
    "text",
    [
        "you are such an ugly loser",
        "all muslims are terrorists",  # identity word: `<id>` in bigrams, no unigram
        "why do gay people get bullied in the school",  # stop-word pairs: no bigram
        "i dont want to live any more, im so tired of living",
        "shut up you ugly bitch nobody asked",
        "who sings does he love me with reba",
        "kill kill kill yourself yourself",  # repeated tokens, cached entries
        "suicidal thoughts and suicidal feelings",  # long words: prefix features
        "",
    ],
)
def test_scores_equal_the_probabilities_of_the_features(text: str) -> None:
    """`scores` reads a token table instead of building features: the sums must agree."""
    model = TextModel.from_json(
        json.loads(resources.files("schoolgate").joinpath("data", "text_model.json").read_text())
    )
    canonical_words = words(text)
    for _ in range(2):  # the second pass reads the remembered tokens
        scores = [s.probability for s in model.scores(canonical_words, identity_words())]
        expected = model.probabilities(features(canonical_words, identity_words()))
        assert scores == pytest.approx(expected, rel=0, abs=1e-12)
