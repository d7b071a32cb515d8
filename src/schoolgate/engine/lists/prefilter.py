"""Regular-expression lists without a cost per expression: a literal prefilter.

A list's expressions (UT1 `expressions`, `very_restrictive_expression`) are searched over every
address. Trying each one in turn, or one big alternation of them all, costs time in proportion to
their number. Most expressions cannot match unless the address contains some literal text: from
`(^|[./])casino[0-9]*\\.` any match must contain `casino`, and from `poker|slots` any match must
contain `poker` or `slots`. `required_literals()` reads those literals off the parsed expression
(Python's own regular-expression parser), and one Aho–Corasick automaton over every literal finds,
in a single pass over the address, the few expressions worth running. Expressions with no usable
literal (say `^[0-9]+$`) are always run.

The answer is exactly that of running every expression (`plain_expression_mask`; the property
test checks it): the literal sets are necessary conditions, never guesses. Matching ignores case
as the index does; an address with non-ASCII characters skips the prefilter, because Unicode case
folding (`ſ` matches `s`) is not what lower-casing gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

try:  # Python 3.11+
    import re._constants as sre_constants
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MIN_LITERAL = 2
"""Shorter literals (a lone `-` or `.`) are in nearly every address: not worth filtering on."""
_MAX_ALTERNATIVES = 64

_LITERAL = sre_constants.LITERAL
_SUBPATTERN = sre_constants.SUBPATTERN
_BRANCH = sre_constants.BRANCH
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)
_ATOMIC = getattr(sre_constants, "ATOMIC_GROUP", None)
_POSSESSIVE = getattr(sre_constants, "POSSESSIVE_REPEAT", None)

Literals = frozenset[str]


def required_literals(pattern: str) -> Literals | None:
    """Lower-case strings of which every match of `pattern` contains at least one, or None."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except (re.error, RecursionError):
        return None
    literals = _sequence(list(parsed))
    if not literals or min(len(s) for s in literals) < MIN_LITERAL:
        return None
    if not all(s.isascii() for s in literals):
        return None
    return literals


def _sequence(items: list[tuple[object, object]]) -> Literals | None:
    """The best required set of a sequence: its longest literal run, or a required sub-part."""
    candidates: list[Literals] = []
    run: list[str] = []
    for op, av in items:
        if op is _LITERAL:
            run.append(chr(av).lower())  # type: ignore[arg-type]
            continue
        if run:
            candidates.append(frozenset({"".join(run)}))
            run = []
        found = _item(op, av)
        if found:
            candidates.append(found)
    if run:
        candidates.append(frozenset({"".join(run)}))
    return max(candidates, key=_strength, default=None)


def _item(op: object, av: object) -> Literals | None:
    if op is _SUBPATTERN:
        return _sequence(list(av[-1]))  # type: ignore[index]
    if op is _ATOMIC and _ATOMIC is not None:
        return _sequence(list(av))  # type: ignore[arg-type]
    if op is _BRANCH:
        alternatives = [_sequence(list(branch)) for branch in av[1]]  # type: ignore[index]
        if not all(alternatives):
            return None
        union = frozenset().union(*alternatives)  # type: ignore[arg-type]
        return union if len(union) <= _MAX_ALTERNATIVES else None
    if op in _REPEATS or (_POSSESSIVE is not None and op is _POSSESSIVE):
        low, _high, sub = av  # type: ignore[misc]
        return _sequence(list(sub)) if low >= 1 else None
    return None  # classes, anchors, lookarounds, backreferences: no literal of their own


def _strength(literals: Literals) -> tuple[int, int]:
    """Longer shortest literal first (fewer false candidates), then fewer alternatives."""
    return (min(len(s) for s in literals), -len(literals))


class ExpressionMatcher:
    """Answers `mask(url)` = the union of the bits of every expression that matches `url`."""

    def __init__(self, expressions: Iterable[tuple[str, int]]):
        self.regexes: list[tuple[re.Pattern[str], int]] = []
        self.always: list[int] = []
        """Indexes of expressions without a usable literal: tried on every address."""
        automaton = ahocorasick.Automaton()
        owners: dict[str, list[int]] = {}
        for number, (pattern, bits) in enumerate(expressions):
            self.regexes.append((re.compile(pattern, re.IGNORECASE), bits))
            literals = required_literals(pattern)
            if literals is None:
                self.always.append(number)
                continue
            for literal in literals:
                owners.setdefault(literal, []).append(number)
        for literal, numbers in owners.items():
            automaton.add_word(literal, tuple(numbers))
        self._automaton = automaton if owners else None
        if owners:
            automaton.make_automaton()

    def mask(self, url: str) -> int:
        if not url.isascii():
            return plain_expression_mask(self.regexes, url)
        regexes = self.regexes
        mask = 0
        for number in self.always:
            regex, bits = regexes[number]
            if regex.search(url):
                mask |= bits
        if self._automaton is None:
            return mask
        tried: set[int] = set()
        for _end, numbers in self._automaton.iter(url.lower()):
            for number in numbers:
                if number in tried:
                    continue
                tried.add(number)
                regex, bits = regexes[number]
                if mask & bits != bits and regex.search(url):
                    mask |= bits
        return mask


def plain_expression_mask(regexes: list[tuple[re.Pattern[str], int]], url: str) -> int:
    """Every expression tried in turn: the reference the prefilter must agree with."""
    mask = 0
    for regex, bits in regexes:
        if regex.search(url):
            mask |= bits
    return mask
