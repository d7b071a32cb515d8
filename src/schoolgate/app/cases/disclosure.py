"""Small-count suppression for the governors' anonymised figures.

A count of 1 to 4 can point at a pupil ("one Year 11 incident in October"), so it is shown as
"fewer than 5". Where a table has exactly one such cell, the report's total would give it away
by subtraction, so the smallest other cell is also banded, as "5 or more".
"""

from __future__ import annotations

SMALL = 5  # counts 1..SMALL-1 are never shown exactly
FEWER = f"fewer than {SMALL}"
AT_LEAST = f"{SMALL} or more"


def shown(count: int) -> str:
    """One figure as governors see it."""
    return FEWER if 0 < count < SMALL else str(count)


def suppress(rows: list[tuple[str, int]], *, secondary: bool = True) -> list[tuple[str, str]]:
    """A table of (label, count) as governors see it, with primary and secondary suppression.

    `secondary=False` for counts of web requests rather than of people or incidents (the
    filtering tables): the 1-4 are still hidden, but the other rows keep their numbers, since
    "303 blocked requests from pupils" cannot be narrowed down to anyone."""
    small = [i for i, (_, n) in enumerate(rows) if 0 < n < SMALL]
    banded: set[int] = set()
    if secondary and len(small) == 1:
        others = [i for i, (_, n) in enumerate(rows) if n >= SMALL]
        if others:
            banded.add(min(others, key=lambda i: rows[i][1]))
    return [(label, AT_LEAST if i in banded else shown(n)) for i, (label, n) in enumerate(rows)]
