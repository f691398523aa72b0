"""The form a team admin adds a webhook with."""

from __future__ import annotations

from django import forms

from tasks.notifications.destinations import MAX_URL_LENGTH


class WebhookForm(forms.Form):
    url = forms.CharField(
        max_length=MAX_URL_LENGTH,
        label="URL",
        help_text="http:// or https://. Each delivery is signed with a secret shown once.",
        widget=forms.URLInput(attrs={"spellcheck": "false", "placeholder": "https://"}),
    )
