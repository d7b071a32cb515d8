# ruff: noqa: RUF012
"""Monitoring alerts, as the staff application keeps them.

One open `Alert` per subject (the user, or the device address when nobody was identified) and
theme: the monitor sends the same alert again as more attempts arrive and the row's `count`,
`last` and context bundle move on, so a DSL sees one line with "10 attempts", not ten
(de-duplication, issue 8). Each alert opens or joins one case (`case`), where the
safeguarding work is recorded. The context bundle is the user's preceding 30 minutes of
searches and blocks: sensitive, so only safeguarding roles may read it (roles.VIEW_ALERTS).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from schoolgate.app.cases.models import Case

USER = settings.AUTH_USER_MODEL


class Status(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    DISMISSED = "dismissed", "Dismissed (no concern)"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.TRIAGED)


class Level(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Alert(models.Model):
    subject = models.CharField(max_length=200)
    """The user name, or `address:<ip>` for an unidentified device: what de-duplicates."""
    user = models.CharField(max_length=150, blank=True)
    person = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    address = models.CharField(max_length=64, blank=True)
    group = models.CharField(max_length=64, blank=True)
    theme = models.CharField(max_length=64)
    level = models.CharField(max_length=16, choices=Level.choices)
    count = models.PositiveIntegerField(default=1)
    first = models.DateTimeField()
    last = models.DateTimeField()
    notify = models.JSONField(default=list)
    context = models.JSONField(default=dict)
    key = models.CharField(max_length=200, blank=True)
    """The monitor's own id for the alert (its latest delivery)."""
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last", "-id"]
        indexes = [models.Index(fields=["status", "-last"]), models.Index(fields=["user", "-last"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "theme"],
                condition=Q(status__in=["new", "triaged"]),
                name="one_open_alert_per_subject_and_theme",
            )
        ]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __str__(self) -> str:
        return f"{self.theme} ({self.level}) for {self.subject} ×{self.count}"
