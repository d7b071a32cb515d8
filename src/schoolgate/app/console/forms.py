# ruff: noqa: RUF012
"""Forms of the console; every field is checked and a bad value names the field."""

from __future__ import annotations

from django import forms

from schoolgate.app.console.devices import canonical_address
from schoolgate.app.console.models import Device, UnblockRequest
from schoolgate.app.policy import current_policy
from schoolgate.engine.targets import TargetError, parse_target
from schoolgate.gateway.identity import BindingError


def group_choices() -> list[tuple[str, str]]:
    return [(g.id, f"{g.title} ({g.id})") for g in current_policy().groups]


class DeviceForm(forms.ModelForm):
    group = forms.ChoiceField(choices=())

    class Meta:
        model = Device
        fields = ["name", "address", "group", "user", "note"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = group_choices()

    def clean_address(self) -> str:
        try:
            return canonical_address(self.cleaned_data["address"])
        except BindingError:
            raise forms.ValidationError(
                "Enter an IP address (10.20.3.4) or an address range (10.20.3.0/24)."
            ) from None


class TesterForm(forms.Form):
    url = forms.CharField(label="Web address", max_length=2000)
    group = forms.ChoiceField(label="Group", required=False)
    user = forms.CharField(label="…or a user name", required=False, max_length=150)
    at = forms.DateTimeField(
        label="At (school time; empty: now)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "— the user's group —"), *group_choices()]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            parse_target(url)
        except TargetError as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("group") and not data.get("user"):
            raise forms.ValidationError("Choose a group or enter a user name.")
        return data


class QueryLogForm(forms.Form):
    user = forms.CharField(required=False, max_length=150)
    address = forms.CharField(label="Device address", required=False, max_length=64)
    site = forms.CharField(required=False, max_length=253)
    category = forms.CharField(required=False, max_length=64)
    action = forms.ChoiceField(
        required=False,
        choices=[("", "any"), ("block", "blocked"), ("warn", "warned"), ("allow", "allowed")],
    )
    since = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="To", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean_site(self) -> str:
        site = self.cleaned_data["site"].strip().lower()
        return site.split("://", 1)[-1].split("/", 1)[0]


class AnswerForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (UnblockRequest.Status.ANSWERED, "Reply (the site stays as it is for now)"),
            (UnblockRequest.Status.DECLINED, "Decline, with a reason"),
        ],
        widget=forms.RadioSelect,
    )
    response = forms.CharField(
        label="Reply the requester sees", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    reason = forms.CharField(
        label="Reason for the record (declined only)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("status") == UnblockRequest.Status.DECLINED and not data.get("reason"):
            self.add_error("reason", "Say why it is declined.")
        return data
