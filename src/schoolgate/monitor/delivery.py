"""Sending what the outbox holds: email over SMTP, webhooks, and the staff app's alert API.

Each sender raises `DeliveryError` on failure (`permanent=True` when retrying cannot help, such
as a role with no email address or a 400 from the app); the outbox keeps the message and the
monitor retries or escalates. Emails carry no search terms or page addresses — only who, what
theme, how often and when, and a link to the staff app where a safeguarding lead signs in to
see the detail (TM-040: sensitive personal data is not emailed unencrypted).
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from schoolgate.engine.alerting import Recipient
from schoolgate.monitor.rules import Alert

TIMEOUT = 10.0


class DeliveryError(RuntimeError):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class DeliverySettings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "schoolgate@localhost"
    addresses: dict[str, str] = field(default_factory=dict)
    """Email address per contact role, where the policy gives none (deployment data)."""
    webhooks: list[str] = field(default_factory=list)
    app_url: str | None = None
    """The staff app's base URL (alerts are POSTed to `{app_url}/api/alerts/`)."""
    app_token: str | None = None

    def address_for(self, recipient: Recipient) -> str | None:
        return recipient.email or self.addresses.get(recipient.role)


# Email --------------------------------------------------------------------------------------------


def email_message(
    alert: Alert, recipient: Recipient, school: str, zone: str, app_url: str | None
) -> dict[str, str]:
    """Subject and body for one recipient (stored in the outbox as the payload)."""
    local = ZoneInfo(zone)
    who = alert.user or f"an unidentified device ({alert.address})"
    first = alert.first.astimezone(local).strftime("%a %d %b %Y %H:%M")
    lines = [
        f"Schoolgate monitoring at {school}: a {alert.level.value} alert.",
        "",
        f"Theme:     {alert.theme}",
        f"Who:       {who}" + (f" (group {alert.group})" if alert.group else ""),
        f"Device:    {alert.address or 'unknown'}",
        f"First:     {first} ({zone})",
        f"Attempts:  {alert.count} so far (repeats are counted on this alert, not re-sent)",
    ]
    if alert.routing.deadline is not None:
        due = alert.routing.deadline.astimezone(local).strftime("%a %d %b %H:%M")
        lines.append(f"Respond:   {alert.routing.within} (by {due})")
    why = "out-of-hours call list" if alert.routing.out_of_hours else "alert route"
    lines += [
        "",
        f"You are told as {recipient.title} ({recipient.role}), from the policy's {why}.",
    ]
    if alert.routing.out_of_hours and alert.routing.next_after(recipient.order):
        nxt = alert.routing.next_after(recipient.order)
        lines.append(f"If this cannot be delivered in time, {nxt.title} is told next.")
    if app_url:
        target = f"{app_url.rstrip('/')}/alerts/history/{alert.user}/" if alert.user else app_url
        lines += ["", f"Details (sign in as a safeguarding lead): {target}"]
    lines += [
        "",
        "Search terms and addresses are not included in this email; they are in the staff app.",
    ]
    subject = f"[Schoolgate] {alert.level.value.upper()} {alert.theme}: {who}"
    return {"subject": subject[:200], "body": "\n".join(lines)}


class MailSession:
    """One SMTP connection for a round of sends, opened on first use; a failure closes it, so
    the next message opens a fresh one (a mail server that went away mid-round)."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> MailSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            settings = self.settings
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT)
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            self._smtp = smtp
        return self._smtp

    def send(self, to: str, payload: dict[str, str], key: str) -> None:
        settings = self.settings
        if not to:
            raise DeliveryError(
                f"no email address for role {payload.get('role')!r}", permanent=True
            )
        if not settings.smtp_host:
            raise DeliveryError("no mail server configured (SCHOOLGATE_SMTP)")
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = to
        message["Subject"] = payload["subject"]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="schoolgate.invalid")
        message["X-Schoolgate-Alert"] = key
        message.set_content(payload["body"])
        try:
            self._connection().send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"mail to {to} via {settings.smtp_host}: {exc}") from None


def send_email(settings: DeliverySettings, to: str, payload: dict[str, str], key: str) -> None:
    """One message on its own connection."""
    with MailSession(settings) as session:
        session.send(to, payload, key)


# HTTP: webhooks and the staff app -------------------------------------------------------------


def post_json(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            text = response.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace")
        permanent = 400 <= exc.code < 500 and exc.code not in {401, 403, 404, 408, 429}
        raise DeliveryError(f"POST {url}: HTTP {exc.code} {detail}", permanent) from None
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"POST {url}: {exc}") from None
    try:
        answer = json.loads(text) if text else {}
    except ValueError:
        answer = {}
    return answer if isinstance(answer, dict) else {}
