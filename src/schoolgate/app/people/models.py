# ruff: noqa: RUF012
"""The school directory: everyone who signs in or is named in a case, with role and group."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from schoolgate.app.roles import ADMIN_ROLES, ROLE_CHOICES, STAFF_ROLES, Role

YEAR_CHOICES = [("N", "Nursery"), ("R", "Reception")] + [
    (str(y), f"Year {y}") for y in range(1, 14)
]
_KEY_STAGES = {"N": "EYFS", "R": "EYFS", "1": "KS1", "2": "KS1"}
_KEY_STAGES |= {str(y): "KS2" for y in range(3, 7)} | {str(y): "KS3" for y in range(7, 10)}
_KEY_STAGES |= {"10": "KS4", "11": "KS4", "12": "KS5", "13": "KS5"}


def key_stage_for(year: str) -> str:
    return _KEY_STAGES.get(year, "")


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=ROLE_CHOICES, default=Role.PUPIL)
    policy_group = models.CharField(
        max_length=64, blank=True, help_text="The group id in the school's policy file."
    )
    upn = models.CharField("UPN", max_length=13, unique=True, null=True, blank=True)
    staff_code = models.CharField(max_length=16, unique=True, null=True, blank=True)
    year = models.CharField(max_length=2, choices=YEAR_CHOICES, blank=True)
    registration_group = models.CharField(max_length=16, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)  # CAV-077: the incident log asks for it
    job_title = models.CharField(max_length=100, blank=True)
    children = models.ManyToManyField("self", symmetrical=False, related_name="parents", blank=True)
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed = models.BooleanField(default=False)
    # The 30-second time step of the last accepted TOTP code: a code is never accepted twice.
    totp_last_step = models.BigIntegerField(null=True, blank=True)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["role", "last_name"])]

    @property
    def key_stage(self) -> str:
        return key_stage_for(self.year)

    @property
    def needs_two_factor(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    def note_failed_login(self, threshold: int, minutes: int) -> bool:
        """Count a failure; lock the account when it reaches `threshold`. True if now locked."""
        self.failed_logins += 1
        locked = self.failed_logins >= threshold
        if locked:
            self.locked_until = timezone.now() + timedelta(minutes=minutes)
            self.failed_logins = 0
        self.save(update_fields=["failed_logins", "locked_until"])
        return locked

    def note_good_login(self) -> None:
        if self.failed_logins or self.locked_until:
            self.failed_logins = 0
            self.locked_until = None
            self.save(update_fields=["failed_logins", "locked_until"])

    def __str__(self) -> str:
        name = self.get_full_name() or self.username
        if self.role == Role.PUPIL and self.year:
            return f"{name} (Y{self.year} {self.registration_group})".replace(" )", ")")
        return name
