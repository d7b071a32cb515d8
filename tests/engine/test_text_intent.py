"""The intent grammar: how pupils really write about self-harm, bullying and hate (SH-024,
HG-043, HG-099, CAV-065). The scanner here has libraries and grammar only (no text model), so
these tests pin the grammar itself. Sentences are the project's own, not from the data sets.
"""

from __future__ import annotations

import pytest

from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.taxonomy import KEYWORD_LIBRARIES
from schoolgate.engine.text.canonical import canonical
from schoolgate.engine.text.keywords import KeywordScanner
from schoolgate.engine.text.normalise import normalise

HIGH = AlertLevel.HIGH.rank
MEDIUM = AlertLevel.MEDIUM.rank


@pytest.fixture(scope="module")
def everything() -> KeywordScanner:
    return KeywordScanner.from_libraries(list(KEYWORD_LIBRARIES))


@pytest.fixture(scope="module")
def self_harm() -> KeywordScanner:
    return KeywordScanner.from_libraries(["self-harm"])


@pytest.fixture(scope="module")
def bullying() -> KeywordScanner:
    return KeywordScanner.from_libraries(["bullying"])


@pytest.fixture(scope="module")
def extremism() -> KeywordScanner:
    return KeywordScanner.from_libraries(["extremism"])


def test_canonical_folds_txt_spelling() -> None:
    assert canonical(normalise("im gonna kms")) == "i am going to kms"
    assert canonical(normalise("u r so ugly")) == "you are so ugly"
    assert canonical(normalise("i dont wanna live no more")) == "i do not want to live no more"
    assert canonical(normalise("i want 2 kill my self")) == "i want to kill myself"


@pytest.mark.parametrize(
    "text",
    [
        # desire: wanting to die or not to live
        "i dont want to live anymore",
        "i don't want to live any more",
        "i dont wanna be alive",
        "i dont want to exist",
        "i dont want to be here anymore",
        "tired of living",
        "im sooo tired of being alive",
        "sick of living",
        "i want it all to end",
        "i just want everything to end",
        "i wish i was never born",
        "i hope i never wake up",
        "whats the point of living",
        "life isnt worth living",
        "everyone would be better off without me",
        "i should just die",
        "im ready to die",
        # acts on oneself, slang and misspelt
        "i want to hang myself",
        "going to off myself",
        "im gonna off myself",
        "gonna top myself",
        "i want to kill myslef",
        "kms",
        "kmsss",
        "i want to unalive myself",
        "i want to jump off the bridge",
        "i keep cutting again",
        "i want to overdose",
        # suicide said of oneself
        "i want to commit suicide",
        "i wanna commit suicide",
        "im thinking about suicide",
        "i feel so suicidal",
        "planning my suicide",
        # plans and farewells
        "ive been saving up my pills",
        "im going to end it tonight",
        "this is my last post",
        "by the time you read this",
        "goodbye cruel world",
    ],
)
def test_self_harm_statements_reach_high(self_harm: KeywordScanner, text: str) -> None:
    result = self_harm.scan(text)
    assert result.alert.rank >= HIGH, text
    assert not result.concern


def test_suicide_in_first_person_is_above_low(self_harm: KeywordScanner) -> None:
    assert self_harm.scan("suicide").alert is AlertLevel.LOW
    assert self_harm.scan("i want to commit suicide").alert.rank >= HIGH


@pytest.mark.parametrize(
    "text",
    [
        "i could kill for a pizza",
        "this homework is killing me",
        "killing myself laughing",
        "i cut myself shaving",
        "i want to die my hair pink",
        "tired of revising",
        "i want to live in japan",
        "how to hang a picture",
        "i want to end it with my boyfriend",
        "suicide squad cast",
        "i wish i was taller",
    ],
)
def test_everyday_phrasing_stays_below_medium(everything: KeywordScanner, text: str) -> None:
    assert everything.scan(text).alert.rank < MEDIUM, text


