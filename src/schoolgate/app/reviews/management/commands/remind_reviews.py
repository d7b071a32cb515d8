"""`schoolgate app remind_reviews [--days N]`: for cron or a systemd timer, daily.

E-mails the people responsible for filtering and monitoring (the roles register's contacts and
the DSL, coordinator and governor accounts) once per due date, from N days (default 30) before
the annual review is due (DfE standard 2; STM-004, STM-006).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from schoolgate.app.policy import current_policy
from schoolgate.app.reviews.workflow import REMINDER_DAYS, review_due, send_review_reminders


class Command(BaseCommand):
    help = "E-mail the responsible roles before the filtering and monitoring review is due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=REMINDER_DAYS)

    def handle(self, *args: object, **options: object) -> None:
        policy = current_policy()
        today = timezone.localdate()
        sent = send_review_reminders(policy, today, int(options["days"]))
        due = review_due(policy, today)
        state = "overdue" if due.overdue(today) else "due"
        self.stdout.write(f"review {state} {due.due_on:%Y-%m-%d}: {sent} reminder(s) sent")
