"""Writing to and checking the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from schoolgate.app.audit.models import GENESIS, AuditEntry, canonical_json

_CHAIN_LOCK = 0x5C4001  # PostgreSQL advisory lock id for appending to the chain
_COLUMNS = ("at", "actor", "actor_name", "action", "object_type", "object_id", "detail", "ip")

# One statement links the new entry to the last one: the previous hash is read and the new hash
# computed inside the INSERT, so the chain is serialised for one round trip, not four. On
# PostgreSQL the advisory lock is taken in the same message (autocommit: one implicit
# transaction; inside an outer transaction: held until it commits); the INSERT, a later
# statement, sees every entry committed before the lock was granted (two statements in one
# execute need Django's default client-side parameter binding). SQLite serialises writers
# itself. hash = sha256(previous_hash + "\n" + canonical JSON of the entry), as before.
_LINK = """
INSERT INTO audit_auditentry ({columns}, previous_hash, hash)
SELECT {values}, prev.hash, {digest}
FROM (SELECT COALESCE(
    (SELECT hash FROM audit_auditentry ORDER BY id DESC LIMIT 1), %s) AS hash) AS prev
RETURNING id, previous_hash, hash
"""
_DIGEST = {
    "postgresql": "encode(sha256(convert_to(prev.hash || %s, 'UTF8')), 'hex')",
    "sqlite": "schoolgate_sha256(prev.hash || %s)",
}


def _link_sql(vendor: str) -> str:
    columns = ", ".join(AuditEntry._meta.get_field(c).column for c in _COLUMNS)
    values = ", ".join(["%s"] * len(_COLUMNS))
    sql = _LINK.format(columns=columns, values=values, digest=_DIGEST[vendor])
    if vendor == "postgresql":
        return "SELECT pg_advisory_xact_lock(%s);" + sql
    return sql


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append who did what to which object; `actor` is a user or None for the system."""
    entry = AuditEntry(
        at=timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_name=_actor_name(actor),
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail or {},
        ip=request.META.get("REMOTE_ADDR") if request is not None else None,
    )
    fields = [AuditEntry._meta.get_field(c) for c in _COLUMNS]
    values = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields]
    params = [*values, "\n" + canonical_json(entry.payload()), GENESIS]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_link_sql(connection.vendor), [_CHAIN_LOCK, *params])
            cursor.nextset()  # past the lock's result to the INSERT's
        else:
            cursor.execute(_link_sql(connection.vendor), params)
        entry.id, entry.previous_hash, entry.hash = cursor.fetchone()
    entry._state.adding = False
    entry._state.db = connection.alias
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
    """Every entry whose hash or link to its predecessor does not hold, and newest entries that
    were deleted (a chain cut short still links up, so its end is checked separately)."""
    breaks: list[ChainBreak] = []
    previous = GENESIS
    last_id = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.previous_hash != previous:
            breaks.append(ChainBreak(entry.id, "does not link to the entry before it"))
        if entry.compute_hash() != entry.hash:
            breaks.append(ChainBreak(entry.id, "content does not match its hash"))
        previous = entry.hash
        last_id = entry.id
    issued = _highest_id_issued()
    if issued is not None and issued > last_id:
        breaks.append(
            ChainBreak(issued, f"the newest entries, ids {last_id + 1} to {issued}, were deleted")
        )
    return breaks


def _highest_id_issued() -> int | None:
    """The highest id the database ever gave an audit entry, where it keeps that exactly.

    SQLite's AUTOINCREMENT counter (`sqlite_sequence`) only moves when an INSERT commits, so an
    entry count below it means entries were deleted from the end. (SQLite's trigger refuses
    UPDATE only: Django empties test databases with DELETE.) PostgreSQL refuses DELETE with a
    trigger, and its sequences skip numbers on rolled-back inserts, so it is not asked.
    """
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = %s", [AuditEntry._meta.db_table]
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None
