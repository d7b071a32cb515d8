"""In-app notifications: who is told what, and the unread count shown in the header."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from schoolgate.app.access import requires
from schoolgate.app.concerns.models import Notification
from schoolgate.app.people.models import User
from schoolgate.app.roles import DSL_ROLES, Capability


def notify(users: Iterable[Any], text: str, url: str, *, exclude: Any = None) -> int:
    """Tell each of `users` (not `exclude`, who did the thing); returns how many were told."""
    now = timezone.now()
    skip = exclude.pk if exclude is not None else None
    rows = [
        Notification(user=u, text=text[:300], url=url[:300], at=now)
        for u in {u.pk: u for u in users if u is not None}.values()
        if u.pk != skip
    ]
    Notification.objects.bulk_create(rows)
    return len(rows)


def safeguarding_leads() -> list[User]:
    return list(User.objects.filter(role__in=DSL_ROLES, is_active=True))


def unread(request: HttpRequest) -> dict[str, int]:
    """Template context: the signed-in user's unread notifications (one indexed COUNT)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": Notification.objects.filter(user=user, read_at=None).count()}


@requires(Capability.SIGNED_IN)
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    notes = list(Notification.objects.filter(user=request.user)[:100])
    return render(request, "app/notifications.html", {"notes": notes})


@requires(Capability.SIGNED_IN)
@require_POST
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of your own notifications read and go to what it is about."""
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
    return redirect(note.url if url_has_allowed_host_and_scheme(note.url, None) else "home")
