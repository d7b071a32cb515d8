# ruff: noqa: RUF012
"""What the console keeps in the database: devices and their groups, and the unblock requests
and missed-site reports that arrive from the block pages.

Devices are published to the gateway's bindings file (`devices.publish`); the policy stays the
only source of the rules and the group ids. An `UnblockRequest` is received, listed and answered
here (issue 13); approving one — changing the filter — is the governance issue's work, so the
model already carries what that needs: a status that can become `approved`, who decided
(`decided_by`, `decided_at`) and why (`reason`), kept apart from the reply the requester sees
(`response`). SH-026: whoever asks for a site to be unblocked answers for its content.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Device(models.Model):
    """One address or address range and the policy group it is filtered as (STM-081)."""

    name = models.CharField(max_length=100)
    address = models.CharField(
        max_length=64, unique=True, help_text="An IP address (10.20.3.4) or range (10.20.3.0/24)."
    )
    group = models.CharField(max_length=64, help_text="The group id in the school's policy.")
    user = models.CharField(
        max_length=150, blank=True, help_text="Optional: the person who uses this device."
    )
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "address"]

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"

    @property
    def is_range(self) -> bool:
        return "/" in self.address


class UnblockRequest(models.Model):
    class Kind(models.TextChoices):
        UNBLOCK = "unblock-request", "Unblock request"
        MISSED = "problem-report", "Report from a block page"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ANSWERED = "answered", "Answered"
        DECLINED = "declined", "Declined"
        APPROVED = "approved", "Approved"  # set by the governance workflow, not by this issue

    source_key = models.CharField(
        max_length=64, unique=True, help_text="Hash of the gateway's record: imports once."
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    url = models.TextField()
    message = models.TextField(blank=True)
    requester = models.CharField(max_length=150, blank=True, help_text="User name, if known.")
    address = models.CharField(max_length=64, blank=True)
    group = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    response = models.TextField(blank=True, help_text="What the requester is told.")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was approved or declined.")

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "-requested_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.url}"
