"""Writing to and checking the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from schoolgate.app.audit.models import GENESIS, AuditEntry

_CHAIN_LOCK = 0x5C4001  # PostgreSQL advisory lock id for appending to the chain


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append who did what to which object; `actor` is a user or None for the system."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry = AuditEntry(
            at=timezone.now(),
            actor=actor if actor is not None and actor.pk else None,
            actor_name=_actor_name(actor),
            action=action,
            object_type=type(obj).__name__.lower() if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            detail=detail or {},
            ip=request.META.get("REMOTE_ADDR") if request is not None else None,
            previous_hash=last or GENESIS,
        )
        entry.hash = entry.compute_hash()
        entry.save()
        return entry


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "system"
    return f"{actor.get_full_name() or actor.username} ({actor.username})"


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def verify_chain() -> list[ChainBreak]:
    """Every entry whose hash or link to its predecessor does not hold."""
    breaks: list[ChainBreak] = []
    previous = GENESIS
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        entry.detail = entry.detail  # JSON round trip already done by the driver
        if entry.previous_hash != previous:
            breaks.append(ChainBreak(entry.id, "does not link to the entry before it"))
        if entry.compute_hash() != entry.hash:
            breaks.append(ChainBreak(entry.id, "content does not match its hash"))
        previous = entry.hash
    return breaks
