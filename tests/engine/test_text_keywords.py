"""Keyword scanning: severities, word boundaries, identity words, help-seeking, context."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.taxonomy import KEYWORD_LIBRARIES
from schoolgate.engine.text.keywords import (
    KeywordError,
    KeywordScanner,
    check_extra_terms,
    identity_words,
    load_library,
)


@pytest.fixture(scope="module")
def scanner() -> KeywordScanner:
    return KeywordScanner.from_libraries(list(KEYWORD_LIBRARIES))


def test_every_taxonomy_library_ships_and_loads() -> None:
    for name in KEYWORD_LIBRARIES:
        assert load_library(name).terms, name


@pytest.mark.parametrize(
    "text",
    [
        "how to tie a noose",
        "how to kill myself",
        "painless way to die",
        "how many paracetamol to die",
        "best way to cut myself",
        "how to self harm without anyone knowing",
        "i want to die",
        "H0W T0 K1LL MYS3LF",
        "s u i c i d e methods",
        "how to hang yourself",
    ],
)
def test_self_harm_method_and_intent_searches_are_at_least_high(
    scanner: KeywordScanner, text: str
) -> None:
    result = scanner.scan(text)
    assert result.alert.rank >= AlertLevel.HIGH.rank, text
    assert any(hit.library == "self-harm" for hit in result.hits)


@pytest.mark.parametrize(
    "text",
    [
        "gay",
        "am i trans",
        "muslim prayer times",
        "jewish history ks3",
        "am i gay quiz",
        "lesbian couple wedding",
        "what is nonbinary",
        "queer eye",
        "black history month",
        "islam five pillars",
        "trans rights",
        "bisexual flag colours",
    ],
)
def test_identity_words_alone_never_hit(scanner: KeywordScanner, text: str) -> None:
    result = scanner.scan(text)
    assert result.hits == (), text
    assert result.alert is AlertLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "lgbt support",
        "how to stay safe online",
        "childline number",
        "self harm support",
        "samaritans phone number",
        "how to help a friend who is self harming",
        "suicide prevention",
        "how to report bullying",
        "talk to frank drugs advice",
        "what to do if someone sends you nudes ceop",
    ],
)
def test_help_seeking_stays_quiet(scanner: KeywordScanner, text: str) -> None:
    result = scanner.scan(text)
    assert result.help_seeking, text
    assert result.alert is AlertLevel.NONE, (text, result)


def test_help_seeking_with_stated_intent_still_reaches_the_dsl(scanner: KeywordScanner) -> None:
    result = scanner.scan("i want to kill myself samaritans number")
    assert result.help_seeking
    assert result.alert is AlertLevel.HIGH  # critical intent lowered one level, not dropped


def test_help_words_do_not_soften_method_seeking(scanner: KeywordScanner) -> None:
    assert scanner.scan("help me find how to tie a noose").alert is AlertLevel.CRITICAL


def test_support_for_an_organisation_is_not_help_seeking(scanner: KeywordScanner) -> None:
    result = scanner.scan("i support isis")
    assert not result.help_seeking
    assert result.alert is AlertLevel.HIGH


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("class timetable", "ass"),
        ("therapist near me", "rapist"),
        ("grape juice", "rape"),
        ("skilled trades", "kill"),
        ("Essex county cricket", "sex"),
        ("scunthorpe united", "cunt"),
        ("cocktail recipes", "cock"),
        ("shitake mushrooms", "shit"),
        ("hoed the garden", "hoe"),
        ("weedkiller for lawns", "weed"),
    ],
)
def test_word_boundaries(scanner: KeywordScanner, text: str, absent: str) -> None:
    assert not any(absent in hit.term for hit in scanner.scan(text).hits), text


def test_prefix_terms_match_word_starts(scanner: KeywordScanner) -> None:
    hits = scanner.scan("pornhub videos").hits
    assert any(hit.library == "sexual" for hit in hits)


def test_hostile_phrases_about_identity_groups_hit(scanner: KeywordScanner) -> None:
    result = scanner.scan("kill all muslims")
    assert result.alert is AlertLevel.CRITICAL
    assert result.hits[0].library == "extremism"
    assert scanner.scan("j3ws control the media").alert.rank >= AlertLevel.HIGH.rank


def test_education_framing_drops_topic_hits_but_not_intent(scanner: KeywordScanner) -> None:
    assert scanner.scan("history of the ku klux klan ks3").alert is AlertLevel.NONE
    assert scanner.scan("what is isis").alert is AlertLevel.LOW
    assert scanner.scan("isis attack in syria").alert is AlertLevel.NONE  # news: not support
    assert scanner.scan("what is the best way to kill myself").alert is AlertLevel.CRITICAL


def test_extremism_recruitment_is_critical(scanner: KeywordScanner) -> None:
    assert scanner.scan("how to join isis").alert is AlertLevel.CRITICAL


def test_disguised_spellings_hit(scanner: KeywordScanner) -> None:
    for text in ("ѕuісіdе methods", "k.i.l.l m.y.s.e.l.f", "kiiiiill myself", "buy w33d"):
        assert scanner.scan(text).hits, text


def test_extra_terms_from_a_policy(scanner: KeywordScanner) -> None:
    custom = KeywordScanner.from_libraries({"extremism": ["Local Hate Group"]})
    result = custom.scan("local hate group meeting")
    assert result.hits[0].term == "Local Hate Group"
    assert result.alert is load_library("extremism").extra_term_severity
    assert scanner.scan("local hate group meeting").hits == ()


def test_only_the_named_libraries_are_scanned() -> None:
    drugs_only = KeywordScanner.from_libraries(["drugs"])
    assert drugs_only.scan("how to tie a noose").hits == ()
    assert drugs_only.scan("buy weed").hits[0].library == "drugs"


def test_identity_word_as_extra_term_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(KeywordError, match=r"self-harm: 'Gay'.*identity"):
        KeywordScanner.from_libraries({"self-harm": ["Gay"]})
    assert check_extra_terms("bullying", ["trans", "ok phrase"]) == [
        "keyword term bullying: 'trans' is only identity words; identity is never on its own "
        "a reason to alert (see identity.yaml)"
    ]


def test_unknown_library_is_a_clear_error() -> None:
    with pytest.raises(KeywordError, match="unknown keyword library 'selfharm'"):
        KeywordScanner.from_libraries(["selfharm"])


def test_empty_extra_term_is_rejected() -> None:
    with pytest.raises(KeywordError, match="no letters or digits"):
        KeywordScanner.from_libraries({"drugs": ["!!!"]})


def test_identity_list_is_loaded() -> None:
    assert {"gay", "trans", "muslim", "jewish", "non binary"} <= identity_words()


def test_no_shipped_term_is_an_identity_word_alone() -> None:
    for name in KEYWORD_LIBRARIES:
        for term in load_library(name).terms:
            assert not check_extra_terms(name, [term.term]), (name, term.term)


@given(st.text(max_size=300))
def test_scan_never_fails_and_alert_matches_hits(text: str) -> None:
    result = _ALL.scan(text)
    assert result.alert is AlertLevel.highest(*(hit.severity for hit in result.hits))
    assert not (set(result.hits) & set(result.suppressed))


_ALL = KeywordScanner.from_libraries(list(KEYWORD_LIBRARIES))
