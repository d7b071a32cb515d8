"""Select widgets rendered in Python: the case page's staff lists and the report form's list of
pupils have hundreds to thousands of options, and Django's per-option template rendering cost
more than the rest of the page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


class FastSelect(forms.Select):
    """Equivalent HTML to `forms.Select` (optgroups included), without a template per option."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        if self.allow_multiple_selected:
            final["multiple"] = True
        selected = {str(v) for v in self.format_value(value)}
        return format_html(
            "<select{}>{}</select>", flatatt(final), _options(self.choices, selected)
        )


def _options(choices: Iterable[Any], selected: set[str]) -> SafeString:
    parts = []
    for value, label in choices:
        if isinstance(label, list | tuple):
            inner = _options(label, selected)
            parts.append(format_html('<optgroup label="{}">{}</optgroup>', value, inner))
        else:
            mark = mark_safe(" selected") if str(value) in selected else ""
            parts.append(format_html('<option value="{}"{}>{}</option>', value, mark, label))
    return mark_safe("".join(parts))


class FastSelectMultiple(FastSelect, forms.SelectMultiple):
    """`FastSelect` with several choices (reads the submitted list like `SelectMultiple`)."""
