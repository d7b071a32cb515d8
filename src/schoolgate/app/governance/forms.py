"""The proposal form: what to change, for whom, until when, and why."""

from __future__ import annotations

from django import forms

from schoolgate.engine.targets import TargetError, parse_target

ACTIONS = [
    ("allow", "Allow (unblock)"),
    ("warn", "Show a warning first"),
    ("block", "Block"),
]


class ProposalForm(forms.Form):
    action = forms.ChoiceField(
        label="What should happen", choices=ACTIONS, widget=forms.RadioSelect
    )
    groups = forms.MultipleChoiceField(label="For", widget=forms.CheckboxSelectMultiple)
    sites = forms.CharField(
        label="Sites",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One site per line: a host name (covers its subdomains) or an address with a "
        "path. Write * to switch filtering off for the users named below.",
    )
    users = forms.CharField(
        label="Only these people (optional)",
        required=False,
        help_text="User names, separated by commas. Leave empty for everyone in the groups.",
    )
    until = forms.DateTimeField(
        label="Ends (optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="The change ends by itself then. Required when switching filtering off.",
    )
    reason = forms.CharField(label="Why", max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, groups: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = groups

    def clean_sites(self) -> list[str]:
        sites = [line.strip() for line in self.cleaned_data["sites"].splitlines() if line.strip()]
        if not sites:
            raise forms.ValidationError("Name at least one site.")
        if "*" in sites:
            return ["*"]
        for site in sites:
            try:
                parse_target(site)
            except TargetError as exc:
                raise forms.ValidationError(f"{site[:100]}: {exc}") from None
        return sites

    def clean_users(self) -> list[str]:
        return [u.strip() for u in self.cleaned_data["users"].split(",") if u.strip()]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("sites") == ["*"]:
            if data.get("action") != "allow":
                self.add_error("action", "Switching filtering off means allowing every site.")
            if not data.get("users"):
                self.add_error("users", "Name who filtering is switched off for.")
            if not data.get("until"):
                self.add_error("until", "A switch-off must end: give a time (STM-320).")
        return data
