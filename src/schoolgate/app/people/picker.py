"""The people picker: search by name or form group, pupils and staff kept apart (issue 13).

A school has hundreds of pupils, so a `<select>` of everyone is unusable on a phone and by
keyboard. The picker is a search box that asks `people/find/` for up to 12 matches of one kind
(pupil or staff); the chosen people are hidden inputs with the field's name, so the form posts
exactly what `SelectMultiple` would. The small script that drives it is in `base.html`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from schoolgate.app.access import requires
from schoolgate.app.people.models import User
from schoolgate.app.roles import STAFF_ROLES, Capability, Role

KINDS = {"pupil": "pupils", "staff": "staff"}
MAX_RESULTS = 12


def people_of_kind(kind: str) -> QuerySet[User]:
    people = User.objects.filter(is_active=True)
    if kind == "pupil":
        return people.filter(role=Role.PUPIL)
    return people.filter(role__in=STAFF_ROLES)


def label(person: User) -> str:
    if person.role == Role.PUPIL:
        return str(person)
    job = person.job_title or person.get_role_display()
    return f"{person.get_full_name() or person.username} — {job}"


def find(kind: str, query: str) -> list[User]:
    query = query.strip()
    if not query or kind not in KINDS:
        return []
    match = Q()
    for word in query.split()[:3]:
        match &= (
            Q(first_name__istartswith=word)
            | Q(last_name__istartswith=word)
            | Q(username__istartswith=word)
            | Q(registration_group__iexact=word)
        )
    return list(
        people_of_kind(kind).filter(match).order_by("last_name", "first_name")[:MAX_RESULTS]
    )


@requires(Capability.FIND_PEOPLE)
@require_GET
def find_people(request: HttpRequest) -> JsonResponse:
    kind = request.GET.get("kind", "")
    if kind not in KINDS:
        return JsonResponse({"error": f"kind must be one of {sorted(KINDS)}"}, status=400)
    found = find(kind, request.GET.get("q", "")[:60])
    return JsonResponse({"results": [{"id": p.pk, "label": label(p)} for p in found]})


class PeoplePicker(forms.SelectMultiple):
    """Search box plus chosen people; `single` keeps at most one."""

    def __init__(self, kind: str, single: bool = False, attrs: dict[str, Any] | None = None):
        super().__init__(attrs)
        self.kind = kind
        self.single = single

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        values = super().value_from_datadict(data, files, name)
        return values[:1] if self.single else values

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        field_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        ids = [int(v) for v in (value or []) if str(v).isdigit()]
        chosen = User.objects.filter(pk__in=ids) if ids else []
        chips = format_html_join(
            "",
            '<li><input type="hidden" name="{}" value="{}"><span>{}</span> '
            '<button type="button" class="chip-remove" aria-label="Remove {}">×</button></li>',
            ((name, p.pk, label(p), label(p)) for p in chosen),
        )
        hint = f"Type a name or {'form group, e.g. 8B' if self.kind == 'pupil' else 'surname'}"
        return format_html(
            '<div class="picker" data-picker data-name="{name}" data-single="{single}" '
            'data-url="{url}">'
            '<ul class="chosen" aria-label="Chosen {kinds}">{chips}</ul>'
            '<input type="search" id="{id}" autocomplete="off" placeholder="{hint}" '
            'aria-controls="{id}-results" aria-describedby="{id}-help">'
            '<div class="muted small" id="{id}-help">{hint}; choose with Tab or the arrow keys '
            "and Enter.</div>"
            '<ul class="results" id="{id}-results" aria-live="polite"></ul>'
            "<noscript><p class='errorlist'>The people search needs JavaScript.</p></noscript>"
            "</div>",
            name=name,
            single="1" if self.single else "",
            url=f"{reverse('find-people')}?kind={self.kind}",
            kinds=KINDS[self.kind],
            chips=chips,
            id=field_id,
            hint=hint,
        )


class PeopleField(forms.ModelMultipleChoiceField):
    def __init__(self, kind: str, *, single: bool = False, **kwargs: Any) -> None:
        super().__init__(
            queryset=people_of_kind(kind), widget=PeoplePicker(kind, single=single), **kwargs
        )


class PersonField(PeopleField):
    """One person from the picker (e.g. the second reviewer), cleaned to a `User` or None."""

    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__(kind, single=True, **kwargs)

    def clean(self, value: Any) -> User | None:  # type: ignore[override]
        chosen = super().clean(value)
        return chosen.first() if chosen else None
