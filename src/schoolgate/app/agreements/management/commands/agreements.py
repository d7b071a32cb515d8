"""`schoolgate app agreements publish|remind`: for cron or a systemd timer.

- `publish`: rewrite the gateway's agreement state now (after a restore, or at the start of a
  school year; every signature also publishes it).
- `remind --base-url URL`: e-mail parents whose countersignature a pupil is waiting for, staff
  whose training is due, and the online safety coordinator about Training Needs Audit Log
  review dates (STM-S35).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from schoolgate.app.agreements.publish import publish_now, state_path
from schoolgate.app.agreements.reminders import remind_parents
from schoolgate.app.agreements.training import send_training_reminders
from schoolgate.app.policy import current_policy


class Command(BaseCommand):
    help = "Publish the agreement state for the gateway, or send the reminders that are due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["publish", "remind"])
        parser.add_argument("--base-url", default="http://127.0.0.1:8000/")

    def handle(self, *args: object, **options: object) -> None:
        if options["action"] == "publish":
            count = publish_now()
            self.stdout.write(f"{state_path()}: {count} people with a complete agreement")
            return
        parents = remind_parents(timezone.now(), str(options["base_url"]))
        training = send_training_reminders(current_policy(), timezone.localdate())
        self.stdout.write(f"reminders sent: {parents} to parents, {training} about training")
