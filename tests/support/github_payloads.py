"""Canned GitHub payloads shaped exactly like the REST description's schemas.

Each builder takes the double's state objects and the URL bases the caller sees (`Bases`), so a
github.com-layout client gets api.github.com-style URLs and a GHES client gets `/api/v3` ones.
tests/github/test_double.py checks every builder against the schema it claims to produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.github_state import GitHubOrg, GitHubRepo, GitHubUser, PullRequest

CREATED_AT = "2024-01-02T03:04:05Z"
ROLE_TO_PERMISSION = {
    "admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read",
}
ROLE_ORDER = ["read", "triage", "write", "maintain", "admin"]


@dataclass(frozen=True)
class Bases:
    api: str  # e.g. http://127.0.0.1:5001 (github.com layout) or http://127.0.0.1:5002/api/v3
    web: str  # e.g. http://127.0.0.1:5000 (github.com layout) or http://127.0.0.1:5002


def permissions_object(role: str | None) -> dict[str, bool]:
    """GitHub's `permissions` flags for a role (None: no access)."""
    rank = ROLE_ORDER.index(role) if role in ROLE_ORDER else -1
    return {
        "pull": rank >= 0,
        "triage": rank >= ROLE_ORDER.index("triage"),
        "push": rank >= ROLE_ORDER.index("write"),
        "maintain": rank >= ROLE_ORDER.index("maintain"),
        "admin": rank >= ROLE_ORDER.index("admin"),
    }


def _node_id(kind: str, number: int) -> str:
    return f"{kind}_kgDO{number:08d}"


def simple_user(user: GitHubUser | GitHubOrg, bases: Bases) -> dict[str, Any]:
    """`simple-user` (also valid as `nullable-simple-user`)."""
    api = f"{bases.api}/users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": _node_id("U" if user.type == "User" else "O", user.id),
        "avatar_url": f"{bases.web}/avatars/u/{user.id}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{bases.web}/{user.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "site_admin": user.site_admin,
        "user_view_type": "public",
    }


def private_user(user: GitHubUser, bases: Bases, *, private_repos: int = 0) -> dict[str, Any]:
    """`private-user`: what GET /user answers for the token's owner."""
    payload = simple_user(user, bases)
    payload.update(
        {
            "user_view_type": "private",
            "name": user.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": user.email,
            "notification_email": user.email,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
            "private_gists": 0,
            "total_private_repos": private_repos,
            "owned_private_repos": private_repos,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
        }
    )
    return payload


def collaborator(user: GitHubUser, role: str | None, bases: Bases) -> dict[str, Any]:
    """`nullable-collaborator`: a user with their permissions on one repository."""
    payload = simple_user(user, bases)
    payload["permissions"] = permissions_object(role)
    payload["role_name"] = role or "none"
    return payload


