"""Plain-language messages for the ways a GitHub sign-in can fail.

social-core 7 classifies every failure with an exception class and a stable `code` (and the
`stage` it happened in); the message is chosen from those, never from provider-supplied text,
so nothing a provider says is echoed to the page.
"""

from __future__ import annotations

from social_core import exceptions as sx

CANCELLED = "Sign-in was cancelled: GitHub did not grant access. Try again and choose Authorize."
STATE = (
    "Sign-in could not be verified (the security state did not match). "
    "This happens when a sign-in link is reused or cookies are blocked; please try again."
)
EXCHANGE_FAILED = (
    "GitHub did not complete the sign-in (the token exchange failed). "
    "Please try again; if it keeps failing, ask an administrator to check the OAuth app."
)
UNREACHABLE = (
    "GitHub could not be reached or answered with an error. Please try again in a few minutes."
)
CONFIGURATION = "GitHub sign-in is not configured correctly on this server. Tell an administrator."
FORBIDDEN = "Your GitHub account is not allowed to sign in here."
ACCOUNT_IN_USE = "That GitHub account is already connected to another person here."
GENERIC = "GitHub sign-in failed. Please try again."


def describe(exc: Exception) -> str:
    """The message for a failed sign-in; every social-auth exception maps to some sentence."""
    code = getattr(exc, "code", "")
    stage = getattr(exc, "stage", "")
    if isinstance(exc, sx.AuthCanceled):
        return CANCELLED
    if isinstance(exc, sx.AuthSessionError) or (
        isinstance(exc, sx.AuthInputError) and getattr(exc, "parameter", None) == "state"
    ):
        return STATE
    if isinstance(exc, sx.AuthConfigurationError):
        return CONFIGURATION
    if isinstance(exc, sx.AuthPolicyError):
        return FORBIDDEN
    if isinstance(exc, sx.AuthAssociationError):
        return ACCOUNT_IN_USE
    if stage == "token_exchange" or code in {"authorization_code_rejected", "credential_rejected"}:
        return EXCHANGE_FAILED
    if isinstance(exc, sx.AuthProviderError | sx.AuthResponseError | sx.AuthCredentialError):
        return UNREACHABLE if stage in {"user_info", "callback"} else EXCHANGE_FAILED
    return GENERIC
