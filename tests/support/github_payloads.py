"""Canned GitHub payloads shaped exactly like the REST description's schemas.

Each builder takes the double's state objects and the URL bases the caller sees (`Bases`), so a
github.com-layout client gets api.github.com-style URLs and a GHES client gets `/api/v3` ones.
tests/github/test_double.py checks every builder against the schema it claims to produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.github_commits import CommitDetails, FileChange
from tests.support.github_state import (
    GitHubOrg,
    GitHubRepo,
    GitHubUser,
    IssueComment,
    PullRequest,
    Review,
)

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

    def end(ref: str, sha: str, *, fork: bool = False) -> dict[str, Any]:
        if fork and pull.head_repo is not None and pull.head_owner is not None:
            return {"label": f"{pull.head_owner.login}:{ref}", "ref": ref, "sha": sha,
                    "repo": repository(pull.head_repo, pull.head_owner, bases),
                    "user": simple_user(pull.head_owner, bases)}
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
        "updated_at": pull.updated_at,
        "closed_at": pull.closed_at,
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": end(pull.head, pull.head_sha, fork=True),
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
        "comments": len(pull.comments),
        "review_comments": sum(len(r.comments) for r in pull.reviews),
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 0,
        "deletions": 0,
        "changed_files": 0,
    }


# Keys of `pull-request` that `pull-request-simple` (list items) does not carry.
_NOT_IN_SIMPLE = {
    "merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments",
    "review_comments", "maintainer_can_modify", "commits", "additions", "deletions",
    "changed_files",
}


def pull_request_simple(
    pull: PullRequest,
    repo: GitHubRepo,
    owner: GitHubUser | GitHubOrg,
    author: GitHubUser,
    bases: Bases,
) -> dict[str, Any]:
    """`pull-request-simple` (GET /pulls items)."""
    full = pull_request(pull, repo, owner, author, bases)
    return {key: value for key, value in full.items() if key not in _NOT_IN_SIMPLE}


def _association(login: str, repo: GitHubRepo) -> str:
    return "OWNER" if login == repo.owner else "MEMBER"


def pull_request_review(review: Review, pull: PullRequest, repo: GitHubRepo, author: GitHubUser,
                        bases: Bases) -> dict[str, Any]:
    """`pull-request-review` (POST /pulls/{n}/reviews)."""
    html = f"{bases.web}/{repo.full_name}/pull/{pull.number}"
    return {
        "id": review.id,
        "node_id": _node_id("PRR", review.id),
        "user": simple_user(author, bases),
        "body": review.body,
        "state": review.state,
        "html_url": f"{html}#pullrequestreview-{review.id}",
        "pull_request_url": f"{bases.api}/repos/{repo.full_name}/pulls/{pull.number}",
        "_links": {"html": {"href": f"{html}#pullrequestreview-{review.id}"},
                   "pull_request": {"href": f"{bases.api}/repos/{repo.full_name}/pulls/"
                                            f"{pull.number}"}},
        "submitted_at": review.submitted_at,
        "commit_id": review.commit_id,
        "author_association": _association(author.login, repo),
    }


def issue_comment(comment: IssueComment, pull: PullRequest, repo: GitHubRepo,
                  author: GitHubUser, bases: Bases) -> dict[str, Any]:
    """`issue-comment` (GET/POST /issues/{n}/comments)."""
    api = f"{bases.api}/repos/{repo.full_name}"
    return {
        "id": comment.id,
        "node_id": _node_id("IC", comment.id),
        "url": f"{api}/issues/comments/{comment.id}",
        "body": comment.body,
        "html_url": f"{bases.web}/{repo.full_name}/pull/{pull.number}#issuecomment-{comment.id}",
        "user": simple_user(author, bases),
        "created_at": comment.created_at,
        "updated_at": comment.created_at,
        "issue_url": f"{api}/issues/{pull.number}",
        "author_association": _association(author.login, repo),
        "performed_via_github_app": None,
    }


def commit(repo: GitHubRepo, details: CommitDetails, bases: Bases) -> dict[str, Any]:
    """`commit`; `author`/`committer` (the GitHub accounts) are `{}`, GitHub's answer for an
    email linked to no account (the OAS 3.0 validators refuse the `null` the schema allows)."""
    api = f"{bases.api}/repos/{repo.full_name}"
    html = f"{bases.web}/{repo.full_name}"

    def who(person: tuple[str, str, str]) -> dict[str, str]:
        return {"name": person[0], "email": person[1], "date": person[2]}

    return {
        "url": f"{api}/commits/{details.sha}",
        "sha": details.sha,
        "node_id": _node_id("C", int(details.sha[:7], 16)),
        "html_url": f"{html}/commit/{details.sha}",
        "comments_url": f"{api}/commits/{details.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{details.sha}",
            "author": who(details.author),
            "committer": who(details.committer),
            "message": details.message,
            "comment_count": 0,
            "tree": {"sha": details.tree, "url": f"{api}/git/trees/{details.tree}"},
            "verification": {"verified": False, "reason": "unsigned", "payload": None,
                             "signature": None, "verified_at": None},
        },
        "author": {},
        "committer": {},
        "parents": [{"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"}
                    for p in details.parents],
    }


def diff_entry(repo: GitHubRepo, change: FileChange, head_sha: str, patch: str,
               bases: Bases) -> dict[str, Any]:
    """`diff-entry` (the files of a comparison)."""
    api = f"{bases.api}/repos/{repo.full_name}"
    payload: dict[str, Any] = {
        "sha": change.sha,
        "filename": change.filename,
        "status": change.status,
        "additions": change.additions,
        "deletions": change.deletions,
        "changes": change.additions + change.deletions,
        "blob_url": f"{bases.web}/{repo.full_name}/blob/{head_sha}/{change.filename}",
        "raw_url": f"{bases.web}/{repo.full_name}/raw/{head_sha}/{change.filename}",
        "contents_url": f"{api}/contents/{change.filename}?ref={head_sha}",
        "patch": patch,
    }
    if change.previous_filename is not None:
        payload["previous_filename"] = change.previous_filename
    return payload


def commit_comparison(repo: GitHubRepo, basehead: str, *, status: str, ahead_by: int,
                      behind_by: int, base_commit: dict[str, Any],
                      merge_base_commit: dict[str, Any], commits: list[dict[str, Any]],
                      files: list[dict[str, Any]], bases: Bases) -> dict[str, Any]:
    """`commit-comparison` (GET /compare/{base}...{head})."""
    html = f"{bases.web}/{repo.full_name}/compare/{basehead}"
    return {
        "url": f"{bases.api}/repos/{repo.full_name}/compare/{basehead}",
        "html_url": html,
        "permalink_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "base_commit": base_commit,
        "merge_base_commit": merge_base_commit,
        "status": status,
        "ahead_by": ahead_by,
        "behind_by": behind_by,
        "total_commits": len(commits),
        "commits": commits,
        "files": files,
    }


def branch_with_protection(repo: GitHubRepo, name: str, commit_payload: dict[str, Any],
                           bases: Bases) -> dict[str, Any]:
    """`branch-with-protection` (GET /branches/{branch})."""
    api = f"{bases.api}/repos/{repo.full_name}"
    protected = name in repo.protected_branches
    return {
        "name": name,
        "commit": commit_payload,
        "_links": {"html": f"{bases.web}/{repo.full_name}/tree/{name}",
                   "self": f"{api}/branches/{name}"},
        "protected": protected,
        "protection": {"enabled": protected,
                       "required_status_checks": {"enforcement_level": "off", "contexts": [],
                                                  "checks": []}},
        "protection_url": f"{api}/branches/{name}/protection",
    }


def basic_error(message: str, status: int) -> dict[str, Any]:
    """`basic-error`: GitHub's body for 401/403/404 and friends."""
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": str(status),
    }


def validation_error_simple(message: str, errors: list[str]) -> dict[str, Any]:
    """`validation-error-simple` (422 of pulls/create-review): errors are sentences."""
    return {"message": message, "documentation_url": "https://docs.github.com/rest",
            "errors": errors}


def validation_error(message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`validation-error` (422)."""
    payload: dict[str, Any] = {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    }
    if errors:
        payload["errors"] = errors
    return payload
