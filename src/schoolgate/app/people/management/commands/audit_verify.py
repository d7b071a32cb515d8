"""Check the audit trail's hash chain; exits 1 if any entry was changed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.audit.trail import verify_chain


class Command(BaseCommand):
    help = "Check that no audit entry has been changed or removed from the middle of the chain."

    def handle(self, *args: object, **options: object) -> None:
        breaks = verify_chain()
        for item in breaks:
            self.stderr.write(f"entry {item.entry_id}: {item.reason}")
        if breaks:
            raise CommandError(f"{len(breaks)} problems in the audit trail")
        last = AuditEntry.objects.order_by("-id").values_list("id", "hash").first()
        count = AuditEntry.objects.count()
        self.stdout.write(f"audit trail intact: {count} entries")
        if last is not None:  # kept elsewhere, it shows whether the tail was later rewritten
            self.stdout.write(f"latest entry {last[0]}: {last[1]}")
