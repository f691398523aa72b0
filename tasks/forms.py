"""The composer: what a person fills in to start a task."""

from __future__ import annotations

from django import forms
from django.conf import settings

from repos.models import Repository
from tasks.models import Mode, ModelTier


class ComposerForm(forms.Form):
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Ask a question or describe a change…"}),
        max_length=20000,
        error_messages={"required": "Describe what you want the agent to do."},
    )
    repository = forms.ModelChoiceField(
        queryset=Repository.objects.none(),
        error_messages={
            "required": "Choose a repository.",
            "invalid_choice": "Choose one of your team's repositories.",
        },
    )
    base_branch = forms.CharField(max_length=255, required=False, label="Branch")
    mode = forms.ChoiceField(choices=Mode.choices)
    attempts = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, settings.MAX_ATTEMPTS_PER_TASK + 1)],
        coerce=int,
        initial=1,
        label="Attempts (best of N)",
    )
    model_tier = forms.ChoiceField(choices=ModelTier.choices, initial=ModelTier.STRONG, label="Model")

    def __init__(self, *args, repositories, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repository"].queryset = repositories

    def clean_prompt(self) -> str:
        prompt = self.cleaned_data["prompt"].strip()
        if not prompt:
            raise forms.ValidationError("Describe what you want the agent to do.")
        return prompt

    def clean_base_branch(self) -> str:
        branch = self.cleaned_data["base_branch"].strip()
        if branch.startswith("-") or ".." in branch or any(c in branch for c in " ~^:?*[\\"):
            raise forms.ValidationError("That is not a valid branch name.")
        return branch
