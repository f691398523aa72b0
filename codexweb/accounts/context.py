"""Template context about sign-in options."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def sign_in_options_for_settings() -> dict[str, Any]:
    """Which ways of signing in this install offers."""
    return {
        "github_enabled": bool(settings.SOCIAL_AUTH_GITHUB_KEY),
        "ghes_enabled": bool(
            settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY
            and settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL
        ),
        "local_accounts_enabled": settings.LOCAL_ACCOUNTS_ENABLED,
    }


def sign_in_options(request: HttpRequest) -> dict[str, Any]:
    return sign_in_options_for_settings()
