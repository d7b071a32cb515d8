"""The audit trail cannot be edited: ORM refusal, database trigger, hash chain."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from schoolgate.app.audit.models import AppendOnlyError, AuditEntry
from schoolgate.app.audit.trail import record, verify_chain
from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Source

from .conftest import signed_in


def test_views_and_changes_of_a_case_are_recorded(people) -> None:
    case = workflow.open_case(people["teacher"], Source.STAFF, {"summary": "s", "details": "d"})
    client = signed_in(people["dsl"])
    client.get(reverse("case-detail", args=[case.pk]))
    client.post(reverse("case-note", args=[case.pk]), {"text": "spoke to form tutor"})
    entries = AuditEntry.objects.filter(object_type="case", object_id=str(case.pk))
    assert [e.action for e in entries] == ["case.report", "case.view", "case.note"]
    view = entries[1]
    assert view.actor == people["dsl"] and "dsl-1" in view.actor_name and view.at is not None
    assert entries[2].detail == {"text": "spoke to form tutor"}


def test_orm_refuses_change_and_delete(people) -> None:
    entry = record(people["dsl"], "test", None)
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_database_refuses_update_behind_the_orms_back(people) -> None:
    record(people["dsl"], "test", None)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.update(action="forged")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps DELETE for flush")
def test_postgres_refuses_delete(people) -> None:
    record(people["dsl"], "test", None)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.all().delete()


def test_hash_chain_detects_tampering(people) -> None:
    for i in range(5):
        record(people["dsl"], "test", None, {"n": i})
    assert verify_chain() == []
    victim = AuditEntry.objects.order_by("id")[2]
    with connection.cursor() as cursor:  # an attacker with database access, triggers dropped
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
        else:
            cursor.execute("DROP TRIGGER audit_entry_no_update")
        cursor.execute(
            "UPDATE audit_auditentry SET detail = %s WHERE id = %s", ['{"n": 99}', victim.id]
        )
    breaks = verify_chain()
    assert [b.entry_id for b in breaks] == [victim.id]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL refuses DELETE itself")
@pytest.mark.parametrize("deleted", [1, 3])
def test_deleting_the_newest_entries_is_detected_on_sqlite(people, deleted: int) -> None:
    """Issue 9 (5): a chain cut short still links up; its end must be checked too."""
    for i in range(6):
        record(people["dsl"], "test", None, {"n": i})
    assert verify_chain() == []
    newest = list(AuditEntry.objects.order_by("-id").values_list("id", flat=True)[:deleted])
    with connection.cursor() as cursor:  # an attacker with database access
        cursor.execute(
            f"DELETE FROM audit_auditentry WHERE id IN ({', '.join(['%s'] * deleted)})", newest
        )
    breaks = verify_chain()
    assert [b.entry_id for b in breaks] == [max(newest)]
    assert f"ids {min(newest)} to {max(newest)}, were deleted" in breaks[0].reason


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database cannot wait for locks",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain() -> None:
    """Views append from many server threads at once; the chain must stay linear."""
    import threading

    from django.db import connections

    def append(n: int) -> None:
        try:
            for i in range(10):
                record(None, "test.concurrent", None, {"thread": n, "i": i})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AuditEntry.objects.filter(action="test.concurrent").count() == 80
    assert verify_chain() == []
    assert len(set(AuditEntry.objects.values_list("previous_hash", flat=True))) == 80


def test_audit_verify_command_reports_the_latest_hash(people) -> None:
    import io

    from django.core.management import call_command

    last = record(people["dsl"], "test", None)
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit trail intact" in out.getvalue()
    assert f"latest entry {last.id}: {last.hash}" in out.getvalue()
