"""Scanning search terms against Schoolgate's keyword libraries.

API (used by `engine.decide`; keep it stable):

    scanner = KeywordScanner.from_libraries({"self-harm": [], "extremism": ["extra term"]})
    # or KeywordScanner.from_libraries(["self-harm", "extremism"])
    result = scanner.scan("how to tie a noose")
    result.alert        # AlertLevel, NONE if nothing hit
    result.hits         # tuple[KeywordHit(library, term, severity)], after context rules
    result.help_seeking # True if the text asks for help or support
    result.suppressed   # hits that context rules dropped, for the audit trail

Building a scanner costs milliseconds (`from_libraries` caches the parsed library files); a scan
costs microseconds. Library files are `schoolgate/data/keywords/<library>.yaml` (one per entry of
`taxonomy.KEYWORD_LIBRARIES`); `help.yaml` and `identity.yaml` sit beside them.

Matching happens on `normalise()`d text (case, accents, leetspeak, spacing, look-alike letters),
on whole words: a term matches only where it starts and ends on a word boundary, so "class"
never hits "ass", "grape" never "rape", "Essex" never "sex". A term ending in `*` matches any word
that starts with it ("suicid*" hits "suicidal"). A term containing `{identity}` is expanded with
every identity word ("kill all {identity}").

Each term has a severity (low|medium|high|critical) and a kind, which decides how context
changes it:

- `topic` (default): names a subject ("self harm", "isis"). Pupils research these for lessons
  and look for help about them, so:
  help-seeking in the same text ("self harm support", "childline") drops the hit;
  an educational frame ("history of", "gcse", "what is") drops topic hits up to medium and
  lowers higher ones to `low` (still logged, nobody paged).
- `intent`: first-person disclosure ("i want to kill myself", "cutting myself", "im being
  bullied"). Never dropped: a pupil who discloses risk while looking for help must still reach the
  DSL, so help-seeking lowers the hit one level only (critical -> high, high -> medium,
  medium -> low) to reflect that the pupil is already reaching out; an educational frame
  changes nothing.
- `method`: seeking the means to do harm ("how to tie a noose", "how to make a pipe bomb").
  No context changes it: "help me find a painless way to die" is not help-seeking.

Identity words (`identity.yaml`: gay, trans, muslim, jewish, ...) are never on their own a
reason to alert: a library term or policy extra term made only of identity words is rejected when
the scanner is built, so "am i trans" or "muslim prayer times" cannot hit. Identity words only
count inside a hostile phrase ("death to {identity}").

Policy extra terms (`KeywordRule.extra_terms`) are `topic` terms with the library's
`extra_term_severity`.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

import ahocorasick
import yaml

from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.taxonomy import KEYWORD_LIBRARIES
from schoolgate.engine.text import intent
from schoolgate.engine.text.canonical import canonical
from schoolgate.engine.text.model import ThemeScore, Thresholds, shipped_model
from schoolgate.engine.text.normalise import normalise, normalise_variants

IDENTITY_PLACEHOLDER = "{identity}"
_HELP = "help"
_EDUCATION = "education"
_HELPLINE = "helplines"


class KeywordError(ValueError):
    """A keyword library, term or extra term is unusable; the message says where and why."""


class TermKind(StrEnum):
    TOPIC = "topic"
    INTENT = "intent"
    METHOD = "method"
    ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True)
class KeywordHit:
    library: str
    term: str
    severity: AlertLevel


@dataclass(frozen=True, slots=True)
class ScanResult:
    hits: tuple[KeywordHit, ...]
    help_seeking: bool
    alert: AlertLevel
    suppressed: tuple[KeywordHit, ...] = ()
    concern: bool = False
    """Someone is worried about another person's safety ("please dont kill yourself", "how do
    i help a friend who self harms"): a signal for the DSL, never filed as bullying."""
    scores: tuple[ThemeScore, ...] = ()
    """The text model's score for each theme this scanner covers, with the words behind it."""
    helpline: bool = False
    """The text names a helpline or support service ("childline number"): a help-seeking
    search the decider records as such, even with no library hit."""

    def __bool__(self) -> bool:
        return bool(self.hits)


