"""The annual filtering and monitoring review (DfE standard 2; STM-004, STM-006) and the
reminders sent before it is due."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Review(models.Model):
    """One recorded review: what was checked, what was decided, and who signed it off when."""

    due_on = models.DateField(help_text="The date the review was due when it was recorded.")
    checklist = models.JSONField(help_text="Checklist item id -> checked (true/false).")
    outcome = models.TextField(help_text="What the review found and what will change.")
    actions = models.TextField(blank=True, help_text="Follow-up actions, one a line.")
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_name = models.CharField(max_length=150)
    signed_off_position = models.CharField(max_length=150)
    signed_off_at = models.DateTimeField(default=timezone.now)
    selftest = models.ForeignKey(
        "SelfTestRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The latest filtering self-test at sign-off: its evidence.",
    )

    class Meta:
        ordering = ("-signed_off_at", "-id")

    def __str__(self) -> str:
        return f"Review signed off {self.signed_off_at:%Y-%m-%d} by {self.signed_off_name}"


class ReviewReminder(models.Model):
    """An e-mail sent about the review due on `due_on`; one per recipient and due date."""

    due_on = models.DateField()
    recipient = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["due_on", "recipient"], name="one_reminder_per_due"),
        )


class SelfTestRun(models.Model):
    """One run of the filtering self-test against the running gateway (`gateway/selftest.py`):
    the whole report, kept as evidence for the review's filtering check (STM-004, STM-316)."""

    ran_at = models.DateTimeField(default=timezone.now)
    ran_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    dns = models.CharField(max_length=80)
    proxy = models.CharField(max_length=80)
    passed = models.BooleanField()
    probes = models.PositiveIntegerField()
    mismatches = models.PositiveIntegerField()
    not_probed = models.PositiveIntegerField(help_text="Groups the gateway could not be asked as.")
    report = models.JSONField(help_text="`SelfTestReport.to_json()`.")

    class Meta:
        ordering = ("-ran_at", "-id")

    def __str__(self) -> str:
        return f"Self-test {self.ran_at:%Y-%m-%d %H:%M}: {'passed' if self.passed else 'failed'}"
