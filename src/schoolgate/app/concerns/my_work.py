"""The DSL's home page: what is waiting for them today (issue 13).

New alerts, concerns assigned to them, their open tasks (overdue first), two-person reviews
waiting for their confirmation and exclusions waiting for a second person — each a link to
where the work is done. DSL and deputies only; the look is audited like any other view.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from schoolgate.app.access import requires
from schoolgate.app.alerts.models import Alert
from schoolgate.app.alerts.models import Status as AlertStatus
from schoolgate.app.audit.trail import record
from schoolgate.app.cases.models import Review
from schoolgate.app.concerns.models import (
    Concern,
    ConcernStatus,
    ExclusionProposal,
    ProposalStatus,
    Task,
)
from schoolgate.app.concerns.triage import theme_title
from schoolgate.app.roles import Capability


@requires(Capability.MANAGE_CONCERNS)
@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    me = request.user
    new_alerts = Alert.objects.filter(status=AlertStatus.NEW).select_related("person")
    tasks = list(
        Task.objects.filter(assigned_to=me, done_at=None)
        .select_related("concern")
        .order_by("due", "id")[:50]
    )
    context = {
        "today": timezone.localdate(),
        "alert_count": new_alerts.count(),
        "alerts": [(a, theme_title(a.theme)) for a in new_alerts.order_by("-last")[:5]],
        "concerns": list(
            Concern.objects.filter(assigned_to=me)
            .exclude(status=ConcernStatus.CLOSED)
            .order_by("-id")[:50]
        ),
        "tasks": tasks,
        "reviews": list(
            Review.objects.filter(second_reviewer=me, second_confirmed_at=None)
            .select_related("case", "first_reviewer")
            .order_by("recorded_at")
        ),
        "exclusions": list(
            ExclusionProposal.objects.filter(status=ProposalStatus.PENDING)
            .exclude(proposed_by=me)
            .select_related("proposed_by")
        ),
    }
    record(me, "my-work.view", None, {"tasks": len(tasks)}, request=request)
    return render(request, "app/my_work.html", context)
