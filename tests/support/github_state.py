"""What the GitHub double knows: people, organizations, repositories, tokens and failure switches.

A plain object that tests configure directly (`state.add_user("octocat")`, `state.consent =
"deny"`). The HTTP side (tests/support/github_double.py) reads and mutates it under `state.lock`.
"""

from __future__ import annotations

import itertools
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Role = Literal["read", "triage", "write", "maintain", "admin"]
ROLES: tuple[str, ...] = ("read", "triage", "write", "maintain", "admin")
REFRESH_TOKEN_LIFETIME = 15_897_600  # six months, as GitHub


@dataclass
class GitHubUser:
    login: str
    id: int
    name: str | None = None
    email: str | None = None  # the public profile email; None like most real accounts
    emails: list[dict] = field(default_factory=list)  # GET /user/emails
    type: str = "User"
    site_admin: bool = False

    @property
    def noreply_email(self) -> str:
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class GitHubOrg:
    login: str
    id: int
    members: dict[str, Role] = field(default_factory=dict)  # login -> base role on every repo
    description: str | None = None
    type: str = "Organization"
    site_admin: bool = False


@dataclass
class ReviewComment:
    """One line comment of a review, as the request gave it."""

    path: str
    body: str
    line: int | None = None
    side: str = "RIGHT"
    position: int | None = None


@dataclass
class Review:
    id: int
    author: str
    body: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED or PENDING
    commit_id: str
    comments: list[ReviewComment] = field(default_factory=list)
    submitted_at: str = "2024-01-02T03:04:05Z"


@dataclass
class IssueComment:
    id: int
    author: str
    body: str
    created_at: str = "2024-01-02T03:04:05Z"


@dataclass
class PullRequest:
    number: int
    id: int
    title: str
    body: str | None
    head: str
    base: str
    head_sha: str
    base_sha: str
    author: str
    draft: bool = False
    state: str = "open"
    created_at: str = "2024-01-02T03:04:05Z"
    updated_at: str = "2024-01-02T03:04:05Z"
    closed_at: str | None = None
    reviews: list[Review] = field(default_factory=list)
    comments: list[IssueComment] = field(default_factory=list)  # the conversation (issue) tab
    # A fork's pull request: its head branch lives in this other repository, owned by this user.
    head_repo: GitHubRepo | None = None
    head_owner: GitHubUser | None = None


@dataclass
class GitHubRepo:
    owner: str
    name: str
    id: int
    private: bool = True
    visibility: str = "private"
    default_branch: str = "main"
    description: str | None = None
    language: str | None = "Python"
    archived: bool = False
    pushed_at: str = "2024-01-02T03:04:05Z"
    collaborators: dict[str, Role] = field(default_factory=dict)  # login -> role
    branches: dict[str, str] = field(default_factory=dict)  # used when there is no git_dir
    protected_branches: set[str] = field(default_factory=set)
    pulls: list[PullRequest] = field(default_factory=list)
    git_dir: Path | None = None  # a bare repository served over smart HTTP
    push_rejection: str | None = None  # when set, every push is refused with this message

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    callback_url: str | None = None  # when set, redirect_uri must start with it


@dataclass
class Grant:
    code: str
    login: str
    client_id: str
    redirect_uri: str | None
    scopes: list[str]
    expires_at: float


@dataclass
class Token:
    value: str
    login: str
    scopes: list[str]
    expires_at: float | None = None  # a GitHub App's user token expires (8 hours on GitHub)


@dataclass
class RefreshToken:
    """A GitHub App's refresh token: used once (GitHub hands a new one with each refresh)."""

    value: str
    login: str
    client_id: str
    scopes: list[str]
    expires_at: float


@dataclass
class Outage:
    """The next `hits` API calls whose path contains `path` answer 503, as GitHub does when it
    is having trouble; then it answers again."""

    path: str = ""
    hits: int = 0


