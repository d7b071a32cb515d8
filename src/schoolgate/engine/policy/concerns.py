"""Safeguarding concern categories: what a worry about a child is about, never a sanction.

A safeguarding concern (self-harm, grooming, radicalisation…) is a different record from an
ICT-misuse incident: it has no sanction matrix and never suggests one. The policy's `concerns:`
section lists the categories a school uses, each citing the text it comes from (e.g. STM-041 and
HG-029: the DSL is aware of grooming and cyber-bullying; HG-008: radicalisation; STM-174:
grooming is reported to the police). Where the school's policy is silent, Schoolgate's defaults
below fill the gap (`concerns.defaults: false` turns them off); the printed policy marks them as
defaults so nobody mistakes them for the school's own words.

`themes` are alert themes (keyword libraries and categories, see `engine.taxonomy`) that make
a category the suggestion when a DSL opens a concern from an alert. `do_not_view` marks the
categories where images may be indecent images of children: record the address and a
description, never view, copy or upload (STM-171, STM-173).
"""

from __future__ import annotations

from schoolgate.engine.policy.schema import ConcernCategory, Concerns


def _default(
    id_: str, title: str, guidance: str, refer_to: list[str], themes: list[str], **kw: bool
) -> ConcernCategory:
    return ConcernCategory(
        id=id_, title=title, guidance=guidance, refer_to=refer_to, themes=themes, **kw
    )


# Keeping Children Safe in Education's online harms, in the words a DSL uses. No seed lists them
# all; each school's policy cites the ones its text names.
DEFAULT_CATEGORIES: tuple[ConcernCategory, ...] = (
    _default(
        "self-harm",
        "Self-harm",
        "Talk to the child the same day; check for injuries and immediate risk; tell parents "
        "unless that puts the child at risk.",
        ["CAMHS", "GP / school nurse"],
        ["self-harm"],
    ),
    _default(
        "suicidal-ideation",
        "Suicidal thoughts",
        "Treat as urgent: keep the child safe and supervised, assess immediate risk, call "
        "emergency services if life is at risk.",
        ["Emergency services (999)", "CAMHS crisis line", "Papyrus HOPELINE247"],
        ["self-harm"],
    ),
    _default(
        "bullying",
        "Bullying and cyberbullying",
        "Support the child harmed; keep the evidence (addresses, dates, no copies of images); "
        "the behaviour policy deals with the child who bullied, as a separate record.",
        ["Parents / carers"],
        ["bullying"],
    ),
    _default(
        "radicalisation",
        "Radicalisation and extremism",
        "Consider a Prevent referral; discuss with the local authority's Prevent lead.",
        ["Prevent (Channel)", "Police (101)"],
        ["extremism", "terrorism"],
    ),
    _default(
        "exploitation-grooming",
        "Child sexual exploitation and grooming",
        "Do not investigate yourself or alert the suspected adult; refer to children's social "
        "care and the police the same day.",
        ["Children's social care (MASH)", "CEOP", "Police"],
        ["sexual", "child-sexual-abuse"],
        do_not_view=True,
    ),
    _default(
        "sharing-nudes",
        "Sharing nudes and semi-nudes",
        "Never view, copy, print or forward the images; follow UKCIS guidance; decide with "
        "the child and parents whether to refer.",
        ["Police", "Report Remove (Childline / IWF)", "Children's social care"],
        ["sexual"],
        do_not_view=True,
    ),
    _default(
        "online-abuse",
        "Online abuse and harassment",
        "Keep the evidence (addresses, dates, screenshots of text only); consider whether a "
        "crime has been committed.",
        ["Police", "Report Harmful Content"],
        ["bullying", "violence", "discrimination"],
    ),
    _default(
        "eating-disorder",
        "Eating disorders",
        "Talk to the child and parents; involve the school nurse or GP.",
        ["GP / school nurse", "CAMHS", "Beat"],
        [],
    ),
    _default(
        "concern-for-friend",
        "Concern for a friend",
        "A child worried about someone else: thank them, find out who, open a concern for the "
        "friend too.",
        [],
        [],
    ),
    _default(
        "other-wellbeing",
        "Other worry about a child's safety or wellbeing",
        "Record what was seen or said in the child's own words.",
        [],
        [],
    ),
)


def concern_categories(section: Concerns) -> list[tuple[ConcernCategory, bool]]:
    """The school's categories in its order, then the defaults it does not list.

    Each comes with True when it is a Schoolgate default (the policy is silent on it).
    """
    given = [(c, False) for c in section.categories]
    if not section.defaults:
        return given
    named = {c.id for c in section.categories}
    return given + [(c, True) for c in DEFAULT_CATEGORIES if c.id not in named]
