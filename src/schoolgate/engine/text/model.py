"""The learned text model: a small logistic regression per theme, layered over the libraries.

The keyword libraries and the intent grammar (intent.py) are precise but only know what they
list. The model scores a text for each theme (`self-harm`, `bullying`, `extremism`) from its
words, so unlisted insults and hateful statements still register. It is trained offline by
`training/train_text_model.py` from the development text in ../shared/data and the project's
own self-harm set (training/data); the weights ship in the package as
`schoolgate/data/text_model.json` (nothing downloads at run time).

Features (`features(words)`) are read from `canonical()` text (txt spelling folded):
word unigrams `w:`, word bigrams `b:`, and 5-letter prefixes of long words `p:` ("suicid",
"worthl"). Identity words (identity.yaml) are replaced by one placeholder `<id>` and the
placeholder alone is no feature, so "am i gay" or "muslim prayer times" cannot score: identity
is never on its own a reason to alert, as for the libraries.

Scoring is a sum of looked-up weights and a sigmoid per theme: deterministic (no randomness,
no hashing that changes between runs) and a few microseconds per search. `scores` does not
build the feature strings: each token is looked up once in a table (`_Token`: its unigram and
prefix weights summed, and the weights of the bigrams it starts, keyed by the next token), so a
bigram is one lookup in the previous token's table. Additions keep one fixed order (per token:
its unigram and prefix sum, then the bigram it closes), so a text always gets the same floats.
`explain` names the words that pushed a score up, for the DSL reading the alert.

Which score raises which alert level is the policy's choice, per theme
(`text_thresholds` in the policy; `default_thresholds()` otherwise). Requirements: SH-024
(PREVENT keywords), HG-043 (cyber-bullying), CAV-065 (pupils can seek help: help-seeking and
concern lower the model's level, see keywords.py).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import NamedTuple

from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.taxonomy import TEXT_MODEL_THEMES

THEMES = TEXT_MODEL_THEMES
IDENTITY_TOKEN = "<id>"
_PREFIX_FROM = 7
_PREFIX_LEN = 5
_MIN_PUSH = 0.3
"""A word explains a score only if its feature adds at least this much to it."""


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _word_set(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "am i me my we our you your he him his she her it its they them their this that these those "
    "do does did have has had will would can could should so not no yes what which who whom "
    "when where why how there here than then too very just also up down out about into over "
    "again any all some more most such only own same s t rt amp http https co com www"
)


class ModelError(ValueError):
    """The shipped model file is missing or malformed."""


class ThemeScore:
    """One theme's score for a text; `words` explains it (worked out on demand: most scores
    raise nothing and need no explanation). A plain slotted class: scoring is hot."""

    __slots__ = ("_identity", "_text", "_words", "model", "probability", "theme")

    def __init__(
        self, theme: str, probability: float, text: str, identity: frozenset[str], model: TextModel
    ) -> None:
        self.theme = theme
        self.probability = probability
        self.model = model
        self._text = text
        self._identity = identity
        self._words: tuple[str, ...] | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """The words that pushed the score up most, strongest first."""
        if self._words is None:
            feats = features(self._text, self._identity)
            self._words = self.model.explain(feats, self.theme)
        return self._words

    def __repr__(self) -> str:
        return f"ThemeScore({self.theme!r}, {self.probability:.3f})"


class _Token(NamedTuple):
    """What the model knows of one token of canonical text."""

    key: str
    """The token as bigram features name it (`<id>` for an identity word)."""
    vector: tuple[float, float, float] | None
    """Its unigram and prefix weights summed (None: neither is known, or an identity word)."""
    next: dict[str, tuple[float, float, float]] | None
    """The weights of the bigrams it starts, by the key of the token that follows."""


class TextModel:
    def __init__(self, themes: tuple[str, ...], bias: list[float], weights: dict[str, list[float]]):
        self.themes = themes
        self._bias = bias
        self._weights = weights
        self._bigrams: dict[str, dict[str, tuple[float, float, float]]] = {}
        for feature, w in weights.items():
            first, _, second = feature[2:].partition("_")
            if feature.startswith("b:") and not (first in STOPWORDS and second in STOPWORDS):
                self._bigrams.setdefault(first, {})[second] = (w[0], w[1], w[2])
        self._tokens: dict[str, _Token] = {}
        """token -> `_Token`, filled as tokens are first seen (for `_identity`)."""
        self._identity: frozenset[str] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TextModel:
        try:
            themes = tuple(str(t) for t in data["themes"])  # type: ignore[union-attr]
            bias = [float(b) for b in data["bias"]]  # type: ignore[union-attr]
            raw = data["weights"]
            if not isinstance(raw, dict):
                raise TypeError("weights must be an object")
            scale = float(data.get("scale", 1))  # type: ignore[arg-type]
            if scale <= 0:
                raise ValueError("scale must be positive")
            weights = {str(k): [float(x) / scale for x in v] for k, v in raw.items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"text model: malformed ({exc})") from None
        if len(themes) != 3:
            raise ModelError(f"text model: expected 3 themes, found {len(themes)}")
        if len(bias) != len(themes) or any(len(w) != len(themes) for w in weights.values()):
            raise ModelError("text model: every weight needs one value per theme")
        return cls(themes, bias, weights)

    def probabilities(self, features: Iterable[str]) -> tuple[float, ...]:
        """Each theme's probability from a list of features (training and tests use it)."""
        a, b, c = self._bias
        for w in map(self._weights.get, features):
            if w is not None:
                a += w[0]
                b += w[1]
                c += w[2]
        return (_sigmoid(a), _sigmoid(b), _sigmoid(c))

    def explain(self, features: Iterable[str], theme: str, top: int = 3) -> tuple[str, ...]:
        """The words whose features raised `theme`'s score most (strongest first).

        Features with an identity word, or that add less than `_MIN_PUSH`, explain nothing;
        a score that nothing explains raises no alert (keywords.py).
        """
        i = self.themes.index(theme)
        pushes: dict[str, float] = {}
        for feature in features:
            if IDENTITY_TOKEN in feature:
                continue
            w = self._weights.get(feature)
            if w is not None and w[i] >= _MIN_PUSH:
                word = feature[2:].replace("_", " ") + ("…" if feature[0] == "p" else "")
                pushes[word] = max(pushes.get(word, 0.0), w[i])
        ranked = sorted(pushes.items(), key=lambda item: (-item[1], item[0]))
        return tuple(word for word, _ in ranked[:top])

    def scores(self, words: str, identity: frozenset[str]) -> tuple[ThemeScore, ...]:
        """Each theme's score for canonical `words`: the same sum as
        `probabilities(features(words, identity))`, computed without building the features."""
        a, b, c = self._bias  # three themes, unrolled: scoring is hot
        if identity is not self._identity:
            self._tokens, self._identity = {}, identity
        tokens = self._tokens
        follows = None  # the bigrams the previous token starts
        for token in words.split(" "):
            if not token:
                continue
            known = tokens.get(token)
            if known is None:
                known = self._token(token, identity)
            key, vector, starts = known
            if vector is not None:
                a += vector[0]
                b += vector[1]
                c += vector[2]
            if follows is not None:
                pair = follows.get(key)
                if pair is not None:
                    a += pair[0]
                    b += pair[1]
                    c += pair[2]
            follows = starts
        return (
            ThemeScore(self.themes[0], _sigmoid(a), words, identity, self),
            ThemeScore(self.themes[1], _sigmoid(b), words, identity, self),
            ThemeScore(self.themes[2], _sigmoid(c), words, identity, self),
        )

    def _token(self, token: str, identity: frozenset[str]) -> _Token:
        """The `_Token` for `token` (remembered for the next text, up to a bound)."""
        if token in identity:
            known = _Token(IDENTITY_TOKEN, None, self._bigrams.get(IDENTITY_TOKEN))
        else:
            found = [self._weights.get(f) for f in _word_features(token)]
            weights = [w for w in found if w is not None]
            vector = tuple(map(sum, zip(*weights, strict=True))) if weights else None
            known = _Token(token, vector, self._bigrams.get(token))  # type: ignore[arg-type]
        if len(self._tokens) < _MAX_CACHED_TOKENS:
            self._tokens[token] = known
        return known