@dataclass
class RateLimit:
    """Primary limit (x-ratelimit-*) and an optional secondary limit (Retry-After)."""

    limit: int = 5000
    remaining: int = 5000
    reset_at: int = field(default_factory=lambda: int(time.time()) + 3600)
    # Secondary limit: the next `secondary_hits` API calls get `secondary_status` (GitHub sends
    # 429 or 403) with Retry-After, or with only the message when `retry_after` is None (GitHub's
    # documented "otherwise, wait at least one minute" case).
    secondary_hits: int = 0
    retry_after: int | str | None = 60  # seconds, or an HTTP date (RFC 9110 allows both)
    secondary_status: int = 429
    secondary_path: str = ""  # only calls whose path ends with it count (e.g. "/pulls")

    @property
    def used(self) -> int:
        return self.limit - self.remaining


@dataclass
class RecordedRequest:
    host: str  # "web", "api" or "ghes"
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0


ConsentMode = Literal["grant", "deny"]
TokenExchangeMode = Literal["ok", "error", "http_error"]


class GitHubState:
    """Everything the double serves; tests build scenarios by calling the add_* methods."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self.apps: dict[str, OAuthApp] = {}
        self.users: dict[str, GitHubUser] = {}
        self.orgs: dict[str, GitHubOrg] = {}
        self.repos: dict[tuple[str, str], GitHubRepo] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        # Seconds a token from the OAuth exchange lives, None for an OAuth app's token that never
        # expires; set, the exchange answers expires_in and a refresh_token as a GitHub App's.
        self.token_lifetime: int | None = None
        self.grants: dict[str, Grant] = {}
        self.browser_user: str | None = None  # who is signed in to the double's web UI
        self.consent: ConsentMode = "grant"
        self.token_exchange: TokenExchangeMode = "ok"
        self.rate_limit = RateLimit()
        self.outage = Outage()
        self.page_cap = 100  # GitHub's per_page maximum
        # Repository payloads carry the caller's `permissions` flags (optional in the contract);
        # False plays a server that leaves them out.
        self.repo_permissions = True
        # True plays an independent GitHub built to the shared contract alone: every operation
        # only our extra description has (list pulls, PATCH a pull, comments, reviews, compare)
        # answers 404.
        self.contract_only = False
        # True: git over HTTP answers 401 to every token while the API still takes it (a token
        # revoked between the API check and the fetch, or one without access to contents).
        self.git_refuses_tokens = False
        # Tokens git over HTTP answers 401 to while the API still takes them (one such token).
        self.git_refused_tokens: set[str] = set()
        # (old owner, old name) -> the id of a repository renamed or transferred since: the API
        # answers 301 to the old name, as GitHub does.
        self.moved: dict[tuple[str, str], int] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []

    # -- building scenarios ------------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def add_app(self, client_id: str, client_secret: str,
                callback_url: str | None = None) -> OAuthApp:
        app = OAuthApp(client_id, client_secret, callback_url)
        self.apps[client_id] = app
        return app

    def add_user(self, login: str, *, name: str | None = None, email: str | None = None,
                 emails: list[dict] | None = None, sign_in: bool = False) -> GitHubUser:
        """A GitHub account; `sign_in=True` makes it the one who consents in the browser."""
        user = GitHubUser(login=login, id=self.next_id(), name=name or login.title(), email=email)
        user.emails = emails if emails is not None else [
            {"email": f"{login}@example.test", "primary": True, "verified": True,
             "visibility": "private"},
            {"email": user.noreply_email, "primary": False, "verified": True, "visibility": None},
        ]
        self.users[login] = user
        if sign_in or self.browser_user is None:
            self.browser_user = login
        return user

    def add_org(self, login: str, *, members: dict[str, Role] | None = None) -> GitHubOrg:
        org = GitHubOrg(login=login, id=self.next_id(), members=dict(members or {}))
        self.orgs[login] = org
        return org

    def add_repo(self, owner: str, name: str, *, private: bool = True,
                 collaborators: dict[str, Role] | None = None, default_branch: str = "main",
                 branches: dict[str, str] | None = None, **extra) -> GitHubRepo:
        """A repository owned by a user or organization that must already exist."""
        if owner not in self.users and owner not in self.orgs:
            raise KeyError(f"add the user or organization {owner!r} first")
        repo = GitHubRepo(
            owner=owner, name=name, id=self.next_id(), private=private,
            visibility="private" if private else "public", default_branch=default_branch,
            collaborators=dict(collaborators or {}),
            branches=dict(branches or {default_branch: secrets.token_hex(20)}), **extra,
        )
        self.repos[(owner, name)] = repo
        return repo

    def attach_git(self, repo: GitHubRepo, source: Path, bare_dir: Path) -> Path:
        """Serve `source` (a git repository) as `repo` over smart HTTP from a bare clone."""
        from tests.support.github_git import prepare_bare

        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare_dir)], check=True)
        prepare_bare(bare_dir)
        repo.git_dir = bare_dir
        return bare_dir

    def rename_repo(self, repo: GitHubRepo, owner: str, name: str) -> GitHubRepo:
        """Rename (or transfer) `repo`; its old name answers 301 Moved Permanently."""
        del self.repos[(repo.owner, repo.name)]
        self.moved[(repo.owner, repo.name)] = repo.id
        repo.owner, repo.name = owner, name
        self.repos[(owner, name)] = repo
        return repo

    def issue_token(self, login: str, scopes: list[str] | None = None, *,
                    lifetime: int | None = None) -> str:
        value = ("ghu_" if lifetime else "gho_") + secrets.token_hex(18)
        expires_at = time.time() + lifetime if lifetime else None
        self.tokens[value] = Token(value, login, list(scopes or ["repo", "read:org", "user:email"]),
                                   expires_at)
        return value

    def issue_refresh_token(self, login: str, client_id: str, scopes: list[str]) -> str:
        value = "ghr_" + secrets.token_hex(30)
        self.refresh_tokens[value] = RefreshToken(value, login, client_id, list(scopes),
                                                  time.time() + REFRESH_TOKEN_LIFETIME)
        return value

    def token(self, value: str) -> Token | None:
        """The live token `value` names: None when unknown, revoked or expired."""
        token = self.tokens.get(value)
        if token is None or (token.expires_at is not None and token.expires_at <= time.time()):
            return None
        return token

    def expire_tokens(self, login: str) -> None:
        """`login`'s access tokens expire now (their refresh tokens still work)."""
        for token in self.tokens.values():
            if token.login == login:
                token.expires_at = time.time() - 1

    def revoke_tokens(self, login: str) -> None:
        for value in [v for v, t in self.tokens.items() if t.login == login]:
            del self.tokens[value]
        for value in [v for v, t in self.refresh_tokens.items() if t.login == login]:
            del self.refresh_tokens[value]

    # -- questions the server asks -----------------------------------------------------------

    def owner_of(self, repo: GitHubRepo) -> GitHubUser | GitHubOrg:
        return self.users.get(repo.owner) or self.orgs[repo.owner]

    def role(self, login: str | None, repo: GitHubRepo) -> str | None:
        """The strongest role `login` has on `repo` (None: no access beyond public read)."""
        if login is None:
            return "read" if not repo.private else None
        candidates: list[str] = []
        if repo.owner == login:
            candidates.append("admin")
        if login in repo.collaborators:
            candidates.append(repo.collaborators[login])
        org = self.orgs.get(repo.owner)
        if org is not None and login in org.members:
            candidates.append(org.members[login])
        if not repo.private:
            candidates.append("read")
        return max(candidates, key=ROLES.index) if candidates else None

    def branches_of(self, repo: GitHubRepo) -> dict[str, str]:
        """Branch name -> commit sha, from the bare repository when one is attached."""
        if repo.git_dir is None:
            return dict(repo.branches)
        out = subprocess.run(
            ["git", "-C", str(repo.git_dir), "for-each-ref",
             "--format=%(refname:strip=2) %(objectname)", "refs/heads/"],
            check=True, capture_output=True, text=True,
        ).stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def take_violations(self) -> list[str]:
        """Return and forget the recorded description violations (for tests that expect them)."""
        with self.lock:
            found, self.violations = self.violations, []
        return found
