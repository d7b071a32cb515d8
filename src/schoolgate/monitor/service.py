"""The live monitor: journal → event store → alert rules → outbox → email, webhooks, staff app.

Two background threads:

- *ingest*: every `poll` seconds reads new journal records into the event store (resuming at
  its saved position), feeds each committed batch to `AlertRules`, and queues what must be
  sent in the outbox; once an hour it purges events older than the policy's
  `monitoring.retention_days` (STM-099, STM-100, STM-106).
- *deliver*: woken as soon as the ingest thread has queued messages (and every `poll` seconds
  otherwise), sends what is due from the outbox, retries failures with back-off, and escalates
  messages that miss their `within` deadline or keep failing: the next contact in the out-of-hours
  call order is told; with nobody left, the first out-of-hours contact not yet told; and always a
  `delivery-missed` event in the store.

A recompiled policy is picked up without a restart: `follow(holder)` subscribes to the
gateway's `SnapshotHolder` (the snapshot file is watched and hot-reloaded, `gateway/reload.py`),
and the ingest thread applies the new policy before the next batch of events it reads
(`policy_changed`): rules, routing, contacts and deadlines from then on are the new policy's.

`clock` is the monitor's idea of now (real time unless a test gives one): routing
(out of hours or not) is decided when the monitor handles an alert.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schoolgate.engine.alerting import Recipient
from schoolgate.engine.policy.schema import Policy
from schoolgate.events.journal_ingest import JournalIngester
from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.monitor.delivery import (
    DeliveryError,
    DeliverySettings,
    MailSession,
    email_message,
    post_json,
)
from schoolgate.monitor.outbox import Delivery, Outbox
from schoolgate.monitor.rules import Alert, AlertRules, Change

log = logging.getLogger(__name__)

PURGE_EVERY = 3600.0


@dataclass
class Monitor:
    policy: Policy
    journal: Path
    store: EventStore
    outbox: Outbox
    settings: DeliverySettings = field(default_factory=DeliverySettings)
    clock: Callable[[], datetime] | None = None
    poll: float = 0.1

    def __post_init__(self) -> None:
        self.rules = AlertRules(self.policy, clock=self.clock)
        self.ingester = JournalIngester(self.journal, self.store, on_events=self._on_events)
        self._stop = threading.Event()
        self._queued = threading.Event()  # the ingest thread queued messages: deliver now
        self._threads: list[threading.Thread] = []
        self._last_purge = float("-inf")  # the first pass purges, however recently booted
        self._new_policy: Policy | None = None
        self.policy_reloads = 0
        self.errors: list[str] = []

    # Running --------------------------------------------------------------------------------------

    def start(self) -> Monitor:
        for name, loop in (
            ("monitor-ingest", self._ingest_loop),
            ("monitor-deliver", self._deliver_loop),
        ):
            thread = threading.Thread(target=loop, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._queued.set()
        for thread in self._threads:
            thread.join(timeout)

    def follow(self, holder: SnapshotHolder) -> Monitor:
        """Take each snapshot the gateway reloads: its policy applies from the next batch."""
        holder.on_reload(lambda snapshot, decider: self.policy_changed(decider.policy))
        return self

    def policy_changed(self, policy: Policy) -> None:
        """Called from any thread; the ingest thread applies it between batches."""
        self._new_policy = policy

    def _apply_new_policy(self) -> None:
        policy, self._new_policy = self._new_policy, None
        if policy is None:
            return
        self.policy = policy  # the delivery thread reads contacts and call order from here
        self.rules.policy_changed(policy)
        self.policy_reloads += 1
        log.info("monitor: policy %s reloaded", policy.school.id)

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def _ingest_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._apply_new_policy()
                self.ingester.run_once()
                self._purge_if_due()
            except Exception as exc:  # keep monitoring; say what went wrong
                log.exception("monitor: ingestion failed")
                self.errors.append(f"ingest: {exc}")
            self._stop.wait(self.poll)

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
                self.escalate_due()
            except Exception as exc:
                log.exception("monitor: delivery failed")
                self.errors.append(f"deliver: {exc}")
            # Woken as soon as the ingest thread queues something; otherwise every `poll` for
            # retries that fall due and deadlines that pass.
            self._queued.wait(self.poll)
            self._queued.clear()

    def _purge_if_due(self) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = time.monotonic()
        cutoff = self.now() - timedelta(days=self.policy.monitoring.retention_days)
        removed = self.store.purge(cutoff)
        if removed:
            log.info("monitor: purged %d events older than %s", removed, cutoff)

    # Alerts into the outbox -----------------------------------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        queued = False
        with self.outbox.transaction():  # a batch's messages reach the disk together
            for event in events:
                for change in self.rules.feed(event):
                    self.enqueue(change)
                    queued = True
        if queued:
            self._queued.set()

    def enqueue(self, change: Change) -> None:
        alert, now = change.alert, time.time()
        if change.tell:
            message_key = f"{alert.key}|{alert.level.value}"
            deadline = alert.routing.deadline.timestamp() if alert.routing.deadline else None
            for recipient in alert.routing.recipients:
                self._queue_email(alert, recipient, message_key, now, deadline)
            for url in self.settings.webhooks:
                self.outbox.add(
                    message_key=message_key,
                    alert_key=alert.key,
                    channel="webhook",
                    destination=url,
                    payload=alert.to_json(),
                    now=now,
                    deadline=deadline,
                )
        if self.settings.app_url:
            self.outbox.add(
                message_key=alert.key,
                alert_key=alert.key,
                channel="app",
                destination=f"{self.settings.app_url.rstrip('/')}/api/alerts/",
                payload=alert.app_payload(),
                now=now,
                replace_waiting=True,
            )

    def _queue_email(
        self,
        alert: Alert,
        recipient: Recipient,
        message_key: str,
        now: float,
        deadline: float | None,
    ) -> None:
        payload = email_message(
            alert,
            recipient,
            self.policy.school.name,
            self.policy.school.timezone,
            self.settings.app_url,
        )
        payload["role"] = recipient.role
        self.outbox.add(
            message_key=message_key,
            alert_key=alert.key,
            channel="email",
            destination=self.settings.address_for(recipient) or f"role:{recipient.role}",
            payload=payload,
            now=now,
            deadline=deadline,
            role=recipient.role,
            call_order=recipient.order,
            held=recipient.order > 0,
        )

    # Delivery -------------------------------------------------------------------------------------

    def deliver_due(self) -> int:
        """Send what is due; the round's outcomes are recorded together afterwards (a crash in
        between sends a message twice rather than never)."""
        outcomes: list[tuple[Delivery, float, DeliveryError | None]] = []
        with MailSession(self.settings) as mail:
            for delivery in self.outbox.due(time.time()):
                try:
                    self._send(delivery, mail)
                except DeliveryError as exc:
                    log.warning(
                        "monitor: %s delivery %d not sent: %s", delivery.channel, delivery.id, exc
                    )
                    outcomes.append((delivery, time.time(), exc))
                    continue
                outcomes.append((delivery, time.time(), None))
        if outcomes:
            with self.outbox.transaction():
                for delivery, at, error in outcomes:
                    if error is None:
                        self.outbox.delivered(delivery, at)
                    else:
                        self.outbox.failed(delivery, str(error), at, permanent=error.permanent)
        return sum(1 for _, _, error in outcomes if error is None)

    def _send(self, delivery: Delivery, mail: MailSession) -> None:
        if delivery.channel == "email":
            to = "" if delivery.destination.startswith("role:") else delivery.destination
            mail.send(to, delivery.payload, delivery.message_key)
        elif delivery.channel == "app":
            post_json(delivery.destination, delivery.payload, self.settings.app_token)
        else:
            post_json(delivery.destination, delivery.payload)

    def escalate_due(self) -> int:
        """Missed deadlines and repeated failures: tell the next person (STM-007)."""
        escalated = 0
        now = time.time()
        for missed in self.outbox.due_escalations(now):
            escalated += 1
            self._record_missed(missed)
            if self.outbox.release_next(missed.alert_key, missed.call_order, now):
                continue
            self._escalate_beyond_routing(missed, now)
        return escalated

    def _escalate_beyond_routing(self, missed: Delivery, now: float) -> None:
        told = {d.role for d in self.outbox.all("email") if d.alert_key == missed.alert_key}
        contacts = {c.role: c for c in self.policy.contacts}
        for order, role in enumerate(self.policy.monitoring.out_of_hours):
            if role in told:
                continue
            contact = contacts.get(role)
            recipient = Recipient(
                role=role,
                title=contact.title if contact else role,
                name=contact.name if contact else None,
                email=contact.email if contact else None,
                order=order,
            )
            payload = dict(missed.payload)
            payload["subject"] = "[Escalated] " + payload.get("subject", "")
            payload["body"] = (
                f"Escalated to you because the message to {missed.role} was not delivered "
                f"in time ({missed.last_error or 'deadline passed'}).\n\n" + payload.get("body", "")
            )
            payload["role"] = role
            self.outbox.add(
                message_key=f"{missed.message_key}|escalation",
                alert_key=missed.alert_key,
                channel="email",
                destination=self.settings.address_for(recipient) or f"role:{role}",
                payload=payload,
                now=now,
                role=role,
                call_order=missed.call_order + 1,
            )
            return
        log.error(
            "monitor: alert %s not delivered in time and no one is left to tell", missed.alert_key
        )

    def _record_missed(self, missed: Delivery) -> None:
        event = Event(
            at=self.now(),
            source="monitor",
            kind="delivery-missed",
            target=missed.destination,
            reason=missed.last_error or "deadline passed",
            extra={"alert": missed.alert_key, "role": missed.role, "channel": missed.channel},
        )
        self.store.append([event])
