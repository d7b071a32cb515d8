# ruff: noqa: RUF012
"""Incident cases and what is recorded on them.

Incident types and sanction actions are policy ids; their titles are read from the policy
file. An applied action keeps the title it had when it was applied, as the record of what was
done then.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from schoolgate.app.audit.models import AppendOnly

USER = settings.AUTH_USER_MODEL


class Status(models.TextChoices):
    REPORTED = "reported", "Reported"
    TRIAGED = "triaged", "Triaged"
    INVESTIGATING = "investigating", "Investigating"
    REFERRED = "referred", "Referred to police / external agency"
    ACTION_TAKEN = "action-taken", "Action taken"
    CLOSED = "closed", "Closed"


class Source(models.TextChoices):
    STAFF = "staff", "Staff report"
    PUPIL = "pupil", "Pupil report"
    PARENT = "parent", "Parent / carer report"
    OTHER = "other", "Report by another user"
    ALERT = "alert", "Monitoring alert"


HANDLED_AS = [
    ("concern", "Recorded as a safeguarding concern"),
    ("false-positive", "False-positive monitoring alert"),
]


class Case(models.Model):
    reported_at = models.DateTimeField(db_index=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    reporter = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="reported_cases"
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    involved = models.ManyToManyField(USER, blank=True, related_name="involved_in")
    involved_text = models.CharField("others involved", max_length=300, blank=True)
    room = models.CharField(max_length=100, blank=True)
    device = models.CharField(max_length=100, blank=True)
    url = models.CharField("web address", max_length=2000, blank=True)
    summary = models.CharField(max_length=200)
    details = models.TextField()
    incident_type = models.CharField(max_length=140, blank=True)  # "pupil:<incident id>"
    illegal = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REPORTED)
    year_group = models.CharField(max_length=2, blank=True)  # for anonymised figures
    alert_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    alert = models.JSONField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Issue 13: a case opened for a monitoring alert that the DSL found to be a safeguarding
    # concern, or a false positive, is not an ICT-misuse incident: it is closed as such and
    # left out of the incident logs and the governors' incident figures.
    handled_as = models.CharField(max_length=16, choices=HANDLED_AS, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["reporter", "-id"]),
        ]

    @property
    def reference(self) -> str:
        return f"C-{self.pk:06d}"

    @property
    def applies_to(self) -> str:
        return self.incident_type.partition(":")[0]

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED

    def __str__(self) -> str:
        return f"{self.reference} {self.summary}"


class AppliedAction(models.Model):
    """An action or referral from the sanction matrix, confirmed by a safeguarding lead."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="actions")
    action_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    referral = models.BooleanField(default=False)
    suggested = models.BooleanField()
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        ordering = ["at", "id"]


class Review(models.Model):
    """STM-283/284: the record of reviewing devices / internet sites, by two named people.

    The first reviewer is whoever records it, signed in; the second confirms in their own
    signed-in session (`second_confirmed_at`); nobody can confirm for someone else (issue 13).
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reviews")
    reason_for_investigation = models.TextField()
    first_reviewer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    first_position = models.CharField(max_length=100)
    second_reviewer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    second_position = models.CharField(max_length=100)
    computer = models.CharField("name and location of computer used", max_length=200)
    sites = models.TextField("web site(s) address / device")
    reason_for_concern = models.TextField()
    conclusion = models.TextField("conclusion and action proposed or taken")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    second_confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(first_reviewer=F("second_reviewer")),
                name="review_two_different_people",
            )
        ]

    @property
    def is_confirmed(self) -> bool:
        return self.second_confirmed_at is not None


class Evidence(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence")
    sha256 = models.CharField(max_length=64)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    description = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at"]


class CustodyEntry(AppendOnly):
    """Who held or handled a piece of evidence, when; never changed."""

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="custody")
    at = models.DateTimeField()
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    event = models.CharField(max_length=40)
    sha256_checked = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]


class ParentContact(models.Model):
    class Method(models.TextChoices):
        PHONE = "phone", "Telephone"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "E-mail"
        LETTER = "letter", "Letter"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="parent_contacts")
    parent = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    parent_name = models.CharField(max_length=200)
    method = models.CharField(max_length=10, choices=Method.choices)
    informed_at = models.DateTimeField()
    informed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["informed_at"]
