# ruff: noqa: RUF012
"""Safeguarding concerns: a worry about a child, kept apart from ICT-misuse cases.

A concern has a category from the policy's `concerns:` section (self-harm, grooming…), never an
incident type or a sanction. The DSL and deputies work it: priority, a named person assigned,
tasks with due dates, referrals to outside services, notes, closing with an outcome. Every view
and change goes to the audit trail, which is also the concern's timeline.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

USER = settings.AUTH_USER_MODEL


class ConcernStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Being dealt with"
    REFERRED = "referred", "Referred to an outside service"
    MONITORING = "monitoring", "Monitoring"
    CLOSED = "closed", "Closed"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class ConcernSource(models.TextChoices):
    STAFF = "staff", "Raised by staff"
    ALERT = "alert", "From a monitoring alert"
    DSL = "dsl", "Opened by the safeguarding lead"


class Concern(models.Model):
    reported_at = models.DateTimeField(db_index=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="raised_concerns"
    )
    source = models.CharField(max_length=12, choices=ConcernSource.choices)
    pupils = models.ManyToManyField(USER, blank=True, related_name="concerns")
    others_text = models.CharField("others involved", max_length=300, blank=True)
    category = models.CharField(max_length=64)  # a policy concern category id
    summary = models.CharField(max_length=200)
    details = models.TextField()
    url = models.CharField("web address", max_length=2000, blank=True)
    status = models.CharField(
        max_length=12, choices=ConcernStatus.choices, default=ConcernStatus.NEW
    )
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    assigned_to = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_concerns"
    )
    outcome = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["assigned_to", "status"]),
        ]

    @property
    def reference(self) -> str:
        return f"SC-{self.pk:06d}"

    @property
    def is_closed(self) -> bool:
        return self.status == ConcernStatus.CLOSED

    def __str__(self) -> str:
        return f"{self.reference} {self.summary}"


class Task(models.Model):
    """Something a named person must do for a concern, by a date."""

    concern = models.ForeignKey(Concern, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    assigned_to = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="tasks")
    due = models.DateField()
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["done_at", "due", "id"]
        indexes = [models.Index(fields=["assigned_to", "done_at", "due"])]

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class Referral(models.Model):
    """A referral to an outside service (CEOP, Prevent, children's social care…)."""

    concern = models.ForeignKey(Concern, on_delete=models.CASCADE, related_name="referrals")
    service = models.CharField(max_length=120)
    referred_at = models.DateTimeField()
    reference = models.CharField("their reference", max_length=100, blank=True)
    note = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["referred_at", "id"]


class Notification(models.Model):
    """An in-app message to one person: a concern assigned, a task due, a review to confirm."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300)
    at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "read_at", "-id"])]


class Verdict(models.TextChoices):
    TRUE_POSITIVE = "true-positive", "True positive — a real concern"
    FALSE_POSITIVE = "false-positive", "False positive — no concern"


class AlertWork(models.Model):
    """The DSL's work on one monitoring alert (the alert itself is `alerts.Alert`, the
    monitor's record): priority, who has it, and the triage verdict with its reason and the
    concern it went to."""

    alert = models.OneToOneField("alerts.Alert", on_delete=models.CASCADE, related_name="work")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    assigned_to = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_alerts"
    )
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    concern = models.ForeignKey(
        Concern, null=True, blank=True, on_delete=models.PROTECT, related_name="alert_work"
    )


class ExclusionKind(models.TextChoices):
    SITE = "site", "Site (host name)"
    TERM = "term", "Search term"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second person"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ExclusionProposal(models.Model):
    """A false positive's proposed fix: stop alerting on a site or a search term. A second
    person approves or rejects it (four eyes: never the proposer; a database check too).
    An approved proposal is published with the filter changes in the changes file beside the
    policy (governance/publish.py) and so reaches the gateway; this is the record of who asked,
    why, and who agreed."""

    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=ExclusionKind.choices)
    value = models.CharField(max_length=300)
    theme = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    proposed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="exclusion_four_eyes",
            )
        ]