@dataclass(frozen=True, slots=True)
class Term:
    library: str
    term: str
    severity: AlertLevel
    kind: TermKind = TermKind.TOPIC


@dataclass(frozen=True, slots=True)
class Library:
    id: str
    title: str
    terms: tuple[Term, ...]
    extra_term_severity: AlertLevel


_ALERTING = (AlertLevel.LOW, AlertLevel.MEDIUM, AlertLevel.HIGH, AlertLevel.CRITICAL)


class KeywordScanner:
    """An Aho-Corasick automaton over normalised terms, plus help and education phrases."""

    def __init__(
        self, terms: Iterable[Term], thresholds: Mapping[str, Thresholds] | None = None
    ) -> None:
        """`thresholds`: per text-model theme, the score for each alert level; None (or a
        theme left out) means the model does not raise alerts for that theme."""
        self._automaton = ahocorasick.Automaton()
        identity = identity_words()
        terms = list(terms)
        self.libraries = frozenset(term.library for term in terms)
        self._steps = {
            theme: _steps(levels)
            for theme, levels in (thresholds or {}).items()
            if theme in self.libraries
        }
        self._every_theme = bool(self._steps) and set(self._steps) >= set(shipped_model().themes)
        """Every theme the model scores has thresholds here: its scores need no filtering (the
        model is loaded here only for a scanner that uses it)."""
        for term in terms:
            _add(self._automaton, term.term, term, identity)
        for kind, phrases in context_phrases().items():
            for phrase in phrases:
                _add(self._automaton, phrase, kind, frozenset())
        self._automaton.make_automaton()

    @classmethod
    def from_libraries(
        cls,
        libraries: Mapping[str, Iterable[str]] | Iterable[str],
        thresholds: Mapping[str, Thresholds] | None = None,
    ) -> KeywordScanner:
        """A scanner for the named libraries, each with optional policy extra terms, and the
        text model's thresholds for the themes among them (see model.py)."""
        if not isinstance(libraries, Mapping):
            libraries = {name: () for name in libraries}
        terms: list[Term] = []
        for name, extra_terms in libraries.items():
            library = load_library(name)
            terms.extend(library.terms)
            for extra in extra_terms:
                terms.append(Term(name, extra, library.extra_term_severity))
        return cls(terms, thresholds)

    def scan(self, text: str) -> ScanResult:
        found: dict[tuple[str, str], Term] = {}
        context: set[str] = set()
        variants = normalise_variants(text)
        for variant in variants:
            for _end, values in self._automaton.iter(f" {variant} "):
                for value in values:
                    if isinstance(value, Term):
                        found[value.library, value.term] = value
                    else:
                        context.add(value)
        reading = self._read(variants, found.values())
        helpline = _HELPLINE in context
        help_seeking, educational = _HELP in context or helpline, _EDUCATION in context
        hits, suppressed, alert = _apply_context(found.values(), reading, help_seeking, educational)
        scores: tuple[ThemeScore, ...] = ()
        if self._steps:
            scores = _model_scores(reading.words)
            if not self._every_theme:
                scores = tuple(s for s in scores if s.theme in self._steps)
            raised = self._model_hits(scores, reading, help_seeking, educational)
            if raised:
                hits += raised
                alert = max((alert, *(hit.severity for hit in raised)), key=_RANK.__getitem__)
        return ScanResult(hits, help_seeking, alert, suppressed, reading.concern, scores, helpline)

    def _model_hits(
        self,
        scores: tuple[ThemeScore, ...],
        reading: _Reading,
        help_seeking: bool,
        educational: bool,
    ) -> tuple[KeywordHit, ...]:
        """The text model's alert for each theme, capped by the text's context."""
        raised: list[KeywordHit] = []
        for score in scores:
            level = AlertLevel.NONE
            for limit, candidate in self._steps[score.theme]:
                if score.probability < limit:
                    break
                level = candidate
            if level is not AlertLevel.NONE:
                level = _model_in_context(score, level, help_seeking, reading, educational)
            if level is not AlertLevel.NONE:
                words = ", ".join(score.words)
                raised.append(
                    KeywordHit(score.theme, f"model {score.probability:.2f}: {words}", level)
                )
        return tuple(raised)

    def _read(self, variants: tuple[str, ...], found: Collection[Term]) -> _Reading:
        """The intent grammar's reading of the text, for this scanner's libraries."""
        forms = [canonical(variant) for variant in variants]
        words = forms[0]
        extra: dict[tuple[str, str], Term] = {}
        negated: dict[tuple[str, str], Term] = {}
        concern = False
        for form in forms:
            reading = intent.read(form, _group_words())
            concern = concern or reading.concern
            for hit in reading.hits:
                for term in self._grammar_terms(hit):
                    extra.setdefault((term.library, term.term), term)
            for hit in reading.negated:
                for term in self._grammar_terms(hit):
                    negated.setdefault((term.library, term.term), term)
        organisation = bool(found) and any(t.kind is TermKind.ORGANISATION for t in found)
        support = organisation and intent.organisation_support(words)
        return _Reading(words, tuple(extra.values()), tuple(negated.values()), concern, support)

    def _grammar_terms(self, hit: intent.IntentHit) -> list[Term]:
        libraries = [hit.library]
        if hit.family == "dehumanising":
            libraries.append(intent.BULLYING)  # abuse of a group is bullying as well as hate
        kind = TermKind.INTENT if hit.library == intent.SELF_HARM else TermKind.TOPIC
        severity = hit.severity
        return [
            Term(library, hit.phrase, _grammar_severity(library, hit, severity), kind)
            for library in libraries
            if library in self.libraries
        ]


