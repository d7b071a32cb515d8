"""A governor's sign-off of one term's report (CAV-075, CAV-S12; STM-016, STM-018).

The record keeps who signed (the account, and their name and position as they were), when, and
what they signed: the anonymised figures exactly as the page showed them and their SHA-256, so a
figure that moves afterwards (a late incident, an alert triaged later) is shown against the
signed one rather than silently rewriting what the governor agreed to. One sign-off per governor
per term; several governors may each sign.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from schoolgate.app.audit import trail
from schoolgate.app.cases.terms import Term
from schoolgate.app.reports.termly import fingerprint, lines
from schoolgate.app.roles import Capability, allows


class SignOffError(ValueError):
    """A sign-off refused for a reason the governor can act on."""


class TermReportSignOff(models.Model):
    term = models.CharField(max_length=20, help_text="The term signed off, e.g. 2025-autumn.")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_by_name = models.CharField(max_length=150)
    position = models.CharField(max_length=150)
    signed_at = models.DateTimeField(default=timezone.now)
    figures = models.JSONField(help_text="The anonymised figures as shown when signed.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the figures' canonical JSON.")

    class Meta:
        ordering = ("term", "signed_at", "id")
        constraints = (
            models.UniqueConstraint(fields=["term", "signed_by"], name="one_sign_off_per_term"),
        )

    def __str__(self) -> str:
        return f"{self.term} report signed off by {self.signed_by_name}"

    @classmethod
    def sign(
        cls, term: Term, user: Any, position: str, view: dict[str, Any], request: Any = None
    ) -> TermReportSignOff:
        """Record and audit `user`'s sign-off of `term`'s report showing `view`."""
        if not user.is_active or not allows(user.role, Capability.SIGN_GOVERNOR_REPORT):
            raise PermissionDenied("only a governor signs off the termly report")
        if term.bounds()[0] > timezone.now():
            raise SignOffError(f"the {term.title} has not started yet")
        digest = fingerprint(view)
        try:
            with transaction.atomic():
                signed = cls.objects.create(
                    term=term.key,
                    signed_by=user,
                    signed_by_name=user.get_full_name() or user.username,
                    position=position.strip()[:150] or user.get_role_display(),
                    figures=view,
                    sha256=digest,
                )
                trail.record(
                    user,
                    "report.governor-signed-off",
                    signed,
                    {"term": term.key, "sha256": digest, "position": signed.position},
                    request,
                )
        except IntegrityError:
            raise SignOffError(f"you have already signed off the {term.title} report") from None
        return signed

    @property
    def intact(self) -> bool:
        """The stored figures still hash to what was recorded when signed."""
        return fingerprint(self.figures) == self.sha256

    def changes(self, view: dict[str, Any]) -> list[str]:
        """What reads differently now from what was signed, in words; empty if nothing."""
        if fingerprint(view) == self.sha256:
            return []
        then, now = lines(self.figures), lines(view)
        return [
            f"{where}: {then.get(where, 'not shown')} when signed, "
            f"{now.get(where, 'not shown')} now"
            for where in sorted(set(then) | set(now))
            if then.get(where) != now.get(where)
        ]
