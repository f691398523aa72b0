"""The "add a credential" form of the environment page (values write-only)."""

from __future__ import annotations

from dataclasses import fields

from django import forms

from repos.credentials.models import CredentialKind
from repos.credentials.services import CredentialInput


def _secret(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        required=False,
        label=label,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class CredentialForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="Saving under an existing "
                           "name replaces that credential.")
    domain = forms.CharField(max_length=255, label="Domain",
                             help_text="e.g. pypi.example.com, or *.example.com for its subdomains")
    kind = forms.ChoiceField(choices=CredentialKind.choices, label="Kind")
    header_name = forms.CharField(max_length=100, required=False, label="Header name",
                                  help_text="For the header kind, e.g. X-Api-Key or Authorization")
    value = _secret("Value or token", "The header's value, or the bearer token.")
    username = forms.CharField(max_length=200, required=False, label="User (basic auth)")
    password = _secret("Password (basic auth)")
    path_prefix = forms.CharField(max_length=500, required=False, initial="/",
                                  label="Path prefix", help_text="Only requests under this path")
    allow_http = forms.BooleanField(
        required=False,
        label="Also send it over plain HTTP (unencrypted; not recommended)",
    )

    def to_input(self) -> CredentialInput:
        """The input the service takes: the form has one field per CredentialInput field."""
        data = {field.name: self.cleaned_data[field.name] for field in fields(CredentialInput)}
        return CredentialInput(**{**data, "path_prefix": data["path_prefix"] or "/"})
