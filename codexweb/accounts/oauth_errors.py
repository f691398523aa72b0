"""Plain-language messages for the ways a GitHub sign-in can fail."""

from __future__ import annotations

from social_core import exceptions as sx


def describe(exc: Exception) -> str:
    if isinstance(exc, sx.AuthCanceled):
        return "Sign-in was cancelled: GitHub did not grant access. Try again and choose Authorize."
    if isinstance(exc, sx.AuthStateMissing | sx.AuthStateForbidden):
        return (
            "Sign-in could not be verified (the security state did not match). "
            "This happens when a sign-in link is reused or cookies are blocked; please try again."
        )
    if isinstance(exc, sx.AuthTokenError | sx.AuthFailed | sx.AuthUnreachableProvider):
        return (
            "GitHub did not complete the sign-in (the token exchange failed). "
            "Please try again; if it keeps failing, ask an administrator to check the OAuth app."
        )
    if isinstance(exc, sx.AuthConfigurationError | sx.AuthMissingParameter):
        return "GitHub sign-in is not configured correctly on this server. Tell an administrator."
    if isinstance(exc, sx.AuthForbidden):
        return "Your GitHub account is not allowed to sign in here."
    return "GitHub sign-in failed. Please try again."
