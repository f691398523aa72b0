"""Opening a pull request from the API, through the GitHub integration
(tasks/pull_requests/services.py).

The API waits for the PR (git work and GitHub calls, typically seconds) so a script gets the URL
in one call; a second call for the same attempt returns the same PR.
tasks/pull_requests/services.py records every PR it opens in the team's audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from codexweb.api.errors import ApiError
from tasks.models import Attempt


def pull_request_open(*, attempt: Attempt, user: User) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for a PR of `attempt`: 201 open, 202 still being created elsewhere.

    Raises ApiError: 409 when the request cannot be made (the message says why), 502 when
    GitHub or git failed, 501 when this server has no GitHub integration.
    """
    try:
        from repos.github.client import GitHubError
        from tasks.pull_requests import services as pulls
    except ImportError as exc:
        raise ApiError(501, "not_implemented",
                       "Creating pull requests is not available on this server "
                       "(the GitHub integration is not installed).") from exc
    try:
        record, reserved = pulls.pull_request_reserve(attempt=attempt, user=user)
    except pulls.PullRequestError as exc:
        raise ApiError(409, "cannot_open_pr", str(exc)) from exc
    except GitHubError as exc:
        raise ApiError(502, "github_error", f"GitHub: {exc}") from exc
    if reserved:
        record = pulls.pull_request_open(record_id=record.pk)
    body = {"url": record.html_url, "number": record.number, "state": record.state,
            "branch": record.branch}
    if record.state == "failed":
        raise ApiError(502, "pr_failed", record.error or "Opening the pull request failed.")
    if record.state == "creating":
        return 202, body
    return 201, body