@dataclass(frozen=True, slots=True)
class _Reading:
    words: str
    """The canonical text."""
    terms: tuple[Term, ...]
    negated: tuple[Term, ...]
    concern: bool
    organisation_support: bool


_RANK = {level: level.rank for level in AlertLevel}


def _steps(levels: Thresholds) -> tuple[tuple[float, AlertLevel], ...]:
    """(score, level) pairs in rising order: the model raises the last one a score reaches."""
    given = [(limit, level) for level, limit in levels.items() if limit is not None]
    return tuple(sorted(given, key=lambda step: (step[0], _RANK[step[1]])))


@functools.lru_cache(maxsize=8192)
def _model_scores(words: str) -> tuple[ThemeScore, ...]:
    """The model's scores for canonical `words` (cached: every keyword rule asks)."""
    return shipped_model().scores(words, identity_words())


def _model_in_context(
    score: ThemeScore, level: AlertLevel, help_seeking: bool, reading: _Reading, educational: bool
) -> AlertLevel:
    """The model reads words, not intent: context caps what it may raise.

    Help-seeking drops it (like a topic term); concern for someone else keeps self-harm at
    `low` and drops bullying; a lesson framing keeps it at `low`.
    """
    if level is AlertLevel.NONE or help_seeking or not score.words:
        return AlertLevel.NONE  # a score no content word explains raises nothing
    if reading.concern:
        return AlertLevel.LOW if score.theme == intent.SELF_HARM else AlertLevel.NONE
    if educational:
        return AlertLevel.LOW
    return level


def _grammar_severity(library: str, hit: intent.IntentHit, severity: AlertLevel) -> AlertLevel:
    """Group abuse is a prejudice incident for bullying (medium), hate for extremism."""
    if library == intent.BULLYING and hit.family == "dehumanising":
        return AlertLevel.MEDIUM
    return severity


def _add(automaton: Any, written: str, value: Term | str, identity: frozenset[str]) -> None:
    for text in _expand(written, identity):
        key = _key(text, value)
        existing = automaton.get(key, [])
        if value not in existing:
            automaton.add_word(key, [*existing, value])


def _expand(written: str, identity: frozenset[str]) -> list[str]:
    if IDENTITY_PLACEHOLDER not in written:
        return [written]
    return [written.replace(IDENTITY_PLACEHOLDER, word) for word in sorted(identity)]