_MAX_CACHED_TOKENS = 200_000


def _word_features(token: str) -> list[str]:
    if token in STOPWORDS:
        return []
    if len(token) >= _PREFIX_FROM:
        return ["w:" + token, "p:" + token[:_PREFIX_LEN]]
    return ["w:" + token]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def features(words: str, identity: frozenset[str]) -> list[str]:
    """Unigram, bigram and long-word-prefix features of canonical `words`.

    Stop words are no unigrams, and two stop words no bigram ("in the"): they carry the style
    of a data set, not what the text says."""
    tokens = [IDENTITY_TOKEN if t in identity else t for t in words.split(" ") if t]
    out: list[str] = []
    previous = ""
    for token in tokens:
        if token != IDENTITY_TOKEN and token not in STOPWORDS:
            out.append("w:" + token)
            if len(token) >= _PREFIX_FROM:
                out.append("p:" + token[:_PREFIX_LEN])
        if previous and not (previous in STOPWORDS and token in STOPWORDS):
            out.append(f"b:{previous}_{token}")
        previous = token
    return out


@functools.cache
def shipped_model() -> TextModel:
    """The model in the package (`schoolgate/data/text_model.json`), loaded once."""
    path = resources.files("schoolgate").joinpath("data", "text_model.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError("text_model.json is missing from the package") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"text_model.json is not valid JSON: line {exc.lineno}") from None
    return TextModel.from_json(data)


Thresholds = Mapping[AlertLevel, "float | None"]


@functools.cache
def default_thresholds() -> dict[str, dict[AlertLevel, float | None]]:
    """Score from which each level is raised, per theme, as shipped with the model.

    Chosen on the validation split by training/train_text_model.py (never on the held-out
    split). `high` is never raised by the model alone: a high alert needs the libraries or the
    intent grammar to name what was said. A policy overrides them in `text_thresholds`.
    """
    path = resources.files("schoolgate").joinpath("data", "text_model.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    chosen = data.get("thresholds", {})
    return {
        theme: {
            AlertLevel.LOW: chosen.get(theme, {}).get("low"),
            AlertLevel.MEDIUM: chosen.get(theme, {}).get("medium"),
            AlertLevel.HIGH: chosen.get(theme, {}).get("high"),
        }
        for theme in THEMES
    }


def level_for(probability: float, thresholds: Mapping[AlertLevel, float | None]) -> AlertLevel:
    """The highest alert level whose threshold `probability` reaches."""
    level = AlertLevel.NONE
    for candidate in (AlertLevel.LOW, AlertLevel.MEDIUM, AlertLevel.HIGH):
        limit = thresholds.get(candidate)
        if limit is not None and probability >= limit:
            level = candidate
    return level
