"""The form an admin fills in to register a repository from a git URL or a server path."""

from __future__ import annotations

from django import forms

from repos.git.refnames import branch_name_problem
from repos.models import Repository
from repos.services import RepositoryError, parse_git_location


def clean_branch(value: str) -> str:
    """A form's optional branch field, stripped; ValidationError saying what is wrong with a name
    git would refuse."""
    branch = value.strip()
    problem = branch_name_problem(branch) if branch else None
    if problem:
        raise forms.ValidationError(problem)
    return branch


class RegisterRepositoryForm(forms.Form):
    location = forms.CharField(
        max_length=1000,
        label="Git URL or server path",
        help_text="For example https://git.example.com/team/app.git or /srv/git/app.git",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": "Enter a git URL or an absolute path on the server."},
    )
    default_branch = forms.CharField(
        max_length=255,
        required=False,
        label="Default branch",
        help_text="Leave empty to use the repository's own (or main).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    visibility = forms.ChoiceField(
        choices=Repository.Visibility.choices,
        initial=Repository.Visibility.PRIVATE,
        error_messages={"invalid_choice": "Choose public, private or internal."},
    )

    def clean_location(self) -> str:
        location = self.cleaned_data["location"].strip()
        try:
            parse_git_location(location)
        except RepositoryError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return location

    def clean_default_branch(self) -> str:
        return clean_branch(self.cleaned_data["default_branch"])
