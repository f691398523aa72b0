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


def reference_field(
    label: str,
    *,
    max_length: int,
    required: bool = False,
    help_text: str = "",
    error_messages: dict[str, str] | None = None,
    **attrs: str,
) -> forms.CharField:
    """A text field for a git URL, branch or pull-request reference: the browser neither
    autocompletes nor spell-checks it; `attrs` adds to the input's (placeholder, datalist)."""
    return forms.CharField(
        max_length=max_length, required=required, label=label, help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs}),
        error_messages=error_messages,
    )


class RegisterRepositoryForm(forms.Form):
    location = reference_field(
        "Git URL or server path", max_length=1000, required=True,
        help_text="For example https://git.example.com/team/app.git or /srv/git/app.git",
        error_messages={"required": "Enter a git URL or an absolute path on the server."},
    )
    default_branch = reference_field(
        "Default branch", max_length=255,
        help_text="Leave empty to use the repository's own (or main).",
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