def _key(text: str, value: Term | str) -> str:
    prefix = text.endswith("*")
    words = normalise(text.rstrip("*"))
    where = f"{value.library}: {value.term!r}" if isinstance(value, Term) else repr(text)
    if not words:
        raise KeywordError(f"keyword term {where} has no letters or digits")
    if isinstance(value, Term) and _only_identity(words):
        raise KeywordError(
            f"keyword term {where} is only identity words; identity is never on its own a "
            "reason to alert (see identity.yaml)"
        )
    return f" {words}" if prefix else f" {words} "


def _only_identity(words: str) -> bool:
    return words in identity_words() or set(words.split()) <= _identity_tokens()


def _apply_context(
    terms: Collection[Term], reading: _Reading, help_seeking: bool, educational: bool
) -> tuple[tuple[KeywordHit, ...], tuple[KeywordHit, ...], AlertLevel]:
    """The hits that stay, the hits context dropped (for the audit trail), and the alert."""
    if not terms and not reading.terms and not reading.negated:
        return (), (), AlertLevel.NONE  # most searches: nothing to weigh
    hits: list[KeywordHit] = []
    suppressed: list[KeywordHit] = []
    for term in [*terms, *reading.terms]:
        severity = _in_context(term, reading, help_seeking, educational)
        if severity is None:
            suppressed.append(KeywordHit(term.library, term.term, term.severity))
        else:
            hits.append(KeywordHit(term.library, term.term, severity))
    for term in reading.negated:
        if reading.concern and _is_care(term):
            suppressed.append(KeywordHit(term.library, term.term, term.severity))
        else:  # "i would never kill myself": logged, nobody paged
            hits.append(KeywordHit(term.library, term.term, AlertLevel.LOW))
    alert = AlertLevel.highest(*(hit.severity for hit in hits))
    return tuple(hits), tuple(suppressed), alert


def _in_context(
    term: Term, reading: _Reading, help_seeking: bool, educational: bool
) -> AlertLevel | None:
    """The severity a hit keeps in its context, or None if the context drops it."""
    if reading.concern and _is_care(term):
        return None  # "please dont kill yourself": concern for someone, not abuse or intent
    if (
        term.library == intent.SELF_HARM
        and term.kind is TermKind.INTENT
        and intent.is_idiom(reading.words, _canonical_term(term))
    ):
        return None  # "killing myself laughing", "i cut myself shaving"
    if term.kind in (TermKind.INTENT, TermKind.TOPIC) and _negated(term, reading):
        return AlertLevel.LOW  # "i would never kill myself": logged, nobody paged
    if term.kind is TermKind.ORGANISATION:
        if educational and not help_seeking:
            return AlertLevel.LOW  # "history of isis gcse": logged, nobody paged
        if not reading.organisation_support:
            return None  # a name in the news ("isis attack") is not support for it
        return term.severity
    if term.kind is TermKind.METHOD:
        return term.severity
    if term.kind is TermKind.INTENT:
        if help_seeking:
            return _ALERTING[max(term.severity.rank - 2, 0)]
        return term.severity
    if help_seeking:
        return None
    if educational:
        return AlertLevel.LOW if term.severity.rank > AlertLevel.MEDIUM.rank else None
    return term.severity


def _is_care(term: Term) -> bool:
    """Hits that a caring sentence explains: urging or naming harm to someone else."""
    if term.library == intent.BULLYING:
        return "yourself" in term.term or term.term in _URGING or "die" in term.term.split()
    return term.library == intent.SELF_HARM and term.kind is TermKind.TOPIC


_URGING = frozenset({"kys", "go die", "you should die"})


def _negated(term: Term, reading: _Reading) -> bool:
    if term.library not in (intent.SELF_HARM, intent.BULLYING):
        return False
    return intent.is_negated(reading.words, _canonical_term(term))


def _canonical_term(term: Term) -> str:
    return canonical(normalise(term.term.rstrip("*")))


