"""Starting the monitor inside `schoolgate serve` / `make demo`, configured from the environment.

- `SCHOOLGATE_EVENTS_DB`: the event store (default `sqlite:///VAR/events.sqlite3`; a
  `postgresql://…` URL for trusts).
- `SCHOOLGATE_SMTP`: the mail server, `host:port` (the demo starts a local sink instead).
  `SCHOOLGATE_SMTP_USER`, `SCHOOLGATE_SMTP_PASSWORD`, `SCHOOLGATE_SMTP_STARTTLS=1`,
  `SCHOOLGATE_MAIL_FROM`.
- `SCHOOLGATE_CONTACT_EMAILS`: `role=address,role=address` for contacts the policy gives no
  email (addresses are deployment data, not policy).
- `SCHOOLGATE_WEBHOOKS`: comma-separated URLs each alert is POSTed to as JSON.
The staff app's URL and a fresh bearer token are passed in by `serve`, which gives the same
token to the app it starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from schoolgate.engine.policy.schema import Policy
from schoolgate.events.store import EventStore
from schoolgate.monitor.delivery import DeliverySettings
from schoolgate.monitor.mailsink import MailSink
from schoolgate.monitor.outbox import Outbox
from schoolgate.monitor.service import Monitor


@dataclass
class LiveMonitor:
    monitor: Monitor
    sink: MailSink | None
    lines: list[str]

    def stop(self) -> None:
        self.monitor.stop()
        self.monitor.outbox.close()
        self.monitor.store.close()
        if self.sink is not None:
            self.sink.stop()


def settings_from_environment(env: dict[str, str]) -> DeliverySettings:
    settings = DeliverySettings(
        mail_from=env.get("SCHOOLGATE_MAIL_FROM", "schoolgate@localhost"),
        smtp_user=env.get("SCHOOLGATE_SMTP_USER") or None,
        smtp_password=env.get("SCHOOLGATE_SMTP_PASSWORD") or None,
        smtp_starttls=env.get("SCHOOLGATE_SMTP_STARTTLS", "0") == "1",
        webhooks=[u.strip() for u in env.get("SCHOOLGATE_WEBHOOKS", "").split(",") if u.strip()],
    )
    if smtp := env.get("SCHOOLGATE_SMTP"):
        host, _, port = smtp.rpartition(":")
        settings.smtp_host, settings.smtp_port = (host, int(port)) if host else (smtp, 25)
    for pair in env.get("SCHOOLGATE_CONTACT_EMAILS", "").split(","):
        role, _, address = pair.partition("=")
        if role.strip() and address.strip():
            settings.addresses[role.strip()] = address.strip()
    return settings


def start_live_monitor(
    policy: Policy,
    var: Path,
    *,
    app_url: str | None,
    app_token: str | None,
    demo_mail: bool = False,
    env: dict[str, str] | None = None,
) -> LiveMonitor:
    env = dict(os.environ if env is None else env)
    settings = settings_from_environment(env)
    settings.app_url, settings.app_token = app_url, app_token
    sink = None
    lines = []
    if demo_mail and not settings.smtp_host:
        folder = var / "demo" / "mail"
        sink = MailSink(folder=folder, on_message=_show_message)
        host, port = sink.start()
        settings.smtp_host, settings.smtp_port = host, port
        for contact in policy.contacts:
            settings.addresses.setdefault(contact.role, f"{contact.role}@{policy.school.id}.demo")
        lines.append(
            f"  Alert mail        SMTP {host}:{port}, a local demo sink: each message is saved "
            f"in {folder}/ and shown here"
        )
    elif settings.smtp_host:
        lines.append(f"  Alert mail        SMTP {settings.smtp_host}:{settings.smtp_port}")
    else:
        lines.append("  Alert mail        none: set SCHOOLGATE_SMTP=host:port (alerts wait)")
    store_url = env.get("SCHOOLGATE_EVENTS_DB") or f"sqlite:///{var.resolve() / 'events.sqlite3'}"
    store = EventStore.open(store_url if "://" in store_url else Path(store_url))
    monitor = Monitor(
        policy=policy,
        journal=var / "journal",
        store=store,
        outbox=Outbox(var / "monitor" / "outbox.sqlite3"),
        settings=settings,
        poll=0.1,
    ).start()
    lines.append(
        f"  Monitor           journal → {store.where}; alerts → email"
        + (", staff app cases" if app_url else "")
        + (f", {len(settings.webhooks)} webhooks" if settings.webhooks else "")
        + f"; outbox {var / 'monitor' / 'outbox.sqlite3'}"
    )
    return LiveMonitor(monitor, sink, lines)


def _show_message(message: EmailMessage, recipients: list[str]) -> None:
    print(f"  ✉ mail to {', '.join(recipients)}: {message['Subject']}", flush=True)
