"""The access check every view goes through, and the navigation built from the same table."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from schoolgate.app.roles import STAFF_ROLES, Capability, allows

View = Callable[..., HttpResponse]


def requires(capability: Capability) -> Callable[[View], View]:
    """Only signed-in users whose role holds `capability` get past; others get 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_active or not allows(user.role, capability):
                raise PermissionDenied(f"{user.role} may not {capability.value}")
            return view(request, *args, **kwargs)

        checked.capability = capability  # type: ignore[attr-defined]
        return checked

    return decorate


def public(view: View) -> View:
    """Marks a view that checks its caller itself (sign-in pages, the token-checked API)."""
    view.capability = None  # type: ignore[attr-defined]
    return view


_NAV = [
    ("Dashboard", "console-dashboard", Capability.CONSOLE_DASHBOARD),
    ("Query log", "console-query-log", Capability.QUERY_LOG),
    ("Why blocked?", "console-tester", Capability.TEST_URL),
    ("Devices", "console-devices", Capability.MANAGE_DEVICES),
    ("Requests", "console-requests", Capability.HANDLE_REQUESTS),
    ("Filter changes", "filter-changes", Capability.CHANGE_LOG),
    ("Report a concern", "report", Capability.REPORT),
    ("Raise a safeguarding concern", "concern-raise", Capability.REPORT_CONCERN),
    ("My work", "my-work", Capability.MANAGE_CONCERNS),
    ("Alerts inbox", "alert-inbox", Capability.TRIAGE_ALERTS),
    ("Concerns", "concern-list", Capability.MANAGE_CONCERNS),
    ("Cases", "case-list", Capability.VIEW_OWN_REPORTS),
    ("Incident log", "incident-log", Capability.EXPORT_LOGS),
    ("Reporting log", "reporting-log", Capability.EXPORT_LOGS),
    ("Governors' report", "governor-report", Capability.GOVERNOR_REPORT),
    ("People", "directory", Capability.VIEW_DIRECTORY),
    ("My children", "parent-home", Capability.PARENT_PAGE),
    ("My agreement", "my-agreement", Capability.SIGN_AGREEMENT),
    ("Agreements", "agreement-register", Capability.AGREEMENT_REGISTER),
    ("Publish check", "publish-check", Capability.PUBLISH_CHECK),
    ("Training", "training", Capability.MANAGE_TRAINING),
    ("Reviews", "review-list", Capability.VIEW_REVIEWS),
    ("Audit trail", "audit-list", Capability.VIEW_AUDIT),
]


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    return {
        "nav": [
            (_label(label, name, user.role), name)
            for label, name, cap in _NAV
            if allows(user.role, cap)
        ]
    }


def _label(label: str, name: str, role: str) -> str:
    # Staff have two ways to report: an ICT-misuse incident, or a worry about a child.
    if name == "report" and role in STAFF_ROLES:
        return "Report an ICT incident"
    return label