# --- library files ---------------------------------------------------------------------------


def _data_file(name: str) -> str:
    path = resources.files("schoolgate").joinpath("data", "keywords", f"{name}.yaml")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeywordError(f"keyword file {name}.yaml is missing from the package") from None


def _parse(name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(_data_file(name))
    except yaml.YAMLError as exc:
        raise KeywordError(f"keywords/{name}.yaml is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise KeywordError(f"keywords/{name}.yaml must be a mapping")
    return data


@functools.cache
def load_library(name: str) -> Library:
    """The shipped library `name` (a key of `taxonomy.KEYWORD_LIBRARIES`)."""
    if name not in KEYWORD_LIBRARIES:
        known = ", ".join(sorted(KEYWORD_LIBRARIES))
        raise KeywordError(f"unknown keyword library {name!r}; known libraries: {known}")
    data = _parse(name)
    entries = data.get("terms")
    if not isinstance(entries, list) or not entries:
        raise KeywordError(f"keywords/{name}.yaml: `terms` must be a non-empty list")
    terms = tuple(_term(name, i, entry) for i, entry in enumerate(entries))
    return Library(
        id=name,
        title=str(data.get("title", KEYWORD_LIBRARIES[name])),
        terms=terms,
        extra_term_severity=_severity(name, "extra_term_severity", data.get("extra_term_severity")),
    )


def _term(library: str, index: int, entry: Any) -> Term:
    where = f"keywords/{library}.yaml terms[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("term"), str):
        raise KeywordError(f"{where}: each entry needs a `term` string and a `severity`")
    unknown = set(entry) - {"term", "severity", "kind", "notes"}
    if unknown:
        raise KeywordError(f"{where}: unknown fields {sorted(unknown)}")
    try:
        kind = TermKind(entry.get("kind", TermKind.TOPIC))
    except ValueError:
        raise KeywordError(
            f"{where}: kind must be one of topic, intent, method, organisation"
        ) from None
    return Term(library, entry["term"], _severity(library, where, entry.get("severity")), kind)


def _severity(library: str, where: str, value: Any) -> AlertLevel:
    try:
        level = AlertLevel(value)
    except ValueError:
        level = AlertLevel.NONE
    if level is AlertLevel.NONE:
        raise KeywordError(f"{library}: {where}: severity must be low, medium, high or critical")
    return level


@functools.cache
def identity_words() -> frozenset[str]:
    """Normalised identity words that never on their own trigger an alert."""
    words = _parse("identity").get("words")
    if not isinstance(words, list) or not words:
        raise KeywordError("keywords/identity.yaml: `words` must be a non-empty list")
    return frozenset(normalise(str(word)) for word in words)


@functools.cache
def _group_words() -> frozenset[str]:
    """Identity words that name a group of people, for the grammar's statements about groups."""
    return frozenset(w for w in identity_words() if " " not in w or w.startswith("non "))


@functools.cache
def _identity_tokens() -> frozenset[str]:
    """Each word of the identity words, multi-word entries split into their words."""
    return frozenset(token for phrase in identity_words() for token in phrase.split())


@functools.cache
def context_phrases() -> dict[str, tuple[str, ...]]:
    """`help` (help-seeking), `education` (lesson framing) and `helplines` (named support
    services, also help-seeking) phrases from help.yaml."""
    data = _parse("help")
    phrases: dict[str, tuple[str, ...]] = {}
    for kind in (_HELP, _EDUCATION, _HELPLINE):
        values = data.get(kind)
        if not isinstance(values, list) or not values:
            raise KeywordError(f"keywords/help.yaml: `{kind}` must be a non-empty list")
        phrases[kind] = tuple(str(value) for value in values)
    return phrases


def check_extra_terms(library: str, extra_terms: Iterable[str]) -> list[str]:
    """Problems with a policy's extra terms for `library` (empty if all are usable)."""
    problems = []
    for term in extra_terms:
        try:
            _key(term, Term(library, term, AlertLevel.LOW))
        except KeywordError as exc:
            problems.append(str(exc))
    return problems
