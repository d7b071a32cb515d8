"""Reminding parents and carers whose countersignature a pupil's access is waiting for.

Each linked parent with an e-mail address gets a message with a signed link to the child's
agreement and consents (`links.py`), at most once every three days per child (STM-230, SH-098,
CAV-029: access waits for the parent's signature, so the parent must hear of it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.mail import send_mail

from schoolgate.app.agreements.links import LINK_DAYS, parent_link
from schoolgate.app.agreements.models import Reminder, Signatory
from schoolgate.app.agreements.status import status_of, statuses
from schoolgate.app.people.models import User
from schoolgate.app.policy import current_policy
from schoolgate.app.roles import Role

AGAIN_AFTER = timedelta(days=3)


def waiting_for_parents(now: datetime) -> list:
    """Statuses of pupils whose agreement lacks only (or also) the parent's signature."""
    pupils = list(User.objects.filter(role=Role.PUPIL, is_active=True))
    return [s for s in statuses(pupils, current_policy(), now) if Signatory.PARENT in s.missing]


def remind_parents(now: datetime, base_url: str, only: User | None = None) -> int:
    """Send the reminders that are due (for every pupil, or `only` one); returns how many
    e-mails went out."""
    school = current_policy().school.name
    sent = 0
    if only is not None:
        one = status_of(only, current_policy(), now)
        waiting = [one] if one is not None and Signatory.PARENT in one.missing else []
    else:
        waiting = waiting_for_parents(now)
    for status in waiting:
        child = status.user
        for parent in child.parents.filter(is_active=True).exclude(email=""):
            recent = Reminder.objects.filter(
                kind="countersign",
                about=child,
                recipient=parent.email,
                sent_at__gte=now - AGAIN_AFTER,
            )
            if recent.exists():
                continue
            send_mail(
                f"{school}: please sign {child.first_name}'s acceptable use agreement",
                _body(school, status.agreement.title, child, parent, base_url),
                None,
                [parent.email],
            )
            Reminder.objects.create(
                kind="countersign", about=child, recipient=parent.email, sent_at=now
            )
            sent += 1
    return sent


def _body(school: str, title: str, child: User, parent: User, base_url: str) -> str:
    return (
        f"Dear {parent.get_full_name() or 'parent or carer'},\n\n"
        f"{child.first_name} cannot use the internet at {school} until you have signed "
        f"“{title}” as their parent or carer.\n\n"
        f"Read it and sign here (this link is for you alone and works for {LINK_DAYS} days):\n"
        f"{parent_link(base_url, parent, child)}\n\n"
        "You can also sign in to Schoolgate and open “My children”.\n"
    )
