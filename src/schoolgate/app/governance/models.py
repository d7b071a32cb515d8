# ruff: noqa: RUF012
"""Filter changes: proposed by one person, approved by another (issue 12).

STM-315: "every filtering change must be logged in change-control logs and reported to a second
responsible person"; STM-320: filtering switched off for a user is logged and the principal
informed; STM-325: requests for a school-level change are decided by the OSC and the provider.
The four-eyes rule is held twice: `approve` refuses the author, and a database constraint
refuses any row whose decider is its proposer.

A proposed or approved change can be withdrawn by its author, by anyone who may approve changes,
or by a DSL (`withdraw`); a withdrawn change leaves the changes file, so the gateway drops it on
its next hot reload. An approved change whose end time has passed is shown as "Expired": the
decider already ignores it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from schoolgate.app.roles import Capability, Role, allows
from schoolgate.engine.policy.schema import Action, ApprovedChange

ACTION_WORDS = {"allow": "Allow", "warn": "Warn before", "block": "Block"}


class FourEyesError(PermissionError):
    """The person deciding a change is the person who proposed it."""


class FilterChange(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    action = models.CharField(max_length=8, choices=[(a.value, a.value) for a in Action])
    groups = models.JSONField(help_text="Policy group ids the change applies to.")
    sites = models.JSONField(help_text='Host names or URL prefixes; ["*"] switches filtering off.')
    users = models.JSONField(default=list, blank=True, help_text="Only these users, if any.")
    until = models.DateTimeField(null=True, blank=True, help_text="Expires by itself then.")
    reason = models.CharField(max_length=300)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_note = models.CharField(max_length=300, blank=True)
    request = models.ForeignKey(
        "console.UnblockRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="filter_change_four_eyes",
            )
        ]

    def __str__(self) -> str:
        return f"Change {self.pk}: {self.action} {', '.join(self.sites)}"

    @property
    def is_switch_off(self) -> bool:
        return self.sites == ["*"]

    @property
    def what(self) -> str:
        """The change in words: "Allow games.example", "Switch filtering off"."""
        if self.is_switch_off:
            return "Switch filtering off (every site allowed)"
        return f"{ACTION_WORDS.get(self.action, self.action)} {', '.join(self.sites)}"

    @property
    def is_expired(self) -> bool:
        """Approved, with an end time that has passed: the gateway no longer applies it."""
        return (
            self.status == self.Status.APPROVED
            and self.until is not None
            and self.until <= timezone.now()
        )

    @property
    def status_label(self) -> str:
        return "Expired" if self.is_expired else self.get_status_display()

    def may_withdraw(self, user) -> bool:
        """The author, anyone who may approve changes, or a DSL; only while it is waiting or in
        force (an expired change has already ended)."""
        if self.status not in (self.Status.PROPOSED, self.Status.APPROVED) or self.is_expired:
            return False
        return (
            user.pk == self.proposed_by_id
            or allows(user.role, Capability.DECIDE_CHANGE)
            or user.role == Role.DSL
        )

    def withdraw(self, user, note: str = "") -> bool:
        """Withdraw the change; True if it was in force (the changes file must be republished)."""
        if self.status not in (self.Status.PROPOSED, self.Status.APPROVED) or self.is_expired:
            raise ValueError(
                f"change {self.pk} is {self.status_label.lower()}: nothing to withdraw"
            )
        if not self.may_withdraw(user):
            raise PermissionError("only its author, an approver or a DSL may withdraw a change")
        was_in_force = self.status == self.Status.APPROVED
        self.status = self.Status.WITHDRAWN
        self.withdrawn_by = user
        self.withdrawn_at = timezone.now()
        self.withdrawal_note = note[:300]
        self.save()
        return was_in_force

    def decide(self, user, approve: bool, note: str = "") -> None:
        """Approve or reject; the author may do neither (they may withdraw instead)."""
        if user.pk == self.proposed_by_id:
            raise FourEyesError("a change must be decided by someone other than its author")
        if self.status != self.Status.PROPOSED:
            raise ValueError(f"change {self.pk} is already {self.get_status_display().lower()}")
        self.status = self.Status.APPROVED if approve else self.Status.REJECTED
        self.decided_by = user
        self.decided_at = timezone.now()
        self.decision_note = note[:300]
        self.save()

    def as_approved_change(self, zone: ZoneInfo) -> ApprovedChange:
        """The entry written to the policy's changes file, in the school's local time."""
        return ApprovedChange(
            id=self.pk,
            action=Action(self.action),
            groups=list(self.groups),
            sites=list(self.sites),
            users=list(self.users),
            until=_local(self.until, zone),
            reason=self.reason,
            proposed_by=_person(self.proposed_by),
            approved_by=_person(self.decided_by),
            approved_at=_local(self.decided_at, zone),
        )


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _person(user) -> str:
    return f"{user.get_full_name() or user.username} ({user.username})"
