"""Forms for raising and working on safeguarding concerns; categories come from the policy."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from schoolgate.app.cases.widgets import FastSelect
from schoolgate.app.concerns.models import (
    Concern,
    ConcernStatus,
    ExclusionKind,
    Priority,
    Verdict,
)
from schoolgate.app.people.models import User
from schoolgate.app.people.picker import PeopleField
from schoolgate.app.policy import concern_categories
from schoolgate.app.roles import DSL_ROLES

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def category_choices() -> list[tuple[str, str]]:
    return [(c.id, c.title) for c, _ in concern_categories()]


def _leads() -> Any:
    return User.objects.filter(role__in=DSL_ROLES, is_active=True).order_by("last_name")


class LeadChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.get_role_display()})"


class RaiseConcernForm(forms.Form):
    category = forms.ChoiceField(label="What is the worry about?", widget=FastSelect)
    pupils = PeopleField("pupil", required=False, label="Which pupil(s)")
    others_text = forms.CharField(
        max_length=300, required=False, label="Anyone else (not in the school's list)"
    )
    summary = forms.CharField(max_length=200, label="In a line")
    occurred_at = forms.DateTimeField(label="When (if known)", widget=_DATETIME, required=False)
    url = forms.CharField(max_length=2000, required=False, label="Web address or app, if any")
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label="What you saw or were told (the child's own words if you can)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "— choose —"), *category_choices()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("pupils") and not data.get("others_text", "").strip():
            raise forms.ValidationError("Name the pupil (search above) or say who it is about.")
        return data


class UpdateForm(forms.Form):
    category = forms.ChoiceField(widget=FastSelect)
    status = forms.ChoiceField(
        choices=[c for c in ConcernStatus.choices if c[0] != ConcernStatus.CLOSED],
        widget=FastSelect,
    )
    priority = forms.ChoiceField(choices=Priority.choices, widget=FastSelect)
    assigned_to = LeadChoiceField(
        queryset=User.objects.none(), required=False, label="Assigned to", empty_label="— nobody —"
    )
    reason = forms.CharField(max_length=1000, required=False, label="Reason / note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields["assigned_to"].queryset = _leads()


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200, label="What needs doing")
    assigned_to = LeadChoiceField(queryset=User.objects.none(), label="Who")
    due = forms.DateField(widget=_DATE, label="By when")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = _leads()


class ReferralForm(forms.Form):
    service = forms.CharField(
        max_length=120, label="Referred to", widget=forms.TextInput(attrs={"list": "services"})
    )
    referred_at = forms.DateTimeField(widget=_DATETIME, initial=timezone.now, label="When")
    reference = forms.CharField(max_length=100, required=False, label="Their reference")
    note = forms.CharField(max_length=500, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Note")


class CloseForm(forms.Form):
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Outcome")


class AlertTriageForm(forms.Form):
    verdict = forms.ChoiceField(
        choices=Verdict.choices, widget=forms.RadioSelect, label="Is this a real concern?"
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Why (kept with the alert)"
    )
    attach_to = forms.ModelChoiceField(
        queryset=Concern.objects.none(),
        required=False,
        label="Attach to an open concern about this pupil",
        empty_label="— open a new concern —",
    )
    category = forms.ChoiceField(required=False, label="New concern's category", widget=FastSelect)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    assigned_to = LeadChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Who deals with it",
        empty_label="— nobody yet —",
    )
    exclude_kind = forms.ChoiceField(
        choices=[("", "— no exclusion —"), *ExclusionKind.choices],
        required=False,
        label="False positive: propose not alerting on this again (a second person approves)",
    )
    exclude_value = forms.CharField(max_length=300, required=False, label="Site or search term")

    def __init__(self, *args: Any, open_concerns: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attach_to"].queryset = open_concerns
        self.fields["category"].choices = [("", "— choose —"), *category_choices()]
        self.fields["assigned_to"].queryset = _leads()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("verdict") == Verdict.TRUE_POSITIVE:
            if not data.get("attach_to") and not data.get("category"):
                self.add_error("category", "Choose the category for the new concern.")
        elif data.get("exclude_kind") and not data.get("exclude_value", "").strip():
            self.add_error("exclude_value", "Say which site or search term.")
        return data


class AlertAssignForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)
    assigned_to = LeadChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Who deals with it",
        empty_label="— nobody —",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = _leads()


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(max_length=500, required=False)
