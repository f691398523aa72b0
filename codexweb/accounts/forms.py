"""Forms for local sign-in and first-run setup."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm


class LocalSignInForm(AuthenticationForm):
    """Username and password. Refuses with a clear message when local accounts are turned off."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match an account.",
        "local_disabled": "Local accounts are turned off on this install; sign in with GitHub.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username."
        self.fields["password"].error_messages["required"] = "Enter your password."

    def clean(self) -> dict[str, Any]:
        """Authenticate, unless too many passwords failed for this username lately
        (codexweb/accounts/throttle.py): then refuse before even checking this one."""
        from codexweb.accounts.throttle import (
            signin_failure_record,
            signin_throttle,
            throttled_message,
        )

        if not settings.LOCAL_ACCOUNTS_ENABLED:
            raise forms.ValidationError(
                self.error_messages["local_disabled"], code="local_disabled"
            )
        username = str(self.cleaned_data.get("username") or "")
        if username:
            throttle = signin_throttle(username)
            if throttle.blocked:
                raise forms.ValidationError(
                    throttled_message(throttle.retry_after), code="throttled"
                )
        try:
            return super().clean()
        except forms.ValidationError as exc:
            if username and exc.code == "invalid_login":
                signin_failure_record(username)
            raise


class FirstAdminForm(forms.Form):
    """The install's first administrator and the name of their team."""

    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
        help_text="Letters, digits and @ . + - _ only.",
        error_messages={"required": "Choose a username."},
    )
    email = forms.EmailField(
        required=False,
        label="Email (optional)",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": "Enter an email like name@example.com, or leave it empty."},
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text="At least 8 characters, not too common and not all digits.",
        error_messages={"required": "Choose a password."},
    )
    password_again = forms.CharField(
        label="Password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        error_messages={"required": "Type the password a second time."},
    )
    team_name = forms.CharField(
        max_length=100,
        initial="Engineering",
        label="Team name",
        help_text="Everyone in a team shares its repositories and task history.",
        # CharField strips, so a name of spaces only is this "required" error too.
        error_messages={"required": "Name your team."},
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        field = get_user_model()._meta.get_field("username")
        for validator in field.validators:
            validator(username)
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ.")
        elif password:
            user = get_user_model()(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data
