"""Forms for a repository's environment page."""

from __future__ import annotations

from django import forms

from repos.domains import HTTP_METHODS, DomainError, parse_domains
from repos.environments import EnvironmentChangeError, parse_variables, variable_name_check
from repos.models import Environment, InternetPolicy


class EnvironmentForm(forms.Form):
    setup_script = forms.CharField(
        required=False,
        label="Setup script",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text="Runs with bash in the repository's root before the agent starts; "
        "secrets are visible only here.",
    )
    variables = forms.CharField(
        required=False,
        label="Variables",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
        help_text="NAME=value, one per line. Visible to the setup script and the agent.",
    )
    internet_policy = forms.ChoiceField(
        choices=InternetPolicy.choices, widget=forms.RadioSelect, label="Agent internet access"
    )
    domain_lists = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Team domain lists"
    )
    allowed_domains = forms.CharField(
        required=False,
        label="Other allowed domains",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
        help_text="One per line; *.example.com allows every subdomain.",
    )
    allowed_methods = forms.MultipleChoiceField(
        choices=[(m, m) for m in HTTP_METHODS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Allowed HTTP methods",
    )
    setup_internet_policy = forms.ChoiceField(
        choices=InternetPolicy.choices, widget=forms.RadioSelect, label="Setup internet access"
    )
    setup_domain_lists = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Setup: team domain lists"
    )
    setup_allowed_domains = forms.CharField(
        required=False,
        label="Setup: other allowed domains",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )
    cache_ttl_hours = forms.IntegerField(
        min_value=0,
        max_value=720,
        label="Cache expiry (hours)",
        help_text="How long a prepared container image is reused; 0 disables the cache.",
    )

    def __init__(
        self, *args, list_choices: list[tuple[str, str]], read_only: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        for name in ("domain_lists", "setup_domain_lists"):
            field = self.fields[name]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = list_choices
        if read_only:
            for f in self.fields.values():
                f.disabled = True

    @staticmethod
    def initial_for(environment: Environment) -> dict:
        return {
            "setup_script": environment.setup_script,
            "variables": "\n".join(f"{k}={v}" for k, v in (environment.variables or {}).items()),
            "internet_policy": environment.internet_policy,
            "domain_lists": [
                str(pk) for pk in environment.domain_lists.values_list("pk", flat=True)
            ],
            "allowed_domains": "\n".join(environment.allowed_domains),
            "allowed_methods": list(environment.allowed_methods),
            "setup_internet_policy": environment.setup_internet_policy,
            "setup_domain_lists": [
                str(pk) for pk in environment.setup_domain_lists.values_list("pk", flat=True)
            ],
            "setup_allowed_domains": "\n".join(environment.setup_allowed_domains),
            "cache_ttl_hours": environment.cache_ttl_hours,
        }

    def clean_variables(self) -> dict[str, str]:
        try:
            return parse_variables(self.cleaned_data["variables"])
        except EnvironmentChangeError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def _domains(self, name: str) -> list[str]:
        try:
            return parse_domains(self.cleaned_data[name])
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_allowed_domains(self) -> list[str]:
        return self._domains("allowed_domains")

    def clean_setup_allowed_domains(self) -> list[str]:
        return self._domains("setup_allowed_domains")

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("internet_policy") == InternetPolicy.ALLOWLIST:
            if not data.get("allowed_methods"):
                self.add_error("allowed_methods", "Allow at least one HTTP method.")
            if not data.get("allowed_domains") and not data.get("domain_lists"):
                self.add_error("allowed_domains", "An allowlist needs domains or a domain list.")
        return data


class SecretForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name")
    value = forms.CharField(
        label="Value",
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean_name(self) -> str:
        try:
            return variable_name_check(self.cleaned_data["name"])
        except EnvironmentChangeError as exc:
            raise forms.ValidationError(str(exc)) from exc
