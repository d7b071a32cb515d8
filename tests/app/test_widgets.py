"""The fast select widgets submit and show the same as Django's own."""

from __future__ import annotations

import re

from django import forms

from schoolgate.app.cases.widgets import FastSelect, FastSelectMultiple

CHOICES = [("", "—"), ("a", "Ann <admin>"), ("Group & co", [("b", "Bob"), ("c", 'Cy "C"')])]
_OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')


def _options(html: str) -> list[tuple[str, bool, str]]:
    return [(v, bool(s), label) for v, s, label in _OPTION.findall(html)]


def test_fast_select_matches_django_select() -> None:
    fast = FastSelect(choices=CHOICES).render("who", "b", {"id": "id_who", "required": True})
    slow = forms.Select(choices=CHOICES).render("who", "b", {"id": "id_who", "required": True})
    assert _options(fast) == _options(slow)
    assert ("b", True, "Bob") in _options(fast) and "&lt;admin&gt;" in fast
    assert '<optgroup label="Group &amp; co">' in fast
    assert 'name="who"' in fast and 'id="id_who"' in fast and " required" in fast


def test_fast_select_multiple_reads_and_marks_several() -> None:
    widget = FastSelectMultiple(choices=CHOICES)
    html = widget.render("who", ["a", "c"], {"id": "id_who"})
    assert " multiple" in html
    assert [v for v, selected, _ in _options(html) if selected] == ["a", "c"]
    from django.http import QueryDict

    assert widget.value_from_datadict(QueryDict("who=a&who=c"), {}, "who") == ["a", "c"]
