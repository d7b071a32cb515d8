"""School terms as date ranges: autumn (Sep–Dec), spring (Jan–Mar), summer (Apr–Aug)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

_TERMS = {"autumn": (9, 13), "spring": (1, 4), "summer": (4, 9)}  # [start month, end month)


class TermError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    year: int
    name: str

    @property
    def key(self) -> str:
        return f"{self.year}-{self.name}"

    @property
    def title(self) -> str:
        return f"{self.name.title()} term {self.year}"

    def bounds(self, zone: str = "Europe/London") -> tuple[datetime, datetime]:
        first, last = _TERMS[self.name]
        tz = ZoneInfo(zone)
        start = datetime.combine(date(self.year, first, 1), time(), tz)
        end_year, end_month = (self.year + 1, 1) if last == 13 else (self.year, last)
        return start, datetime.combine(date(end_year, end_month, 1), time(), tz)


def parse_term(text: str) -> Term:
    match = re.fullmatch(r"(\d{4})-(autumn|spring|summer)", text.strip().lower())
    if not match:
        raise TermError(f"term {text!r} is not like 2025-autumn, 2026-spring or 2026-summer")
    return Term(int(match[1]), match[2])


def term_of(day: date) -> Term:
    for name, (first, last) in _TERMS.items():
        if first <= day.month < last:
            return Term(day.year, name)
    raise AssertionError(day)
