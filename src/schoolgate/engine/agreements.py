"""Agreement versions and renewal: when a signature stops counting. Pure: the caller gives `now`.

- A version is a short hash of an agreement's title and statements as the policy prints them, so
  a changed text is a new version and asks everyone for a new signature (the register shows who
  signed which version).
- Renewal follows the agreement's `renew` rule: `school-year` (again from the start of each
  school year, e.g. STM-228 "we renew each school year", CAV-071 "at the start of each school
  year", HG-072 "first logon of each school year"), `yearly` (365 days), `daily`, `never`,
  `on-change` (only a new version), and `each-logon` (TM-054, TM-S01: "whenever they log on"),
  which lasts only as long as the logon it was accepted in.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta

from schoolgate.engine.policy.schema import Agreement, Policy

EACH_LOGON = "each-logon"


def agreement_version(agreement: Agreement) -> str:
    """Twelve hex digits that change whenever the title or any statement changes."""
    text = json.dumps([agreement.title, list(agreement.statements)], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def school_year_start(on: date, starts: str = "09-01") -> date:
    """The first day of the school year `on` falls in (`starts` is MM-DD)."""
    month, day = (int(part) for part in starts.split("-"))
    start = date(on.year, month, day)
    return start if on >= start else date(on.year - 1, month, day)


def valid_until(
    renew: str, signed_at: datetime, school_year_starts: str = "09-01"
) -> datetime | None:
    """When a signature made at `signed_at` stops counting; None if never (by time).

    `each-logon` is not decided by time: see `satisfied_for_logon`."""
    if renew in ("never", "on-change", EACH_LOGON):
        return None
    if renew == "daily":
        return datetime.combine(signed_at.date() + timedelta(days=1), time(), signed_at.tzinfo)
    if renew == "school-year":
        start = school_year_start(signed_at.date(), school_year_starts)
        month, day = (int(part) for part in school_year_starts.split("-"))
        return datetime.combine(date(start.year + 1, month, day), time(), signed_at.tzinfo)
    return signed_at + timedelta(days=365)


def satisfied_for_logon(signed_at: datetime, logged_on_at: datetime | None) -> bool:
    """An each-logon acceptance counts for the logon it was made in: made at or after it."""
    # Signatures are kept to the second: a click in the same second as the logon counts.
    return logged_on_at is not None and signed_at >= logged_on_at.replace(microsecond=0)


def agreement_for_group(policy: Policy, group_id: str) -> Agreement | None:
    """The agreement a group must sign, or None if its access is not gated on one."""
    try:
        group = policy.group(group_id)
    except KeyError:
        return None
    if not group.agreement_required:
        return None
    for agreement in policy.agreements:
        if agreement.id == group.agreement or (
            group.agreement is None and group_id in agreement.groups
        ):
            return agreement
    return None


def needs_more_than_the_user(agreement: Agreement) -> bool:
    """Whether someone besides the user (a parent, a staff witness) must sign before access."""
    return any(who != "user" for who in agreement.required_signatories)
