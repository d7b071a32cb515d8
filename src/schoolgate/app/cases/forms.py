"""Forms for reporting and working on cases; choices always come from the policy file."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from schoolgate.app.cases.models import ParentContact, Status
from schoolgate.app.cases.widgets import FastSelect
from schoolgate.app.people.models import User
from schoolgate.app.people.picker import PeopleField, PersonField
from schoolgate.app.policy import incident_choices, matrix_for

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class StaffReportForm(forms.Form):
    summary = forms.CharField(max_length=200, label="What happened, in a line")
    occurred_at = forms.DateTimeField(label="Date and time", widget=_DATETIME, required=False)
    involved = PeopleField("pupil", required=False, label="Pupils involved")
    involved_staff = PeopleField("staff", required=False, label="Staff involved")
    involved_text = forms.CharField(max_length=300, required=False, label="Others involved")
    room = forms.CharField(max_length=100, required=False)
    device = forms.CharField(max_length=100, required=False, label="Computer / device number")
    url = forms.CharField(max_length=2000, required=False, label="Web address")
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Details (what you saw, what was said or done)",
    )
    suspected_illegal = forms.BooleanField(
        required=False,
        label="I think this may be illegal content (child abuse images, terrorism)",
    )


class PupilReportForm(forms.Form):
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Tell us about something online that upset you",
        help_text="What happened? You can write as much or as little as you like.",
    )
    where = forms.CharField(
        max_length=300, required=False, label="Where did you see it? (a website, app or game)"
    )
    who = forms.CharField(max_length=300, required=False, label="Was anyone else involved?")


class ParentReportForm(forms.Form):
    child = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Which of your children is this about?"
    )
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), label="What are you worried about?"
    )
    url = forms.CharField(max_length=2000, required=False, label="Web address or app, if known")

    def __init__(self, *args: object, parent: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["child"].queryset = parent.children.all()


class OtherReportForm(forms.Form):
    summary = forms.CharField(max_length=200, label="What happened, in a line")
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Details")
    room = forms.CharField(max_length=100, required=False, label="Where")
    url = forms.CharField(max_length=2000, required=False, label="Web address")


def _incident_field() -> forms.ChoiceField:
    groups: dict[str, list[tuple[str, str]]] = {}
    for choice in incident_choices():
        title = f"{choice.incident.title}{' (illegal)' if choice.incident.illegal else ''}"
        groups.setdefault(choice.matrix.title, []).append((choice.key, title))
    return forms.ChoiceField(
        choices=[("", "— not yet decided —"), *groups.items()],
        required=False,
        label="Incident type (from the policy)",
        widget=FastSelect,
    )


class TriageForm(forms.Form):
    incident_type = forms.ChoiceField()
    status = forms.ChoiceField(
        choices=[c for c in Status.choices if c[0] != Status.CLOSED], widget=FastSelect
    )
    note = forms.CharField(max_length=1000, required=False, label="Note / reason")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["incident_type"] = _incident_field()


class ActionsForm(forms.Form):
    actions = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, label="Actions and referrals"
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Reason (why these actions)"
    )

    def __init__(
        self, *args: object, applies_to: str, suggested: list[str], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        matrix = matrix_for(applies_to)
        marks = set(suggested)
        self.fields["actions"].choices = [
            (
                a.id,
                f"{a.title}{' (referral)' if a.referral else ''}"
                f"{' — suggested by the policy' if a.id in marks else ''}",
            )
            for a in (matrix.actions if matrix else [])
        ]
        self.fields["actions"].initial = suggested


class ReviewForm(forms.Form):
    """You are the first reviewer; the second confirms in their own session (issue 13)."""

    reason_for_investigation = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    first_position = forms.CharField(max_length=100, label="Your position")
    second_reviewer = PersonField("staff", label="Second reviewer (they confirm it themselves)")
    second_position = forms.CharField(max_length=100, label="Second reviewer's position")
    computer = forms.CharField(max_length=200, label="Name and location of computer used")
    sites = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Web site(s) address / device"
    )
    reason_for_concern = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    conclusion = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Conclusion and action proposed or taken"
    )


class EvidenceForm(forms.Form):
    file = forms.FileField()
    description = forms.CharField(max_length=300, required=False)


class ParentContactForm(forms.Form):
    parent_name = forms.CharField(max_length=200, label="Parent / carer informed")
    method = forms.ChoiceField(choices=ParentContact.Method.choices, label="How", widget=FastSelect)
    informed_at = forms.DateTimeField(widget=_DATETIME, initial=timezone.now, label="When")
    note = forms.CharField(max_length=500, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Note")


class CloseForm(forms.Form):
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Outcome")


class ToConcernForm(forms.Form):
    """Issue 13: a case that is a worry about a child, not ICT misuse, becomes a concern."""

    category = forms.ChoiceField(label="Concern category (from the policy)", widget=FastSelect)
    reason = forms.CharField(max_length=1000, label="Why this is a safeguarding concern")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        from schoolgate.app.concerns.forms import category_choices

        self.fields["category"].choices = [("", "— choose —"), *category_choices()]