@pytest.mark.parametrize(
    "text",
    [
        "please don't kill yourself",
        "please dont kill yourself you matter",
        "dont hurt yourself",
        "stop hurting yourself please",
        "how do I help a friend who self harms",
        "how can i help my friend who wants to die",
        "my friend wants to kill herself",
        "my sister cuts herself what do i do",
        "he said he is going to kill himself",
    ],
)
def test_care_for_someone_is_concern_not_bullying(everything: KeywordScanner, text: str) -> None:
    result = everything.scan(text)
    assert result.concern, text
    assert not [h for h in result.hits if h.library == "bullying"], text
    assert result.alert.rank < HIGH, text


def test_negated_intent_is_logged_low_only(self_harm: KeywordScanner) -> None:
    for text in ("i would never kill myself", "im not going to hurt myself"):
        assert self_harm.scan(text).alert is AlertLevel.LOW, text
    assert self_harm.scan("i cant stop thinking about killing myself").alert.rank >= HIGH
    assert self_harm.scan("i dont want to live").alert.rank >= HIGH  # not a negation


def test_help_seeking_disclosure_still_reaches_the_dsl(self_harm: KeywordScanner) -> None:
    result = self_harm.scan("i want to hang myself is there a helpline")
    assert result.help_seeking
    assert result.alert is AlertLevel.MEDIUM  # lowered one level, never dropped


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("you are so ugly", "insult"),
        ("ur so ugly lol", "insult"),
        ("your such a loser", "insult"),
        ("you fat pig", "insult"),
        ("fat pig", "appearance"),
        ("ugly cow", "appearance"),
        ("nobody likes you", "isolation"),
        ("you have no friends", "isolation"),
        ("go hang yourself", "incitement"),
        ("why dont you just kill yourself", "incitement"),
        ("i hope you die", "incitement"),
        ("get back in the kitchen", "gendered"),
        ("muslims are terrorists", "group"),
        ("all jews are rats", "group"),
        ("gay people are disgusting", "group"),
    ],
)
def test_bullying_families_reach_medium(bullying: KeywordScanner, text: str, family: str) -> None:
    result = bullying.scan(text)
    assert result.alert.rank >= MEDIUM, (text, family)
    assert all(hit.library == "bullying" for hit in result.hits)


def test_incitement_is_high(bullying: KeywordScanner) -> None:
    for text in ("go hang yourself", "kys", "you should die"):
        assert bullying.scan(text).alert.rank >= HIGH, text


@pytest.mark.parametrize(
    "text",
    [
        "muslims are terrorists",
        "immigrants are vermin",
        "all muslims are nothing but terrorists",
        "jews should be gassed",
        "deport all muslims",
    ],
)
def test_dehumanising_statements_about_groups_alert(extremism: KeywordScanner, text: str) -> None:
    assert extremism.scan(text).alert.rank >= MEDIUM, text


@pytest.mark.parametrize(
    "text",
    [
        "muslims",
        "muslims are not terrorists",
        "not all muslims are terrorists",
        "why do people think muslims are terrorists",
        "gay people are normal",
        "jews in medieval england",
        "are immigrants good for the economy",
    ],
)
def test_identity_and_counter_speech_never_alert(everything: KeywordScanner, text: str) -> None:
    assert everything.scan(text).alert.rank < MEDIUM, text


@pytest.mark.parametrize(
    "text",
    [
        "isis attack kills 20 in baghdad",
        "daesh loses last territory in syria",
        "hamas ceasefire talks",
        "isis",
    ],
)
def test_bare_organisation_names_in_news_do_not_alert(extremism: KeywordScanner, text: str) -> None:
    result = extremism.scan(text)
    assert result.alert is AlertLevel.NONE, text
    assert result.suppressed  # still in the audit trail


@pytest.mark.parametrize(
    "text", ["i support isis", "isis flag", "daesh recruitment videos", "long live isis"]
)
def test_organisation_names_alert_with_support_context(
    extremism: KeywordScanner, text: str
) -> None:
    assert extremism.scan(text).alert.rank >= HIGH, text


def test_lesson_framed_organisation_name_is_logged_low(extremism: KeywordScanner) -> None:
    assert extremism.scan("history of isis gcse").alert is AlertLevel.LOW
