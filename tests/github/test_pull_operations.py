"""The GitHub operations issue 15 needs, client (repos/github.py) against the stand-in: list and
update pulls, reviews with line comments, issue comments, compare, get a branch. The stand-in
judges every request and response by GitHub's published description (github_openapi_extra.json)."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

from repos.github.client import GitHubClient, GitHubInvalid, GitHubNotFound, ReviewLineComment
from tests.support import github_commits as commits
from tests.support import github_payloads as payloads
from tests.support.connected_github import push_commit, serve
from tests.support.github_openapi import merge_documents, schema_errors
from tests.support.github_payloads import Bases
from tests.support.github_state import IssueComment, PullRequest, Review

SOURCE = "".join(f"line {n}\n" for n in range(1, 11))


def _branch(bare, tmp_path, name: str, files: dict[str, str], message: str) -> str:
    """Push a new branch `name` off main that changes `files`; returns its commit."""
    work = tmp_path / f"work-{name}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "Octo",
           "GIT_AUTHOR_EMAIL": "octo@example.test", "GIT_COMMITTER_NAME": "Octo",
           "GIT_COMMITTER_EMAIL": "octo@example.test"}
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, env=env)
    for rel, text in files.items():
        (work / rel).write_text(text)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", message], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", f"HEAD:refs/heads/{name}"],
                   check=True, env=env)
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def served(gh, tmp_path):
    """octocat's `webapp` with branch `fix/greeting` (a.py line 3 changed, b.txt added), a pull
    request for it, and `rita` who may review (write access)."""
    state = gh.state
    state.add_user("octocat")
    state.add_user("rita")
    repo = serve(gh, tmp_path, "octocat", "webapp", {"a.py": SOURCE, "README.md": "# w\n"},
                 collaborators={"rita": "write"})
    head = _branch(repo.git_dir, tmp_path, "fix/greeting",
                   {"a.py": SOURCE.replace("line 3\n", "line three\n"), "b.txt": "new\n"},
                   "Fix the greeting")
    author = GitHubClient(state.issue_token("octocat"))
    pull = author.pull_create("octocat", "webapp", title="Fix the greeting", body="first",
                              head="fix/greeting", base="main")
    return {"repo": repo, "head": head, "pull": pull, "author": author,
            "reviewer": GitHubClient(state.issue_token("rita")), "tmp": tmp_path}


def test_list_pulls_finds_the_one_for_a_branch(gh, served):
    client = served["author"]
    found = client.pulls("octocat", "webapp", head="fix/greeting")
    assert [(p.number, p.head_sha, p.state) for p in found] == [
        (served["pull"].number, served["head"], "open")]
    assert client.pulls("octocat", "webapp", head="other") == []
    assert client.pulls("octocat", "webapp", state="closed") == []


def test_update_changes_only_what_is_given_and_can_close(gh, served):
    client, number = served["author"], served["pull"].number
    client.pull_update("octocat", "webapp", number, body="second body")
    stored = served["repo"].pulls[0]
    assert (stored.title, stored.body) == ("Fix the greeting", "second body")
    closed = client.pull_update("octocat", "webapp", number, state="closed")
    assert closed.state == "closed" and stored.closed_at is not None
    assert client.pulls("octocat", "webapp") == []
    assert [p.number for p in client.pulls("octocat", "webapp", state="closed")] == [number]


def test_update_by_someone_without_push_access_is_refused(gh, served):
    gh.state.add_user("mallory")
    gh.state.repos[("octocat", "webapp")].private = False
    outsider = GitHubClient(gh.state.issue_token("mallory"))
    with pytest.raises(Exception, match="refused this for your account"):
        outsider.pull_update("octocat", "webapp", served["pull"].number, title="hijacked")
    assert served["repo"].pulls[0].title == "Fix the greeting"


def test_review_with_line_comments_lands_on_the_pull(gh, served):
    review = served["reviewer"].review_create(
        "octocat", "webapp", served["pull"].number, body="Two notes.", event="COMMENT",
        comments=[ReviewLineComment("a.py", 3, "Why three in words?"),
                  ReviewLineComment("b.txt", 1, "New file: needed?")])
    assert review.state == "COMMENTED" and f"pullrequestreview-{review.id}" in review.html_url
    stored = served["repo"].pulls[0].reviews
    assert [(c.path, c.line, c.body) for c in stored[0].comments] == [
        ("a.py", 3, "Why three in words?"), ("b.txt", 1, "New file: needed?")]
    assert stored[0].commit_id == served["head"] and stored[0].author == "rita"


def test_review_comment_off_the_diff_is_refused_like_github(gh, served):
    reviewer = served["reviewer"]
    with pytest.raises(GitHubInvalid, match="Line could not be resolved"):
        reviewer.review_create("octocat", "webapp", served["pull"].number, body="x",
                               comments=[ReviewLineComment("a.py", 9, "far from the change")])
    with pytest.raises(GitHubInvalid, match="Path could not be resolved"):
        reviewer.review_create("octocat", "webapp", served["pull"].number, body="x",
                               comments=[ReviewLineComment("README.md", 1, "unchanged file")])
    with pytest.raises(GitHubInvalid, match="approve your own pull request"):
        served["author"].review_create("octocat", "webapp", served["pull"].number, body="",
                                       event="APPROVE")
    assert served["repo"].pulls[0].reviews == []


def test_issue_comments_are_created_and_listed_in_order(gh, served):
    author, number = served["author"], served["pull"].number
    first = author.issue_comment_create("octocat", "webapp", number, "Pushed a fix for review.")
    served["reviewer"].issue_comment_create("octocat", "webapp", number, "Thanks!")
    listed = author.issue_comments("octocat", "webapp", number)
    assert [(c.author, c.body) for c in listed] == [("octocat", "Pushed a fix for review."),
                                                     ("rita", "Thanks!")]
    assert listed[0].id == first.id and f"issuecomment-{first.id}" in first.html_url
    with pytest.raises(GitHubNotFound):
        author.issue_comments("octocat", "webapp", 99)


def test_compare_counts_and_files_then_sees_the_base_move(gh, served):
    client = served["author"]
    ahead = client.compare("octocat", "webapp", "main", "fix/greeting")
    assert (ahead.status, ahead.ahead_by, ahead.behind_by) == ("ahead", 1, 0)
    assert sorted(ahead.files) == ["a.py", "b.txt"]
    base_before = ahead.merge_base_sha
    push_commit(served["repo"].git_dir, served["tmp"], {"README.md": "# moved\n"})
    moved = client.compare("octocat", "webapp", "main", "fix/greeting")
    assert (moved.status, moved.ahead_by, moved.behind_by) == ("diverged", 1, 1)
    assert moved.merge_base_sha == base_before
    with pytest.raises(GitHubNotFound):
        client.compare("octocat", "webapp", "main", "no-such-branch")


def test_get_branch_with_a_slash_and_its_protection(gh, served):
    served["repo"].protected_branches.add("main")
    client = served["author"]
    topic = client.branch("octocat", "webapp", "fix/greeting")
    assert (topic.name, topic.sha, topic.protected) == ("fix/greeting", served["head"], False)
    assert client.branch("octocat", "webapp", "main").protected is True
    with pytest.raises(GitHubNotFound):
        client.branch("octocat", "webapp", "gone")


def test_a_comment_without_body_is_refused_by_the_description(gh, served):
    token = gh.state.issue_token("octocat")
    response = requests.post(
        f"{gh.api_url}/repos/octocat/webapp/issues/{served['pull'].number}/comments",
        json={"text": "wrong field"}, headers={"Authorization": f"token {token}"}, timeout=10)
    assert response.status_code == 422
    violations = gh.state.take_violations()
    assert len(violations) == 1 and "'body' is a required property" in violations[0]
    assert served["repo"].pulls[0].comments == []


def test_new_builders_match_their_schemas(gh, served):
    state, repo = gh.state, served["repo"]
    bases = Bases(api="http://127.0.0.1:1/api/v3", web="http://127.0.0.1:1")
    user, owner = state.users["rita"], state.owner_of(repo)
    pull = PullRequest(number=1, id=9, title="t", body=None, head="h", base="main",
                       head_sha="b" * 40, base_sha="a" * 40, author="rita")
    details = commits.commit_details(repo.git_dir, served["head"])
    change = commits.changed_files(repo.git_dir, "main", served["head"])[0]
    commit = payloads.commit(repo, details, bases)
    cases = {
        "pull-request-simple": payloads.pull_request_simple(pull, repo, owner, user, bases),
        "pull-request-review": payloads.pull_request_review(
            Review(id=3, author="rita", body="b", state="COMMENTED", commit_id="c" * 40),
            pull, repo, user, bases),
        "issue-comment": payloads.issue_comment(IssueComment(id=4, author="rita", body="b"),
                                                pull, repo, user, bases),
        "commit": commit,
        "diff-entry": payloads.diff_entry(repo, change, served["head"], "@@ -1 +1 @@", bases),
        "commit-comparison": payloads.commit_comparison(
            repo, "main...h", status="ahead", ahead_by=1, behind_by=0, base_commit=commit,
            merge_base_commit=commit, commits=[commit], files=[], bases=bases),
        "branch-with-protection": payloads.branch_with_protection(repo, "main", commit, bases),
        "validation-error-simple": payloads.validation_error_simple("x", ["Line could not"]),
    }
    for schema, payload in cases.items():
        assert schema_errors(payload, schema) == [], schema


def test_descriptions_that_disagree_are_not_merged_silently():
    base = {"paths": {"/a": {"get": {"operationId": "a"}}}, "components": {"schemas": {
        "x": {"type": "string"}}}}
    assert merge_documents(base, {"paths": {"/a": {"post": {"operationId": "b"}}}})[
        "paths"]["/a"].keys() == {"get", "post"}
    with pytest.raises(ValueError, match="components/schemas/x"):
        merge_documents(base, {"paths": {}, "components": {"schemas": {"x": {"type": "int"}}}})
    with pytest.raises(ValueError, match="GET /a"):
        merge_documents(base, {"paths": {"/a": {"get": {"operationId": "other"}}}})
    assert json.dumps(base).count("post") == 0  # the inputs are left as they were
