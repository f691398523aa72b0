"""The composer: what a person fills in to start a task."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIteratorValue
from django.urls import reverse

from codexweb.query_params import optional_int
from repos.forms import clean_branch, reference_field
from repos.models import Repository
from tasks.images.forms import ImagesField, images_check_tier
from tasks.models import Mode, ModelTier

# Options rendered in the composer's repository select; the search box reaches the rest.
RENDERED_REPOSITORIES = 200


class RepositorySelect(forms.Select):
    """A select whose options carry each repository's default branch, for the branch hint, and
    where its branches and open pull requests are listed, for the suggestions."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-default-branch"] = instance.default_branch
            option["attrs"]["data-branches-url"] = reverse("repos:branches", args=[instance.pk])
            option["attrs"]["data-pulls-url"] = reverse("repos:pulls", args=[instance.pk])
        return option


class ComposerForm(forms.Form):
    """Prompt, repository, branch, best-of-N and model tier; the pressed button gives the mode.

    `repositories` is the queryset the person may choose from (their current team's); any other
    id is rejected with a clear message, never looked up elsewhere.
    """

    prompt = forms.CharField(
        label="Prompt",
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "Ask a question or describe a change…"}
        ),
        max_length=20000,
        strip=False,
        error_messages={
            "required": "Describe what you want the agent to do.",
            "max_length": (
                "Keep the prompt under %(limit_value)d characters (it has %(show_value)d)."
            ),
        },
    )
    repository = forms.ModelChoiceField(
        label="Repository",
        queryset=Repository.objects.none(),
        empty_label="Choose a repository",
        widget=RepositorySelect,
        error_messages={
            "required": "Choose a repository.",
            "invalid_choice": "Choose one of your team's repositories.",
        },
    )
    # The datalist (templates/tasks/home.html) is filled from the repository's mirror by app.js.
    base_branch = reference_field(
        "Branch", max_length=255, list="branch-options",
        error_messages={"max_length": "Branch names are at most %(limit_value)d characters."},
    )
    # Start from an open pull request instead (tasks/start_from.py): its head branch is checked
    # out, and "Push to branch" pushes back to it. Suggestions: the repository's open pull
    # requests (templates/tasks/home.html's datalist, filled by app.js from repos:pulls).
    pull_request = reference_field(
        "Or pull request", max_length=300, help_text="A number or URL; starts from its branch.",
        placeholder="#12 or URL", list="pull-options",
        error_messages={"max_length": "A pull request reference is at most %(limit_value)d "
                        "characters."},
    )
    attempts = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, settings.MAX_ATTEMPTS_PER_TASK + 1)],
        coerce=int,
        initial=1,
        label="Attempts",
        help_text="Best of N, side by side.",
        error_messages={
            "invalid_choice": f"Choose between 1 and {settings.MAX_ATTEMPTS_PER_TASK} attempts.",
            "required": "Choose how many attempts to run.",
        },
    )
    model_tier = forms.ChoiceField(
        choices=ModelTier.choices,
        initial=ModelTier.STRONG,
        label="Model",
        error_messages={"invalid_choice": "Choose one of the listed models."},
    )
    review_target = reference_field(
        "Review", max_length=1000,
        help_text="For Review: a branch, or a pull request number or URL.",
        placeholder="#12, a PR URL or a branch",
    )
    mode = forms.ChoiceField(
        choices=Mode.choices,
        label="Ask or Code",
        error_messages={
            "required": "Press Ask (answer a question), Code (change the code) or Review.",
            "invalid_choice": "Press Ask (answer a question), Code (change the code) or Review.",
        },
    )

    def __init__(self, *args: Any, repositories: QuerySet[Repository], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        repository_field = self.fields["repository"]
        assert isinstance(repository_field, forms.ModelChoiceField)
        repository_field.queryset = repositories
        self._limit_rendered_repositories(repository_field, repositories)

    def _limit_rendered_repositories(
        self, field: forms.ModelChoiceField, repositories: QuerySet[Repository]
    ) -> None:
        """Render at most RENDERED_REPOSITORIES options (plus the selected one): a team with
        thousands of repositories finds the rest through the type-ahead search, which swaps
        the options in. Validation still accepts any of the team's repositories."""
        shown = list(repositories[: RENDERED_REPOSITORIES + 1])
        if len(shown) <= RENDERED_REPOSITORIES:
            return
        shown = shown[:RENDERED_REPOSITORIES]
        selected = optional_int(self.data if self.is_bound else self.initial, "repository")
        if selected and all(r.pk != selected for r in shown):
            extra = repositories.filter(pk=selected).first()
            if extra is not None:
                shown.insert(0, extra)
        field.widget.choices = [("", field.empty_label or "")] + [
            (ModelChoiceIteratorValue(r.pk, r), r.full_name) for r in shown
        ]

    # Screenshots, mock-ups, error dialogs: sent to the model with the prompt.
    images = ImagesField()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        images_check_tier(self, cleaned.get("model_tier"))
        return cleaned

    def clean_prompt(self) -> str:
        prompt = self.cleaned_data["prompt"].strip()
        if not prompt:
            raise forms.ValidationError("Describe what you want the agent to do.")
        return prompt

    def clean_base_branch(self) -> str:
        return clean_branch(self.cleaned_data["base_branch"])
