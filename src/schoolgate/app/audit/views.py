"""The audit trail, read-only, with the result of checking its hash chain."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from schoolgate.app.access import requires
from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.audit.trail import record, verify_chain
from schoolgate.app.roles import Capability


@requires(Capability.VIEW_AUDIT)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.order_by("-id")
    if case_id := request.GET.get("case", "").strip():
        entries = entries.filter(object_type="case", object_id=case_id)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    breaks = verify_chain() if request.GET.get("verify") else None
    record(
        request.user,
        "audit.view",
        None,
        {"case": case_id, "verified": breaks is not None},
        request=request,
    )
    return render(request, "app/audit.html", {"page": page, "breaks": breaks, "case": case_id})
