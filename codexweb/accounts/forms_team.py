"""Forms for the team pages: invitations, roles and named domain lists."""

from __future__ import annotations

from django import forms

from codexweb.accounts.models import Invite, Membership


class InviteForm(forms.Form):
    kind = forms.ChoiceField(
        choices=Invite.Kind.choices, initial=Invite.Kind.GITHUB, label="Invite by"
    )
    invitee = forms.CharField(
        max_length=254,
        required=False,
        label="GitHub login or e-mail",
        help_text="Leave empty for a one-time link.",
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def clean(self) -> dict:
        data = super().clean() or {}
        if (
            data.get("kind") in (Invite.Kind.GITHUB, Invite.Kind.EMAIL)
            and not data.get("invitee", "").strip()
        ):
            self.add_error("invitee", "Enter the GitHub login or e-mail address to invite.")
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class DomainListForm(forms.Form):
    name = forms.CharField(max_length=100)
    domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        required=False,
        help_text="One per line. *.example.com allows every subdomain of example.com.",
    )
