"""Signing and countersigning: who may sign for whom, and what happens after.

- The user signs their own agreement (`Signatory.USER`).
- A parent or carer linked to the pupil in the directory countersigns (`Signatory.PARENT`,
  STM-230 "Parent / Carer Counter-signature", SH-098, CAV-029): signed in, or from the signed
  link in the reminder e-mail (`links.py`). Nobody else can sign as a parent.
- Every signature is on the version of the text shown, is recorded in the audit trail, and
  republishes the gateway's agreement state (`publish.py`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from schoolgate.app.agreements.models import Signatory, Signature, Via
from schoolgate.app.agreements.publish import publish_after_commit
from schoolgate.app.agreements.status import AgreementStatus, status_of
from schoolgate.app.audit.trail import record
from schoolgate.app.people.models import User
from schoolgate.app.policy import current_policy
from schoolgate.app.roles import Role


class SigningError(Exception):
    """This person may not sign this (not linked, nothing to sign, already signed)."""


def may_countersign(parent: User, child: User) -> bool:
    return parent.role == Role.PARENT and parent.children.filter(pk=child.pk).exists()


@transaction.atomic
def sign(
    subject: User,
    signatory: str,
    by: User,
    *,
    version: str,
    via: str = Via.APP,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Signature:
    """Record `by`'s signature as `signatory` on `subject`'s agreement, version `version`."""
    now = now or timezone.now()
    status = status_of(subject, current_policy(), now)
    _check(status, subject, signatory, by, version)
    signature = Signature.objects.create(
        subject=subject,
        agreement=status.agreement.id,
        version=version,
        signatory=signatory,
        signed_by=by,
        signed_at=now,
        via=via,
    )
    record(
        by,
        "agreement.sign",
        signature,
        {"subject": subject.username, "agreement": status.agreement.id, "as": signatory},
        request=request,
    )
    publish_after_commit()
    return signature


def _check(
    status: AgreementStatus | None, subject: User, signatory: str, by: User, version: str
) -> None:
    if status is None:
        raise SigningError(f"{subject} has no agreement to sign")
    if status.each_logon:
        raise SigningError("this agreement is accepted at every logon, on the school network")
    if version != status.version:
        raise SigningError("the agreement has changed since the page was opened; read it again")
    if signatory not in status.signed:
        raise SigningError(f"the policy does not ask for a {signatory} signature")
    if status.signed[signatory] is not None:
        raise SigningError("this is already signed")
    if signatory == Signatory.USER and by.pk != subject.pk:
        raise SigningError("only the user signs their own agreement")
    if signatory == Signatory.PARENT and not may_countersign(by, subject):
        raise SigningError("only a parent or carer linked to this pupil may countersign")
    if signatory == Signatory.STAFF_WITNESS and not by.is_staff_member:
        raise SigningError("only a member of staff may witness")
