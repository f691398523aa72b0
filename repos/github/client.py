"""The GitHub / GitHub Enterprise Server REST client (githubkit), with errors people can act on.

One `GitHubClient` per token. Base URLs come from settings (GITHUB_API_URL for github.com,
SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL, i.e. https://HOST/api/v3, for GHES), so the same code
talks to either and to the test double. githubkit's own retries and HTTP cache are off: a rate
limit becomes a `GitHubRateLimited` with the time to come back (never a sleep inside a request),
and conditional requests are made explicitly with stored ETags (see repos/github/sync.py).

REST reference: https://docs.github.com/rest (operations used are listed on each method).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import (
    GitHubException,
    PrimaryRateLimitExceeded,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
)
from pydantic import ValidationError

from codexweb import host_trust
from repos.github.models import Provider

logger = logging.getLogger(__name__)

PER_PAGE = 100  # GitHub's maximum
MAX_PAGES = 300  # 30,000 items: a bound on every pagination loop
TIMEOUT_SECONDS = 20.0
WRITE_LEVELS = frozenset({"admin", "maintain", "write"})  # a collaborator permission that pushes
SECONDARY_WAIT = timedelta(minutes=1)  # docs: "wait for at least one minute before retrying"


class GitHubError(Exception):
    """A GitHub call failed; `str(exc)` is a sentence for the person who asked."""


class GitHubAuthError(GitHubError):
    """GitHub refused the token (expired or revoked): the person must sign in again."""

    def __init__(self, provider: str = Provider.GITHUB) -> None:
        name = "GitHub Enterprise" if provider == Provider.GHES else "GitHub"
        super().__init__(
            f"Your {name} sign-in has expired or was revoked. Sign in again with {name} "
            "to continue."
        )


class GitHubRateLimited(GitHubError):
    """GitHub's rate limit is used up until `retry_at`."""

    def __init__(self, retry_at: datetime, *, secondary: bool) -> None:
        self.retry_at = retry_at
        kind = "GitHub asked us to slow down" if secondary else "GitHub's API rate limit is used up"
        super().__init__(f"{kind}; try again after {retry_at:%H:%M} UTC.")


class GitHubNotFound(GitHubError):
    """The repository (or pull request) does not exist or this person cannot see it."""


class GitHubForbidden(GitHubError):
    """GitHub refused the operation for this person (missing permission or scope)."""


class GitHubInvalid(GitHubError):
    """GitHub refused the request as invalid (422); `errors` holds its details."""

    def __init__(self, message: str, errors: list[Any]) -> None:
        self.errors = errors
        super().__init__(message)


def api_base_url(provider: str) -> str:
    if provider == Provider.GHES:
        if not settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL:
            raise GitHubError("GitHub Enterprise is not configured on this server (GHES_URL).")
        return settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL.rstrip("/")
    return settings.GITHUB_API_URL.rstrip("/")


def web_base_url(provider: str) -> str:
    """Where people and git reach the host: https://github.com or https://HOST for GHES."""
    if provider == Provider.GHES:
        return settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL.rstrip("/")
    return settings.GITHUB_URL.rstrip("/")


@dataclass(frozen=True)
class RepoInfo:
    external_id: int
    owner: str
    name: str
    private: bool
    visibility: str
    default_branch: str
    archived: bool
    can_push: bool
    can_admin: bool
    pushed_at: datetime | None
    # False when the payload had no `permissions` (optional in GitHub's description): can_push
    # and can_admin are then unknown, not refused; `repository()` asks the permission endpoint.
    permissions_known: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class RepoPage:
    """One page of a listing; `repos` is None when GitHub answered 304 Not Modified."""

    repos: list[RepoInfo] | None
    etag: str
    next_page: int | None


@dataclass(frozen=True)
class PullInfo:
    number: int
    html_url: str
    state: str  # open, closed, merged
    draft: bool
    head_sha: str
    head_ref: str = ""
    # owner/name of the repository the head branch lives in ("" when it was deleted): a fork's
    # pull request names another repository here.
    head_repo: str = ""
    base_ref: str = ""
    title: str = ""