def organization_simple(org: GitHubOrg, bases: Bases) -> dict[str, Any]:
    api = f"{bases.api}/orgs/{org.login}"
    return {
        "login": org.login,
        "id": org.id,
        "node_id": _node_id("O", org.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"{bases.web}/avatars/u/{org.id}",
        "description": org.description,
    }


def _repo_urls(repo: GitHubRepo, bases: Bases) -> dict[str, Any]:
    api = f"{bases.api}/repos/{repo.full_name}"
    return {
        "url": api,
        "html_url": f"{bases.web}/{repo.full_name}",
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{api}/assignees{{/user}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "comments_url": f"{api}/comments{{/number}}",
        "commits_url": f"{api}/commits{{/sha}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "contributors_url": f"{api}/contributors",
        "deployments_url": f"{api}/deployments",
        "downloads_url": f"{api}/downloads",
        "events_url": f"{api}/events",
        "forks_url": f"{api}/forks",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "hooks_url": f"{api}/hooks",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "issues_url": f"{api}/issues{{/number}}",
        "keys_url": f"{api}/keys{{/key_id}}",
        "labels_url": f"{api}/labels{{/name}}",
        "languages_url": f"{api}/languages",
        "merges_url": f"{api}/merges",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "releases_url": f"{api}/releases{{/id}}",
        "stargazers_url": f"{api}/stargazers",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "tags_url": f"{api}/tags",
        "teams_url": f"{api}/teams",
        "trees_url": f"{api}/git/trees{{/sha}}",
    }


def minimal_repository(
    repo: GitHubRepo, owner: GitHubUser | GitHubOrg, bases: Bases, *, role: str | None = None
) -> dict[str, Any]:
    """`minimal-repository` (GET /orgs/{org}/repos)."""
    payload: dict[str, Any] = {
        "id": repo.id,
        "node_id": _node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": simple_user(owner, bases),
        "private": repo.private,
        "description": repo.description,
        "fork": False,
        **_repo_urls(repo, bases),
        "clone_url": f"{bases.web}/{repo.full_name}.git",
        "git_url": f"git://{bases.web.split('://', 1)[1]}/{repo.full_name}.git",
        "ssh_url": f"git@{bases.web.split('://', 1)[1].split(':')[0]}:{repo.full_name}.git",
        "svn_url": f"{bases.web}/{repo.full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": repo.language,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 1,
        "default_branch": repo.default_branch,
        "open_issues_count": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": repo.archived,
        "disabled": False,
        "visibility": repo.visibility,
        "pushed_at": repo.pushed_at,
        "created_at": CREATED_AT,
        "updated_at": repo.pushed_at,
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "license": None,
    }
    if role is not None:
        payload["permissions"] = permissions_object(role)
    return payload


def repository(
    repo: GitHubRepo, owner: GitHubUser | GitHubOrg, bases: Bases, *, role: str | None = None
) -> dict[str, Any]:
    """`repository` (GET /user/repos items)."""
    payload = minimal_repository(repo, owner, bases, role=role)
    payload.update(
        {
            "allow_rebase_merge": True,
            "allow_squash_merge": True,
            "allow_auto_merge": False,
            "delete_branch_on_merge": False,
            "allow_merge_commit": True,
            "allow_forking": True,
            "web_commit_signoff_required": False,
        }
    )
    return payload


def full_repository(
    repo: GitHubRepo, owner: GitHubUser | GitHubOrg, bases: Bases, *, role: str | None = None
) -> dict[str, Any]:
    """`full-repository` (GET /repos/{owner}/{repo})."""
    payload = repository(repo, owner, bases, role=role)
    payload.update({"network_count": 0, "subscribers_count": 0})
    if owner.type == "Organization":
        payload["organization"] = simple_user(owner, bases)
    return payload


def short_branch(repo: GitHubRepo, name: str, sha: str, bases: Bases) -> dict[str, Any]:
    api = f"{bases.api}/repos/{repo.full_name}"
    return {
        "name": name,
        "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
        "protected": name in repo.protected_branches,
        "protection_url": f"{api}/branches/{name}/protection",
    }


def pull_request(
    pull: PullRequest,
    repo: GitHubRepo,
    owner: GitHubUser | GitHubOrg,
    author: GitHubUser,
    bases: Bases,
) -> dict[str, Any]:
    """`pull-request` (POST /pulls, GET /pulls/{n})."""
    api = f"{bases.api}/repos/{repo.full_name}"
    html = f"{bases.web}/{repo.full_name}/pull/{pull.number}"
    repo_payload = repository(repo, owner, bases)

    def end(ref: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "repo": repo_payload,
            "user": simple_user(owner, bases),
        }

    links = {
        "self": f"{api}/pulls/{pull.number}",
        "html": html,
        "issue": f"{api}/issues/{pull.number}",
        "comments": f"{api}/issues/{pull.number}/comments",
        "review_comments": f"{api}/pulls/{pull.number}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{pull.number}/commits",
        "statuses": f"{api}/statuses/{pull.head_sha}",
    }
    return {
        "url": links["self"],
        "id": pull.id,
        "node_id": _node_id("PR", pull.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": simple_user(author, bases),
        "body": pull.body,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pull.created_at,
        "updated_at": pull.created_at,
        "closed_at": None,
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": end(pull.head, pull.head_sha),
        "base": end(pull.base, pull.base_sha),
        "_links": {key: {"href": value} for key, value in links.items()},
        "author_association": "MEMBER" if author.login != repo.owner else "OWNER",
        "auto_merge": None,
        "draft": pull.draft,
        "merged": False,
        "mergeable": True,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 0,
        "deletions": 0,
        "changed_files": 0,
    }


def basic_error(message: str, status: int) -> dict[str, Any]:
    """`basic-error`: GitHub's body for 401/403/404 and friends."""
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": str(status),
    }


def validation_error(message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`validation-error` (422)."""
    payload: dict[str, Any] = {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    }
    if errors:
        payload["errors"] = errors
    return payload
