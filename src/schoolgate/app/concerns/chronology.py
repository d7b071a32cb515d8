"""A pupil's chronology: concerns, cases, alerts and what was done, on one page, in order.

Safeguarding practice keeps one running chronology per child so that a pattern (several small
worries) is seen. Built from the records themselves: each concern and case the pupil is named
in, with its audit entries in words (views left out), and the monitoring alerts raised for the
pupil's account. Only the DSL and deputies see it; every look is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from schoolgate.app.access import requires
from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.audit.trail import record
from schoolgate.app.audit.words import describe, who
from schoolgate.app.cases.models import Case
from schoolgate.app.concerns.inbox import alert_history
from schoolgate.app.concerns.models import Concern
from schoolgate.app.people.models import User
from schoolgate.app.policy import find_concern_category
from schoolgate.app.roles import Capability, Role


@dataclass(frozen=True)
class Item:
    at: datetime
    kind: str  # "concern", "case" or "alert"
    record: str  # the reference shown, e.g. SC-000012
    url: str
    who: str
    what: str


def _concern_title(concern: Concern) -> str:
    category = find_concern_category(concern.category)
    return category.title if category else concern.category


def chronology(pupil: User) -> list[Item]:
    concerns = {c.pk: c for c in Concern.objects.filter(pupils=pupil)}
    cases = {c.pk: c for c in Case.objects.filter(involved=pupil)}
    entries = AuditEntry.objects.filter(
        Q(object_type="concern", object_id__in=[str(pk) for pk in concerns])
        | Q(object_type="case", object_id__in=[str(pk) for pk in cases])
    ).exclude(action__in=["concern.view", "case.view", "concern.view-refused", "case.view-refused"])
    items = []
    for entry in entries.only("at", "actor_name", "action", "detail", "object_type", "object_id"):
        if entry.object_type == "concern":
            concern = concerns[int(entry.object_id)]
            ref = f"{concern.reference} ({_concern_title(concern)})"
            url = reverse("concern-detail", args=[concern.pk])
        else:
            case = cases[int(entry.object_id)]
            ref, url = f"{case.reference} (ICT incident)", reverse("case-detail", args=[case.pk])
        what = describe(entry.action, entry.detail)
        items.append(Item(entry.at, entry.object_type, ref, url, who(entry.actor_name), what))
    items += [
        Item(at, "alert", ref, url, "Schoolgate monitoring", what)
        for at, ref, url, what in alert_history(pupil)
    ]
    return sorted(items, key=lambda item: item.at)


@requires(Capability.MANAGE_CONCERNS)
@require_GET
def pupil_chronology(request: HttpRequest, pk: int) -> HttpResponse:
    pupil = get_object_or_404(User, pk=pk, role=Role.PUPIL)
    items = chronology(pupil)
    record(request.user, "chronology.view", pupil, {"items": len(items)}, request=request)
    return render(request, "app/chronology.html", {"pupil": pupil, "items": items})