@dataclass(frozen=True)
class ReviewLineComment:
    """A comment on one line of a pull request's diff: `side` RIGHT is the new file."""

    path: str
    line: int
    body: str
    side: str = "RIGHT"


@dataclass(frozen=True)
class ReviewInfo:
    id: int
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING
    html_url: str


@dataclass(frozen=True)
class CommentInfo:
    id: int
    author: str
    body: str
    html_url: str


@dataclass(frozen=True)
class Comparison:
    """How `head` relates to `base`: ahead, behind, diverged or identical, and what it changes."""

    status: str
    ahead_by: int
    behind_by: int
    merge_base_sha: str
    files: list[str]


@dataclass(frozen=True)
class BranchInfo:
    """A branch as GitHub reports it (GET /repos/{owner}/{repo}/branches/{branch})."""

    name: str
    sha: str
    protected: bool


def _repo_info(data: Any) -> RepoInfo:
    permissions = getattr(data, "permissions", None)
    pushed = getattr(data, "pushed_at", None)
    return RepoInfo(
        external_id=data.id,
        owner=data.owner.login,
        name=data.name,
        private=data.private,
        visibility=getattr(data, "visibility", None) or ("private" if data.private else "public"),
        default_branch=getattr(data, "default_branch", None) or "main",
        archived=bool(getattr(data, "archived", False)),
        can_push=bool(permissions and permissions.push),
        can_admin=bool(permissions and permissions.admin),
        pushed_at=pushed if isinstance(pushed, datetime) else None,
        permissions_known=bool(permissions),  # githubkit gives a falsy UNSET when absent
    )


def _retry_after_in_seconds(response: httpx.Response) -> None:
    """Retry-After may be an HTTP date (RFC 9110) where GitHub sends seconds, and githubkit
    reads only seconds: a date becomes the seconds until it."""
    value = response.headers.get("retry-after", "").strip()
    if not value or value.isdigit():
        return
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        del response.headers["retry-after"]  # unreadable: githubkit's own default applies
        return
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = max(int((when - datetime.now(tz=UTC)).total_seconds()), 1)
    response.headers["retry-after"] = str(seconds)


def _next_page(response: Any) -> int | None:
    """The page number the `Link: <…>; rel="next"` header names, None on the last page."""
    url = response.raw_response.links.get("next", {}).get("url")
    if not url:
        return None
    pages = parse_qs(urlsplit(url).query).get("page")
    if pages and pages[0].isdigit():
        return int(pages[0])
    logger.warning("GitHub's next page %s names no page number; the listing stops here",
                   urlsplit(url).path)
    return None


