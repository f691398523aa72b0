from __future__ import annotations

from django import forms

from repos.models import Repository


class RegisterRepositoryForm(forms.Form):
    location = forms.CharField(
        max_length=1000,
        label="Git URL or server path",
        help_text="For example https://git.example.com/team/app.git or /srv/git/app.git",
    )
    default_branch = forms.CharField(max_length=255, required=False, label="Default branch")
    visibility = forms.ChoiceField(
        choices=Repository.Visibility.choices, initial=Repository.Visibility.PRIVATE
    )
