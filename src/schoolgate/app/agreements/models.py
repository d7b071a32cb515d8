# ruff: noqa: RUF012
"""Signatures, consents and training records. The rules (agreement texts, who must sign, which
consents a channel needs, which training is due) live in the policy file; these tables hold only
what people did, and are append-only: a withdrawal or a new answer is a new row, never an edit
(STM-240, STM-245, STM-247: who gave a consent and when; STM-286: the Training Needs Audit Log).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Signatory(models.TextChoices):
    USER = "user", "The user"
    PARENT = "parent", "Parent or carer"
    STAFF_WITNESS = "staff-witness", "Member of staff (witness)"


class Via(models.TextChoices):
    APP = "app", "Signed in to Schoolgate"
    LINK = "link", "Signed link sent by e-mail"
    PAPER = "paper", "Paper form, recorded by staff"


class Signature(models.Model):
    """One signature on one version of an agreement, for `subject` (the pupil or adult whose
    access it is), by `signed_by` in the role `signatory`."""

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agreement_signatures"
    )
    agreement = models.CharField(max_length=64, help_text="The agreement's id in the policy.")
    version = models.CharField(max_length=12)
    signatory = models.CharField(max_length=16, choices=Signatory.choices)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures_given"
    )
    signed_at = models.DateTimeField()
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.APP)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The member of staff who entered a paper form.",
    )

    class Meta:
        ordering = ["-signed_at"]
        indexes = [models.Index(fields=["subject", "agreement", "version"])]


class Answer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Consent(models.Model):
    """One answer about one consent for one child; the latest answer by each giver counts."""

    child = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents"
    )
    consent = models.CharField(max_length=64, help_text="The consent's id in the policy.")
    answer = models.CharField(max_length=10, choices=Answer.choices)
    giver_role = models.CharField(max_length=8, choices=[("parent", "Parent"), ("pupil", "Pupil")])
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents_given"
    )
    at = models.DateTimeField()
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.APP)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["child", "consent", "at"])]


class TrainingRecord(models.Model):
    """Training someone completed (a course the policy names, or other relevant training)."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_records"
    )
    course = models.CharField(max_length=64, blank=True, help_text="Policy training id, if any.")
    title = models.CharField(max_length=200)
    completed_on = models.DateField()
    provider = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed_on", "-id"]


class TrainingNeed(models.Model):
    """A row of St Thomas More's Training Needs Audit Log (STM-286, STM-063): Group; Relevant
    training the last 12 months; Identified Training Need; To be met by; Cost; Review Date."""

    group = models.CharField(max_length=100)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_needs",
    )
    relevant_training = models.TextField("Relevant training the last 12 months", blank=True)
    identified_need = models.TextField("Identified Training Need")
    to_be_met_by = models.CharField("To be met by", max_length=200, blank=True)
    cost = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    review_date = models.DateField("Review Date")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["review_date", "id"]


class Reminder(models.Model):
    """An e-mail reminder sent (to a parent about a countersignature, to staff about training)."""

    kind = models.CharField(max_length=32)
    about = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True
    )
    recipient = models.EmailField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
