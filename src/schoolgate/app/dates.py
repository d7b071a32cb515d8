"""Calendar arithmetic shared by the schedules (training renewals, policy reviews).

"Every 12 months" from 31 January is 31 January next year, and one month from 31 January is
28 or 29 February: the day is kept where the month has it and clipped to the month's last day
where it does not, the way people read a renewal date.
"""

from __future__ import annotations

from datetime import date


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)
