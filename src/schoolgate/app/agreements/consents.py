"""Consents per child: photo and video, cloud services, biometrics, pupils' work (STM-240,
STM-245, STM-247, STM-098, SH-063, CAV-042). The policy names the consents; every answer is a
new row with who gave it, in what role and when, so a withdrawal never erases the history.

A consent is *given* when the latest answer of every giver the policy names (`given_by`: the
parent, and for pupils' work at St Thomas More the pupil too, STM-098) is "yes".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.http import HttpRequest

from schoolgate.app.agreements.models import Answer, Consent, Via
from schoolgate.app.audit.trail import record
from schoolgate.app.people.models import User
from schoolgate.engine.policy.schema import ConsentType, Policy


class ConsentError(Exception):
    pass


@dataclass
class ConsentState:
    consent: ConsentType
    latest: dict[str, Consent | None]
    """The latest answer by each giver the policy names."""

    @property
    def given(self) -> bool:
        return all(c is not None and c.answer == Answer.YES for c in self.latest.values())

    @property
    def label(self) -> str:
        if self.given:
            return "Yes"
        answers = [c.answer for c in self.latest.values() if c is not None]
        if Answer.WITHDRAWN in answers:
            return "Withdrawn"
        if Answer.NO in answers:
            return "No"
        return "Not answered"


def consent_states(
    child: User, policy: Policy, answers: list[Consent] | None = None
) -> list[ConsentState]:
    """Each consent the policy names, with the latest answers for `child` (newest first)."""
    if answers is None:
        answers = list(Consent.objects.filter(child=child).select_related("given_by"))
    states = []
    for consent in policy.consents:
        latest = {
            who: next((a for a in answers if a.consent == consent.id and a.giver_role == who), None)
            for who in consent.given_by
        }
        states.append(ConsentState(consent, latest))
    return states


def states_for(children: list[User], policy: Policy) -> dict[int, dict[str, ConsentState]]:
    """Consent states for many children with one query."""
    by_child: dict[int, list[Consent]] = {}
    for answer in Consent.objects.filter(child__in=children).order_by("-at", "-id"):
        by_child.setdefault(answer.child_id, []).append(answer)
    return {
        child.pk: {
            s.consent.id: s for s in consent_states(child, policy, by_child.get(child.pk, []))
        }
        for child in children
    }


@transaction.atomic
def answer(
    child: User,
    consent_id: str,
    value: str,
    *,
    by: User,
    giver_role: str,
    policy: Policy,
    at: datetime,
    via: str = Via.APP,
    note: str = "",
    request: HttpRequest | None = None,
) -> Consent:
    consent = next((c for c in policy.consents if c.id == consent_id), None)
    if consent is None:
        raise ConsentError(f"the policy names no consent {consent_id!r}")
    if giver_role not in consent.given_by:
        raise ConsentError(f"{consent.title}: the policy does not ask the {giver_role}")
    if value not in Answer.values:
        raise ConsentError(f"answer must be one of {', '.join(Answer.values)}")
    row = Consent.objects.create(
        child=child,
        consent=consent_id,
        answer=value,
        giver_role=giver_role,
        given_by=by,
        at=at,
        via=via,
        note=note[:300],
    )
    record(
        by,
        "consent.answer",
        row,
        {"child": child.username, "consent": consent_id, "answer": value, "as": giver_role},
        request=request,
    )
    return row
