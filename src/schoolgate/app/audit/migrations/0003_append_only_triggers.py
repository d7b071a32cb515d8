# ruff: noqa: RUF012
from django.db import migrations

# The database itself refuses to change or delete audit entries (row triggers; TRUNCATE, which
# only the database owner can run, stays available for test tear-down).
POSTGRES_FORBID = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""
POSTGRES_ALLOW = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_append_only();
"""
# SQLite: Django flushes test databases with DELETE, so only UPDATE is refused there.
SQLITE_FORBID = """
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END;
"""
SQLITE_ALLOW = "DROP TRIGGER IF EXISTS audit_entry_no_update;"


def _run(schema_editor, by_vendor):
    sql = by_vendor.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql, params=None)


def forbid_changes(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_FORBID, "sqlite": SQLITE_FORBID})


def allow_changes(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_ALLOW, "sqlite": SQLITE_ALLOW})


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_initial")]
    operations = [migrations.RunPython(forbid_changes, allow_changes)]