class GitHubClient:
    """REST calls for one token. Every method raises a GitHubError subclass on failure."""

    def __init__(self, token: str, *, provider: str = Provider.GITHUB,
                 transport: httpx.BaseTransport | None = None,
                 renew_token: Callable[[str], str | None] | None = None,
                 on_auth_failure: Callable[[], None] | None = None) -> None:
        """When GitHub refuses the token (401), `renew_token(refused)` may give a new one: the
        call is made once more with it. `on_auth_failure` runs when the refusal stands (no new
        token, or refused again), before GitHubAuthError is raised."""
        self.provider = provider
        self._token = token
        self._renew_token = renew_token
        self._on_auth_failure = on_auth_failure
        self._user_login: str | None = None
        self._github = GitHub(
            token,
            base_url=api_base_url(provider) + "/",
            user_agent="codexweb",
            timeout=TIMEOUT_SECONDS,
            http_cache=False,
            auto_retry=False,
            ssl_verify=host_trust.ssl_context(),  # a GHES behind a company CA, as git trusts it
            transport=transport,
            event_hooks={"response": [_retry_after_in_seconds]},
        )

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """`method(*args, **kwargs)`; a refused token is renewed and the call made again, once
        (a 401 means GitHub did nothing, so even a POST is safe to repeat)."""
        try:
            return self._call_once(method, *args, **kwargs)
        except GitHubAuthError:
            token = self._renew_token(self._token) if self._renew_token is not None else None
            if token is None:
                self._auth_failed()
                raise
        logger.info("GitHub refused a token believed valid; renewed it, calling again")
        self._token = token
        # githubkit builds each request's auth from this, also for the bound `method`.
        self._github.auth = TokenAuthStrategy(token)
        try:
            return self._call_once(method, *args, **kwargs)
        except GitHubAuthError:
            self._auth_failed()
            raise

    def _auth_failed(self) -> None:
        if self._on_auth_failure is not None:
            self._on_auth_failure()

    def _call_once(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            response = method(*args, **kwargs)
            if response.status_code != 304:
                response.parsed_data  # noqa: B018 - parsed here, so a bad answer is a GitHubError
            return response
        except ValidationError as exc:
            logger.warning("GitHub's answer to %s did not match its description: %s",
                           getattr(method, "__name__", "a call"), exc)
            raise GitHubError("GitHub sent an answer this app cannot read; try again later, "
                              "or tell your administrator if it keeps happening.") from exc
        except RateLimitExceeded as exc:
            retry_at = datetime.now(tz=UTC) + max(exc.retry_after, timedelta(seconds=1))
            raise GitHubRateLimited(
                retry_at, secondary=not isinstance(exc, PrimaryRateLimitExceeded)
            ) from exc
        except RequestFailed as exc:
            raise self._failure(exc) from exc
        except RequestError as exc:
            raise GitHubError(
                "GitHub could not be reached; please try again in a minute."
            ) from exc
        except GitHubException as exc:
            raise GitHubError(f"GitHub request failed: {type(exc).__name__}") from exc

    def _failure(self, exc: RequestFailed) -> GitHubError:
        status = exc.response.status_code
        try:
            body = exc.response.json()
        except ValueError:
            body = {}
        message = body.get("message", "") if isinstance(body, dict) else ""
        if status == 401:  # `_call` renews the token or gives up
            return GitHubAuthError(self.provider)
        if status in (403, 429) and (status == 429 or "rate limit" in message.lower()):
            # A secondary limit with neither Retry-After nor x-ratelimit-remaining: 0 (githubkit
            # only recognises those); GitHub's advice is to wait at least a minute.
            return GitHubRateLimited(datetime.now(tz=UTC) + SECONDARY_WAIT, secondary=True)
        if status == 404:
            return GitHubNotFound("GitHub says this does not exist or you cannot see it.")
        if status == 403:
            return GitHubForbidden(
                f"GitHub refused this for your account: {message or 'permission denied'}."
            )
        if status == 422:
            errors = body.get("errors", []) if isinstance(body, dict) else []
            errors = errors if isinstance(errors, list) else []
            details = "; ".join(  # objects (validation-error) or sentences (…-simple)
                (e.get("message") or f"{e.get('field')} {e.get('code')}")
                if isinstance(e, dict) else str(e) for e in errors)
            reason = (details or message).rstrip(".")
            return GitHubInvalid(f"GitHub refused the request: {reason}.", errors)
        if status >= 500:
            return GitHubError(f"GitHub is having trouble (it answered {status}); "
                               "try again in a minute.")
        return GitHubError(f"GitHub answered {status}: {message or 'unexpected error'}.")

    def _every_page(self, method: Any, *args: Any, max_pages: int = MAX_PAGES,
                    **kwargs: Any) -> Iterator[Any]:
        """The items of every page GitHub links with rel="next", at most `max_pages` pages of
        PER_PAGE. A next link that does not move forward ends the walk (a server repeating a
        page), and so does one without a page number, said in the log (a cursor we cannot
        follow with this operation)."""
        page = 1
        for _ in range(min(max_pages, MAX_PAGES)):
            response = self._call(method, *args, per_page=PER_PAGE, page=page, **kwargs)
            yield from response.parsed_data
            following = _next_page(response)
            if following is None or following <= page:
                return
            page = following

    # -- operations ----------------------------------------------------------------------------

    def user(self) -> dict[str, Any]:
        """GET /user (users/get-authenticated): login, id, name, email."""
        data = self._call(self._github.rest.users.get_authenticated).parsed_data
        return {"login": data.login, "id": data.id, "name": data.name, "email": data.email}

    def repositories_page(self, page: int, *, etag: str = "") -> RepoPage:
        """GET /user/repos (repos/list-for-authenticated-user), conditionally on `etag`."""
        headers = {"If-None-Match": etag} if etag else None
        response = self._call(
            self._github.rest.repos.list_for_authenticated_user,
            affiliation="owner,collaborator,organization_member", sort="full_name",
            per_page=PER_PAGE, page=page, headers=headers,
        )
        new_etag = response.headers.get("etag", "")
        if response.status_code == 304:
            return RepoPage(repos=None, etag=etag, next_page=_next_page(response))
        repos = [_repo_info(item) for item in response.parsed_data]
        return RepoPage(repos=repos, etag=new_etag, next_page=_next_page(response))

    def repository(self, owner: str, name: str) -> RepoInfo:
        """GET /repos/{owner}/{repo} (repos/get), with this person's permissions: from the
        payload's `permissions`, or, when the server leaves that optional field out, from
        GET .../collaborators/{login}/permission."""
        info = _repo_info(self._call(self._github.rest.repos.get, owner, name).parsed_data)
        if info.permissions_known:
            return info
        try:
            level = self.permission(owner, name, self._login())
        except (GitHubNotFound, GitHubForbidden):
            level = "none"  # not a collaborator: no push
        return replace(info, can_push=level in WRITE_LEVELS, can_admin=level == "admin",
                       permissions_known=True)

    def _login(self) -> str:
        if self._user_login is None:
            self._user_login = str(self.user()["login"])
        return self._user_login

    def branches(self, owner: str, name: str) -> list[str]:
        """GET /repos/{owner}/{repo}/branches (repos/list-branches), every page."""
        return [branch.name for branch in
                self._every_page(self._github.rest.repos.list_branches, owner, name)]

    def organizations(self) -> list[str]:
        """GET /user/orgs (orgs/list-for-authenticated-user), every page: the logins of the
        organizations this person belongs to that the token may see (needs `read:org`)."""
        return [org.login for org in
                self._every_page(self._github.rest.orgs.list_for_authenticated_user)]

    def permission(self, owner: str, name: str, login: str) -> str:
        """GET .../collaborators/{username}/permission: admin, write, read or none."""
        response = self._call(self._github.rest.repos.get_collaborator_permission_level,
                              owner, name, login)
        return str(response.parsed_data.permission)

    def pull_create(self, owner: str, name: str, *, title: str, body: str, head: str,
                    base: str, draft: bool = False) -> PullInfo:
        """POST /repos/{owner}/{repo}/pulls (pulls/create)."""
        response = self._call(self._github.rest.pulls.create, owner, name,
                              data={"title": title, "body": body, "head": head, "base": base,
                                    "draft": draft})
        return self._pull(response.parsed_data)

    def pull(self, owner: str, name: str, number: int) -> PullInfo:
        """GET /repos/{owner}/{repo}/pulls/{pull_number} (pulls/get)."""
        return self._pull(self._call(self._github.rest.pulls.get, owner, name, number).parsed_data)

    def pulls(self, owner: str, name: str, *, head: str = "", base: str = "",
              state: str = "open", max_pages: int = MAX_PAGES) -> list[PullInfo]:
        """GET /repos/{owner}/{repo}/pulls (pulls/list), up to `max_pages` pages of 100 (newest
        first); `head` is a branch of this repository (GitHub wants `owner:branch`, added
        here)."""
        filters: dict[str, Any] = {"state": state}
        if head:
            filters["head"] = f"{owner}:{head}"
        if base:
            filters["base"] = base
        return [self._pull(item) for item in self._every_page(
            self._github.rest.pulls.list, owner, name, max_pages=max_pages, **filters)]

    def pull_update(self, owner: str, name: str, number: int, *, title: str | None = None,
                    body: str | None = None, state: str | None = None,
                    base: str | None = None) -> PullInfo:
        """PATCH /repos/{owner}/{repo}/pulls/{pull_number} (pulls/update): only what is given."""
        changes = {key: value for key, value in
                   {"title": title, "body": body, "state": state, "base": base}.items()
                   if value is not None}
        return self._pull(self._call(self._github.rest.pulls.update, owner, name, number,
                                     data=changes).parsed_data)

    def review_create(self, owner: str, name: str, number: int, *, body: str,
                      event: str = "COMMENT", comments: list[ReviewLineComment] | None = None,
                      commit_id: str = "") -> ReviewInfo:
        """POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews (pulls/create-review):
        `event` is COMMENT, APPROVE or REQUEST_CHANGES; line comments anchor on `commit_id`
        (the pull's head when empty)."""
        data: dict[str, Any] = {"body": body, "event": event, "comments": [
            {"path": c.path, "line": c.line, "side": c.side, "body": c.body}
            for c in comments or []]}
        if commit_id:
            data["commit_id"] = commit_id
        review = self._call(self._github.rest.pulls.create_review, owner, name, number,
                            data=data).parsed_data
        return ReviewInfo(id=review.id, state=str(review.state), html_url=review.html_url)

    def issue_comments(self, owner: str, name: str, number: int) -> list[CommentInfo]:
        """GET /repos/{owner}/{repo}/issues/{issue_number}/comments (issues/list-comments),
        every page; a pull request's conversation."""
        return [self._comment(item) for item in
                self._every_page(self._github.rest.issues.list_comments, owner, name, number)]

    def issue_comment_create(self, owner: str, name: str, number: int, body: str) -> CommentInfo:
        """POST /repos/{owner}/{repo}/issues/{issue_number}/comments (issues/create-comment)."""
        return self._comment(self._call(self._github.rest.issues.create_comment, owner, name,
                                        number, data={"body": body}).parsed_data)

    def compare(self, owner: str, name: str, base: str, head: str) -> Comparison:
        """GET /repos/{owner}/{repo}/compare/{base}...{head} (repos/compare-commits): the
        first page, which carries the counts, the merge base and the changed files."""
        data = self._call(self._github.rest.repos.compare_commits, owner, name,
                          f"{base}...{head}").parsed_data
        files = getattr(data, "files", None) or []
        return Comparison(status=str(data.status), ahead_by=data.ahead_by,
                          behind_by=data.behind_by, merge_base_sha=data.merge_base_commit.sha,
                          files=[f.filename for f in files])

    def branch(self, owner: str, name: str, branch: str) -> BranchInfo:
        """GET /repos/{owner}/{repo}/branches/{branch} (repos/get-branch)."""
        data = self._call(self._github.rest.repos.get_branch, owner, name, branch).parsed_data
        return BranchInfo(name=data.name, sha=data.commit.sha, protected=bool(data.protected))

    @staticmethod
    def _comment(data: Any) -> CommentInfo:
        user = getattr(data, "user", None)
        return CommentInfo(id=data.id, author=user.login if user else "",
                           body=str(getattr(data, "body", "") or ""), html_url=data.html_url)

    @staticmethod
    def _pull(data: Any) -> PullInfo:
        merged = bool(getattr(data, "merged", False) or getattr(data, "merged_at", None))
        return PullInfo(
            number=data.number, html_url=data.html_url,
            state="merged" if merged else str(data.state), draft=bool(data.draft),
            head_sha=data.head.sha, head_ref=str(data.head.ref),
            head_repo=str(getattr(getattr(data.head, "repo", None), "full_name", "") or ""),
            base_ref=str(data.base.ref), title=str(getattr(data, "title", "") or ""),
        )
