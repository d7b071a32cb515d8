"""Create the demo school's devices (loopback addresses of several groups) and publish them to
the gateway's bindings file. For `schoolgate demo` only."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from schoolgate.app.console.devices import publish
from schoolgate.app.console.models import Device
from schoolgate.app.policy import current_policy
from schoolgate.gateway.demo_devices import demo_devices


class Command(BaseCommand):
    help = "Create the demo devices (127.0.0.2-4) and publish them to the bindings file."

    def handle(self, *args: object, **options: object) -> None:
        for device in demo_devices(current_policy()):
            Device.objects.update_or_create(
                address=device.address,
                defaults={"name": device.name, "group": device.group, "note": "demo"},
            )
        count = publish(Path(settings.SCHOOLGATE_BINDINGS_FILE), Device.objects.all())
        self.stdout.write(f"{settings.SCHOOLGATE_BINDINGS_FILE}: {count} entries")
