"""Importing the directory from the CSV exports of school information systems.

A file is read whole and checked first: every bad row is named with its line and why. Only a
file with no bad rows may be applied, in one transaction, and re-importing updates people found
by their key (UPN, staff code, e-mail) instead of adding them again.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction

from schoolgate.app.people.models import YEAR_CHOICES, User
from schoolgate.app.roles import Role

# Header spellings seen in SIMS / Arbor / Bromcom exports, lower-cased without spaces or dots.
_ALIASES = {
    "upn": "upn",
    "legalsurname": "last_name",
    "surname": "last_name",
    "lastname": "last_name",
    "legalforename": "first_name",
    "forename": "first_name",
    "firstname": "first_name",
    "preferredforename": "first_name",
    "year": "year",
    "yeargroup": "year",
    "ncyear": "year",
    "yeartaughtin": "year",
    "reggroup": "registration_group",
    "registrationgroup": "registration_group",
    "reg": "registration_group",
    "form": "registration_group",
    "class": "registration_group",
    "dob": "date_of_birth",
    "dateofbirth": "date_of_birth",
    "gender": "sex",
    "sex": "sex",
    "staffcode": "staff_code",
    "code": "staff_code",
    "email": "email",
    "emailaddress": "email",
    "workemail": "email",
    "role": "role",
    "jobtitle": "job_title",
    "post": "job_title",
    "group": "policy_group",
    "childupn": "child_upn",
    "pupilupn": "child_upn",
    "studentupn": "child_upn",
    "contactforename": "first_name",
    "contactsurname": "last_name",
}

KINDS: dict[str, dict[str, Any]] = {
    "pupils": {
        "required": ["upn", "last_name", "first_name", "year", "registration_group"],
        "key": "upn",
    },
    "staff": {
        "required": ["staff_code", "last_name", "first_name", "email", "role"],
        "key": "staff_code",
    },
    "parents": {"required": ["email", "last_name", "first_name", "child_upn"], "key": "email"},
}

_UPN = re.compile(r"^[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_YEARS = {code for code, _ in YEAR_CHOICES}
_STAFF_ROLE_WORDS = {r.value for r in Role} - {Role.PUPIL, Role.PARENT}


class ImportError_(Exception):
    """The file as a whole cannot be read (wrong kind, missing columns, not CSV)."""


@dataclass
class RowResult:
    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    change: str = ""  # "new", "update", "same"


@dataclass
class Preview:
    kind: str
    rows: list[RowResult]

    @property
    def bad_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.bad_rows

    def counts(self) -> dict[str, int]:
        result = {"new": 0, "update": 0, "same": 0}
        for row in self.rows:
            if row.change:
                result[row.change] += 1
        return result


def _canonical(header: str) -> str:
    return _ALIASES.get(re.sub(r"[\s._-]", "", header.lower()), "")


def read_csv(kind: str, text: str) -> Preview:
    if kind not in KINDS:
        raise ImportError_(f"unknown import kind {kind!r}; expected one of {sorted(KINDS)}")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportError_("the file is empty") from None
    columns = [_canonical(h) for h in header]
    missing = [c for c in KINDS[kind]["required"] if c not in columns]
    if missing:
        raise ImportError_(
            f"line 1: the header lacks columns for {', '.join(missing)} "
            f"(found: {', '.join(h.strip() for h in header)})"
        )
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        if len(values) != len(header):
            rows.append(RowResult(line, {}, [f"has {len(values)} cells, header has {len(header)}"]))
            continue
        mapped = {c: v.strip() for c, v in zip(columns, values, strict=True) if c}
        rows.append(RowResult(line, mapped, _row_errors(kind, mapped)))
    _flag_duplicate_keys(kind, rows)
    _classify(kind, rows)
    return Preview(kind, rows)


def _row_errors(kind: str, row: dict[str, str]) -> list[str]:
    errors = [
        f"{name.replace('_', ' ')} is empty"
        for name in KINDS[kind]["required"]
        if not row.get(name)
    ]
    if row.get("upn") and not _UPN.match(row["upn"].upper()):
        errors.append(f"UPN {row['upn']!r} is not 13 characters: a letter, 11 digits, a check")
    if row.get("child_upn") and not _UPN.match(row["child_upn"].upper()):
        errors.append(f"child UPN {row['child_upn']!r} is not a valid UPN")
    if row.get("year") and _year(row["year"]) not in _YEARS:
        errors.append(f"year {row['year']!r} is not N, R or 1 to 13")
    if row.get("date_of_birth") and _date(row["date_of_birth"]) is None:
        errors.append(f"date of birth {row['date_of_birth']!r} is not DD/MM/YYYY")
    if row.get("email") and not _EMAIL.match(row["email"]):
        errors.append(f"e-mail {row['email']!r} is not an e-mail address")
    if kind == "staff" and row.get("role") and _role(row["role"]) is None:
        errors.append(f"role {row['role']!r} is not one of {', '.join(sorted(_STAFF_ROLE_WORDS))}")
    if row.get("sex") and row["sex"].upper()[:1] not in {"M", "F", "X", "U"}:
        errors.append(f"gender {row['sex']!r} is not M or F")
    if kind == "parents" and row.get("child_upn") and not errors and not _pupil_exists(row):
        errors.append(f"no pupil with UPN {row['child_upn']} (import pupils first)")
    return errors


def _pupil_exists(row: dict[str, str]) -> bool:
    return User.objects.filter(upn=row["child_upn"].upper(), role=Role.PUPIL).exists()


def _year(text: str) -> str:
    text = text.strip().upper().removeprefix("YEAR").removeprefix("Y").strip()
    return text.lstrip("0") or text


def _date(text: str) -> date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _role(text: str) -> str | None:
    word = re.sub(r"\s+", "-", text.strip().lower())
    aliases = {
        "deputy-dsl": "deputy-dsl",
        "dsl": "dsl",
        "staff": "teacher",
        "teacher": "teacher",
        "osc": "online-safety-coordinator",
        "ta": "teacher",
        "support": "teacher",
    }
    word = aliases.get(word, word)
    return word if word in _STAFF_ROLE_WORDS else None


def _key(kind: str, row: dict[str, str]) -> str:
    value = row.get(KINDS[kind]["key"], "")
    return value.lower() if kind == "parents" else value.upper()


def _flag_duplicate_keys(kind: str, rows: list[RowResult]) -> None:
    if kind == "parents":  # one row per child: the same parent may be on several
        _flag_parent_rows(rows)
        return
    first_seen: dict[str, int] = {}
    for row in rows:
        key = _key(kind, row.values)
        if not key:
            continue
        if key in first_seen:
            row.errors.append(f"{KINDS[kind]['key']} {key} is also on line {first_seen[key]}")
        else:
            first_seen[key] = row.line


def _flag_parent_rows(rows: list[RowResult]) -> None:
    """Several parents per child and several children per parent are fine; the same pair twice,
    or one e-mail address under two names, is a mistake in the export."""
    pairs: dict[tuple[str, str], int] = {}
    names: dict[str, tuple[str, int]] = {}
    for row in rows:
        email, child = _key("parents", row.values), row.values.get("child_upn", "").upper()
        if not email:
            continue
        name = f"{row.values.get('first_name', '')} {row.values.get('last_name', '')}".strip()
        if (email, child) in pairs:
            row.errors.append(f"{email} and child {child} are also on line {pairs[email, child]}")
        pairs.setdefault((email, child), row.line)
        seen = names.setdefault(email, (name, row.line))
        if seen[0].lower() != name.lower():
            row.errors.append(f"{email} is {seen[0]!r} on line {seen[1]} but {name!r} here")


def _fields(kind: str, row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"first_name": row["first_name"], "last_name": row["last_name"]}
    if kind == "pupils":
        fields |= {
            "upn": row["upn"].upper(),
            "role": Role.PUPIL.value,
            "year": _year(row["year"]),
            "registration_group": row["registration_group"],
            "date_of_birth": _date(row["date_of_birth"]) if row.get("date_of_birth") else None,
            "sex": row.get("sex", "").upper()[:1],
        }
    elif kind == "staff":
        fields |= {
            "staff_code": row["staff_code"].upper(),
            "email": row["email"],
            "role": _role(row["role"]),
            "job_title": row.get("job_title", ""),
            "sex": row.get("sex", "").upper()[:1],
        }
    else:
        fields |= {"email": row["email"].lower(), "role": Role.PARENT.value}
    if row.get("policy_group"):
        fields["policy_group"] = row["policy_group"]
    return fields


def _existing(kind: str, row: dict[str, str]) -> User | None:
    key = _key(kind, row)
    lookup = {"pupils": "upn", "staff": "staff_code", "parents": "email__iexact"}[kind]
    return User.objects.filter(**{lookup: key}).first()


def _classify(kind: str, rows: list[RowResult]) -> None:
    for row in rows:
        if row.errors:
            continue
        user = _existing(kind, row.values)
        if user is None:
            row.change = "new"
            continue
        fields = _fields(kind, row.values)
        same = all(getattr(user, k) == v for k, v in fields.items())
        if kind == "parents":  # a new link to a child is a change too
            same = same and user.children.filter(upn=row.values["child_upn"].upper()).exists()
        row.change = "same" if same else "update"


def apply(preview: Preview) -> dict[str, int]:
    """Write every row, or nothing if any row is bad."""
    if not preview.ok:
        raise ImportError_(f"{len(preview.bad_rows)} rows have problems; nothing was imported")
    with transaction.atomic():
        for row in preview.rows:
            _apply_row(preview.kind, row.values)
    return preview.counts()


def _apply_row(kind: str, row: dict[str, str]) -> None:
    fields = _fields(kind, row)
    user = _existing(kind, row)
    if user is None:
        user = User(username=_username(kind, fields), **fields)
        user.set_unusable_password()
    else:
        for name, value in fields.items():
            setattr(user, name, value)
    user.save()
    if kind == "parents":
        user.children.add(User.objects.get(upn=row["child_upn"].upper()))


def _username(kind: str, fields: dict[str, Any]) -> str:
    if kind == "pupils":
        return fields["upn"].lower()
    if kind == "staff":
        return fields["staff_code"].lower()
    return fields["email"]
