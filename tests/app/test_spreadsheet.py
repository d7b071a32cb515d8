"""`safe_cell`: the whole family of formula openers is escaped, and nothing else changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schoolgate.app.spreadsheet import safe_cell

OPENERS = "=+-@\t\r\n\uff1d\uff0b\uff0d\uff20"


@given(st.text(max_size=3, alphabet=" "), st.sampled_from(OPENERS), st.text(max_size=20))
def test_formula_openers_get_an_apostrophe(spaces: str, opener: str, rest: str) -> None:
    value = spaces + opener + rest
    assert safe_cell(value) == "'" + value


@given(st.text(max_size=30))
def test_other_text_is_unchanged(value: str) -> None:
    if value.lstrip(" ")[:1] not in OPENERS or not value.lstrip(" "):
        assert safe_cell(value) == value


def test_numbers_and_empty_cells_are_unchanged() -> None:
    assert safe_cell(-3) == -3
    assert safe_cell("") == ""
    assert safe_cell(None) is None
