"""REST operations of the GitHub double: one function per operation, judged by the description.

Handlers run under `state.lock` with an `ApiContext`; they answer a `Reply` and never build HTTP
themselves. Visibility follows GitHub: a private repository the caller cannot see is a 404, not
a 403, so its existence does not leak.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from tests.support import github_commits as commits
from tests.support import github_payloads as payloads
from tests.support.github_payloads import Bases, basic_error, validation_error
from tests.support.github_state import (
    GitHubRepo,
    GitHubState,
    IssueComment,
    PullRequest,
    Review,
    ReviewComment,
)


@dataclass
class Reply:
    """What a handler answers; the dispatcher adds rate-limit headers, ETag and validation."""

    status: int
    body: Any = None  # JSON-serialisable, or None for no body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiContext:
    state: GitHubState
    request: Request
    bases: Bases
    path: str  # relative to the API root, e.g. /user/repos
    login: str | None  # the authenticated user, None when anonymous

    def query_int(self, name: str, default: int) -> int:
        try:
            return int(self.request.args.get(name, default))
        except ValueError:
            return default

    def paginate(self, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """The page of `items` the query asks for, and its Link header (GitHub's rel names)."""
        per_page = max(1, min(self.query_int("per_page", 30), self.state.page_cap))
        page = max(1, self.query_int("page", 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def url(number: int) -> str:
            args = dict(self.request.args.items())
            args.update({"per_page": str(per_page), "page": str(number)})
            return f"{self.bases.api}{self.path}?{urlencode(args)}"

        if page > 1:
            links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        return chunk, ({"Link": ", ".join(links)} if links else {})


def _needs_login(ctx: ApiContext) -> Reply | None:
    if ctx.login is None:
        return Reply(401, basic_error("Requires authentication", 401))
    return None


def _visible_repo(ctx: ApiContext, owner: str, name: str) -> tuple[GitHubRepo | None, Reply | None]:
    repo = ctx.state.repos.get((owner, name))
    if repo is None or ctx.state.role(ctx.login, repo) is None:
        return None, Reply(404, basic_error("Not Found", 404))
    return repo, None


def get_user(ctx: ApiContext) -> Reply:
    """GET /user — users/get-authenticated."""
    if (refused := _needs_login(ctx)) is not None:
        return refused
    user = ctx.state.users[ctx.login]
    private = sum(1 for r in ctx.state.repos.values() if r.owner == user.login and r.private)
    return Reply(200, payloads.private_user(user, ctx.bases, private_repos=private))


def get_user_emails(ctx: ApiContext) -> Reply:
    """GET /user/emails — not in the subset; shaped like GitHub's `email` schema."""
    if (refused := _needs_login(ctx)) is not None:
        return refused
    return Reply(200, list(ctx.state.users[ctx.login].emails))


def _affiliation(ctx: ApiContext, repo: GitHubRepo) -> str | None:
    login = ctx.login
    if repo.owner == login:
        return "owner"
    if login in repo.collaborators:
        return "collaborator"
    org = ctx.state.orgs.get(repo.owner)
    if org is not None and login in org.members:
        return "organization_member"
    return None


SORT_KEYS = {
    "full_name": lambda r: r.full_name.lower(),
    "created": lambda r: r.id,
    "updated": lambda r: r.pushed_at,
    "pushed": lambda r: r.pushed_at,
}


def _flags_role(ctx: ApiContext, repo: GitHubRepo) -> str | None:
    """The role whose `permissions` flags a repository payload carries: None (no flags) for an
    anonymous caller, or when the double plays a server that leaves that optional field out
    (`state.repo_permissions = False`)."""
    if ctx.login is None or not ctx.state.repo_permissions:
        return None
    return ctx.state.role(ctx.login, repo)


def list_user_repos(ctx: ApiContext) -> Reply:
    """GET /user/repos — repos/list-for-authenticated-user."""
    if (refused := _needs_login(ctx)) is not None:
        return refused
    args = ctx.request.args
    if "type" in args and ("visibility" in args or "affiliation" in args):
        return Reply(422, validation_error(
            "If you specify visibility or affiliation, you cannot specify type."))
    affiliations = set(args.get("affiliation", "owner,collaborator,organization_member").split(","))
    visibility = args.get("visibility", "all")
    kind = args.get("type")
    if kind == "owner":
        affiliations = {"owner"}
    elif kind == "member":
        affiliations = {"collaborator", "organization_member"}
    elif kind in {"public", "private"}:
        visibility = kind
    chosen = []
    for repo in ctx.state.repos.values():
        how = _affiliation(ctx, repo)
        if how is None or how not in affiliations:
            continue
        if visibility != "all" and repo.visibility != visibility:
            continue
        chosen.append(repo)
    sort = args.get("sort", "full_name")
    descending = args.get("direction", "asc" if sort == "full_name" else "desc") == "desc"
    chosen.sort(key=SORT_KEYS[sort], reverse=descending)
    page, headers = ctx.paginate(chosen)
    body = [
        payloads.repository(r, ctx.state.owner_of(r), ctx.bases, role=_flags_role(ctx, r))
        for r in page
    ]
    return Reply(200, body, headers)


def list_user_orgs(ctx: ApiContext) -> Reply:
    """GET /user/orgs — orgs/list-for-authenticated-user."""
    if (refused := _needs_login(ctx)) is not None:
        return refused
    orgs = [o for o in ctx.state.orgs.values() if ctx.login in o.members]
    page, headers = ctx.paginate(sorted(orgs, key=lambda o: o.id))
    return Reply(200, [payloads.organization_simple(o, ctx.bases) for o in page], headers)


def list_installations(ctx: ApiContext) -> Reply:
    """GET /user/installations — an OAuth app user sees no GitHub App installations here."""
    if (refused := _needs_login(ctx)) is not None:
        return refused
    return Reply(200, {"total_count": 0, "installations": []})


def list_org_repos(ctx: ApiContext, org: str) -> Reply:
    """GET /orgs/{org}/repos — repos/list-for-org (private ones only for members)."""
    found = ctx.state.orgs.get(org)
    if found is None:
        return Reply(404, basic_error("Not Found", 404))
    repos = [r for r in ctx.state.repos.values()
             if r.owner == org and ctx.state.role(ctx.login, r) is not None]
    kind = ctx.request.args.get("type", "all")
    if kind in {"public", "private"}:
        repos = [r for r in repos if r.visibility == kind]
    repos.sort(key=lambda r: r.id)
    page, headers = ctx.paginate(repos)
    body = [payloads.minimal_repository(r, found, ctx.bases, role=_flags_role(ctx, r))
            for r in page]
    return Reply(200, body, headers)


def get_repo(ctx: ApiContext, owner: str, repo: str) -> Reply:
    """GET /repos/{owner}/{repo} — repos/get."""
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    return Reply(200, payloads.full_repository(found, ctx.state.owner_of(found), ctx.bases,
                                               role=_flags_role(ctx, found)))


def get_repo_by_id(ctx: ApiContext, repo_id: int) -> Reply:
    """GET /repositories/{id}: where GitHub's 301 for a renamed repository points."""
    found = next((r for r in ctx.state.repos.values() if r.id == repo_id), None)
    if found is None:
        return Reply(404, basic_error("Not Found", 404))
    return get_repo(ctx, found.owner, found.name)


def list_branches(ctx: ApiContext, owner: str, repo: str) -> Reply:
    """GET /repos/{owner}/{repo}/branches — repos/list-branches."""
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    branches = sorted(ctx.state.branches_of(found).items())
    if ctx.request.args.get("protected") == "true":
        branches = [b for b in branches if b[0] in found.protected_branches]
    page, headers = ctx.paginate(branches)
    return Reply(200, [payloads.short_branch(found, n, sha, ctx.bases) for n, sha in page], headers)


def get_permission(ctx: ApiContext, owner: str, repo: str, username: str) -> Reply:
    """GET /repos/{owner}/{repo}/collaborators/{username}/permission."""
    if (refused := _needs_login(ctx)) is not None:
        return refused
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    user = ctx.state.users.get(username)
    if user is None:
        return Reply(404, basic_error("Not Found", 404))
    role = ctx.state.role(username, found)
    return Reply(200, {
        "permission": payloads.ROLE_TO_PERMISSION.get(role or "", "none"),
        "role_name": role or "none",
        "user": payloads.collaborator(user, role, ctx.bases),
    })


def _commits_between(repo: GitHubRepo, base_sha: str, head_sha: str) -> int:
    if repo.git_dir is None:
        return 0 if base_sha == head_sha else 1
    out = subprocess.run(
        ["git", "-C", str(repo.git_dir), "rev-list", "--count", f"{base_sha}..{head_sha}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return int(out.strip() or 0)


def create_pull(ctx: ApiContext, owner: str, repo: str) -> Reply:
    """POST /repos/{owner}/{repo}/pulls — pulls/create (same-repository branches only)."""
    if (refused := _needs_login(ctx)) is not None:
        return refused
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    if payloads.permissions_object(ctx.state.role(ctx.login, found))["push"] is False:
        return Reply(403, basic_error("Resource not accessible by integration", 403))
    data = ctx.request.get_json(silent=True) or {}
    head = str(data["head"]).split(":", 1)[-1]
    base = str(data["base"])
    branches = ctx.state.branches_of(found)
    errors = []
    if head not in branches:
        errors.append({"resource": "PullRequest", "field": "head", "code": "invalid"})
    if base not in branches:
        errors.append({"resource": "PullRequest", "field": "base", "code": "invalid"})
    if not data.get("title") and not data.get("issue"):
        errors.append({"resource": "PullRequest", "field": "title", "code": "missing_field"})
    if errors:
        return Reply(422, validation_error("Validation Failed", errors))
    for pull in found.pulls:
        if pull.state == "open" and pull.head == head and pull.base == base:
            return Reply(422, validation_error("Validation Failed", [{
                "resource": "PullRequest", "code": "custom",
                "message": f"A pull request already exists for {owner}:{head}.",
            }]))
    if _commits_between(found, branches[base], branches[head]) == 0:
        return Reply(422, validation_error("Validation Failed", [{
            "resource": "PullRequest", "code": "custom",
            "message": f"No commits between {base} and {head}",
        }]))
    pull = PullRequest(
        number=len(found.pulls) + 1, id=ctx.state.next_id(), title=str(data.get("title", "")),
        body=data.get("body"), head=head, base=base, head_sha=branches[head],
        base_sha=branches[base], author=ctx.login or "", draft=bool(data.get("draft", False)),
    )
    found.pulls.append(pull)
    body = payloads.pull_request(pull, found, ctx.state.owner_of(found),
                                 ctx.state.users[pull.author], ctx.bases)
    return Reply(201, body, {"Location": body["url"]})


def get_pull(ctx: ApiContext, owner: str, repo: str, number: int) -> Reply:
    """GET /repos/{owner}/{repo}/pulls/{pull_number} — pulls/get."""
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    pull = next((p for p in found.pulls if p.number == number), None)
    if pull is None:
        return Reply(404, basic_error("Not Found", 404))
    return Reply(200, payloads.pull_request(pull, found, ctx.state.owner_of(found),
                                            ctx.state.users[pull.author], ctx.bases))


# -- operations issue 15 added ------------------------------------------------------------------

def _now() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pull_or_404(ctx: ApiContext, owner: str, repo: str, number: int, *, login: bool = False
                 ) -> tuple[GitHubRepo | None, PullRequest | None, Reply | None]:
    """The repository and pull request, or the refusal (`login`: 401 when anonymous first)."""
    if login and (refused := _needs_login(ctx)) is not None:
        return None, None, refused
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return None, None, refused
    assert found is not None
    pull = next((p for p in found.pulls if p.number == number), None)
    if pull is None:
        return found, None, Reply(404, basic_error("Not Found", 404))
    return found, pull, None


def _can_push(ctx: ApiContext, repo: GitHubRepo) -> bool:
    return payloads.permissions_object(ctx.state.role(ctx.login, repo))["push"]


def list_pulls(ctx: ApiContext, owner: str, repo: str) -> Reply:
    """GET /repos/{owner}/{repo}/pulls — pulls/list (state, head `owner:branch`, base)."""
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    args = ctx.request.args
    state = args.get("state", "open")
    chosen = [p for p in found.pulls if state == "all" or p.state == state]
    if "head" in args:
        head_owner, _, head_branch = args["head"].rpartition(":")
        if head_owner and head_owner != found.owner:
            chosen = []  # the double has no forks
        chosen = [p for p in chosen if p.head == head_branch]
    if "base" in args:
        chosen = [p for p in chosen if p.base == args["base"]]
    descending = args.get("direction", "desc") == "desc"
    chosen.sort(key=lambda p: p.number, reverse=descending)
    page, headers = ctx.paginate(chosen)
    owner_obj = ctx.state.owner_of(found)
    return Reply(200, [payloads.pull_request_simple(p, found, owner_obj, ctx.state.users[p.author],
                                                    ctx.bases) for p in page], headers)


def update_pull(ctx: ApiContext, owner: str, repo: str, number: int) -> Reply:
    """PATCH /repos/{owner}/{repo}/pulls/{pull_number} — pulls/update (author or push access)."""
    found, pull, refused = _pull_or_404(ctx, owner, repo, number, login=True)
    if refused is not None:
        return refused
    assert found is not None and pull is not None
    if pull.author != ctx.login and not _can_push(ctx, found):
        return Reply(403, basic_error("Resource not accessible by integration", 403))
    data = ctx.request.get_json(silent=True) or {}
    if "base" in data and data["base"] not in ctx.state.branches_of(found):
        return Reply(422, validation_error("Validation Failed", [
            {"resource": "PullRequest", "field": "base", "code": "invalid"}]))
    if "title" in data:
        pull.title = str(data["title"])
    if "body" in data:
        pull.body = data["body"]
    if "base" in data:
        pull.base = str(data["base"])
    if data.get("state") in {"open", "closed"} and data["state"] != pull.state:
        pull.state = data["state"]
        pull.closed_at = _now() if pull.state == "closed" else None
    pull.updated_at = _now()
    return Reply(200, payloads.pull_request(pull, found, ctx.state.owner_of(found),
                                            ctx.state.users[pull.author], ctx.bases))


REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
                 "COMMENT": "COMMENTED"}


def create_review(ctx: ApiContext, owner: str, repo: str, number: int) -> Reply:
    """POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews — pulls/create-review.

    Like GitHub: a line comment must name a file the pull request changes and a line that the
    diff shows on that side; REQUEST_CHANGES and COMMENT need a body; the author cannot approve
    or request changes on their own pull request.
    """
    found, pull, refused = _pull_or_404(ctx, owner, repo, number, login=True)
    if refused is not None:
        return refused
    assert found is not None and pull is not None
    data = ctx.request.get_json(silent=True) or {}
    event = data.get("event")
    body = str(data.get("body", ""))
    problems: list[str] = []
    if event in {"REQUEST_CHANGES", "COMMENT"} and not body and not data.get("comments"):
        problems.append(f"Body is required when using {event}.")
    if event in {"APPROVE", "REQUEST_CHANGES"} and pull.author == ctx.login:
        verb = "approve" if event == "APPROVE" else "request changes on"
        problems.append(f"Can not {verb} your own pull request")
    lines = _diff_lines(ctx.state, found, pull)
    comments = []
    for item in data.get("comments", []):
        comment = ReviewComment(path=str(item["path"]), body=str(item["body"]),
                                line=item.get("line"), side=str(item.get("side", "RIGHT")),
                                position=item.get("position"))
        if lines is not None and comment.path not in lines:
            problems.append("Path could not be resolved")
        elif lines is not None and comment.line is not None and \
                comment.line not in lines[comment.path][comment.side]:
            problems.append("Line could not be resolved")
        comments.append(comment)
    if problems:
        return Reply(422, payloads.validation_error_simple("Unprocessable Entity", problems))
    review = Review(id=ctx.state.next_id(), author=ctx.login or "", body=body,
                    state=REVIEW_STATES.get(str(event), "PENDING"),
                    commit_id=str(data.get("commit_id") or _head_sha(ctx.state, found, pull)),
                    comments=comments, submitted_at=_now())
    pull.reviews.append(review)
    return Reply(200, payloads.pull_request_review(review, pull, found,
                                                   ctx.state.users[review.author], ctx.bases))


def _head_sha(state: GitHubState, repo: GitHubRepo, pull: PullRequest) -> str:
    """The pull's head as its branch is now (pushes after opening move it)."""
    return state.branches_of(repo).get(pull.head, pull.head_sha)


def _diff_lines(state: GitHubState, repo: GitHubRepo,
                pull: PullRequest) -> dict[str, dict[str, set[int]]] | None:
    """Per changed file, the line numbers a review comment may use on each side (LEFT, RIGHT).

    None when the repository has no git directory (every comment is then accepted).
    """
    if repo.git_dir is None:
        return None
    head = _head_sha(state, repo, pull)
    base = commits.merge_base(repo.git_dir, pull.base_sha, head) or pull.base_sha
    out = subprocess.run(["git", "-C", str(repo.git_dir), "diff", "-U3", base, head],
                         capture_output=True, text=True, check=True).stdout
    lines: dict[str, dict[str, set[int]]] = {}
    current: dict[str, set[int]] | None = None
    old = new = 0
    for line in out.splitlines():
        if line.startswith("+++ "):
            path = line[4:].removeprefix("b/")
            current = lines.setdefault(path, {"LEFT": set(), "RIGHT": set()}) \
                if path != "/dev/null" else None
        elif line.startswith("--- "):
            if line[4:] == "/dev/null":
                continue
        elif line.startswith("@@"):
            header = line.split("@@")[1].split()
            old = int(header[0][1:].split(",")[0])
            new = int(header[1][1:].split(",")[0])
        elif current is not None and line[:1] in {" ", "+", "-"}:
            if line[0] in " -":
                current["LEFT"].add(old)
                old += 1
            if line[0] in " +":
                current["RIGHT"].add(new)
                new += 1
    return lines


def list_issue_comments(ctx: ApiContext, owner: str, repo: str, number: int) -> Reply:
    """GET /repos/{owner}/{repo}/issues/{issue_number}/comments — issues/list-comments.

    The double has pull requests and no plain issues: a number that is not a pull is 404.
    """
    found, pull, refused = _pull_or_404(ctx, owner, repo, number)
    if refused is not None:
        return refused
    assert found is not None and pull is not None
    page, headers = ctx.paginate(sorted(pull.comments, key=lambda c: c.id))
    return Reply(200, [payloads.issue_comment(c, pull, found, ctx.state.users[c.author],
                                              ctx.bases) for c in page], headers)


def create_issue_comment(ctx: ApiContext, owner: str, repo: str, number: int) -> Reply:
    """POST /repos/{owner}/{repo}/issues/{issue_number}/comments — issues/create-comment."""
    found, pull, refused = _pull_or_404(ctx, owner, repo, number, login=True)
    if refused is not None:
        return refused
    assert found is not None and pull is not None
    data = ctx.request.get_json(silent=True) or {}
    comment = IssueComment(id=ctx.state.next_id(), author=ctx.login or "",
                           body=str(data["body"]), created_at=_now())
    pull.comments.append(comment)
    body = payloads.issue_comment(comment, pull, found, ctx.state.users[comment.author],
                                  ctx.bases)
    return Reply(201, body, {"Location": body["url"]})


def compare(ctx: ApiContext, owner: str, repo: str, basehead: str) -> Reply:
    """GET /repos/{owner}/{repo}/compare/{base}...{head} — repos/compare-commits-with-basehead.

    Needs a served git repository; like GitHub, an unknown ref is a 404.
    """
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    base_ref, sep, head_ref = basehead.partition("...")
    git_dir = found.git_dir
    base = commits.resolve(git_dir, base_ref) if git_dir is not None and sep else None
    head = commits.resolve(git_dir, head_ref) if git_dir is not None and sep else None
    if git_dir is None or base is None or head is None:
        return Reply(404, basic_error("Not Found", 404))
    fork_point = commits.merge_base(git_dir, base, head) or base
    ahead = commits.commits_between(git_dir, base, head)
    behind = commits.commits_between(git_dir, head, base)
    status = ("identical" if not ahead and not behind else "ahead" if not behind
              else "behind" if not ahead else "diverged")
    page, headers = ctx.paginate(ahead)
    files = [payloads.diff_entry(found, change, head,
                                 commits.file_patch(git_dir, fork_point, head, change.filename),
                                 ctx.bases)
             for change in commits.changed_files(git_dir, fork_point, head)]
    return Reply(200, payloads.commit_comparison(
        found, basehead, status=status, ahead_by=len(ahead), behind_by=len(behind),
        base_commit=payloads.commit(found, commits.commit_details(git_dir, base), ctx.bases),
        merge_base_commit=payloads.commit(found, commits.commit_details(git_dir, fork_point),
                                          ctx.bases),
        commits=[payloads.commit(found, commits.commit_details(git_dir, sha), ctx.bases)
                 for sha in page],
        files=files, bases=ctx.bases,
    ), headers)


def get_branch(ctx: ApiContext, owner: str, repo: str, branch: str) -> Reply:
    """GET /repos/{owner}/{repo}/branches/{branch} — repos/get-branch."""
    found, refused = _visible_repo(ctx, owner, repo)
    if refused is not None:
        return refused
    assert found is not None
    sha = ctx.state.branches_of(found).get(branch)
    if sha is None:
        return Reply(404, basic_error("Branch not found", 404))
    if found.git_dir is not None:
        details = commits.commit_details(found.git_dir, sha)
    else:  # a repository without history: a root commit that says so
        details = commits.CommitDetails(
            sha=sha, tree="0" * 40, parents=[], message="(no history served)",
            author=("Nobody", "nobody@example.test", payloads.CREATED_AT),
            committer=("Nobody", "nobody@example.test", payloads.CREATED_AT))
    return Reply(200, payloads.branch_with_protection(
        found, branch, payloads.commit(found, details, ctx.bases), ctx.bases))
