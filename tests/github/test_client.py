"""repos/github/client.py against the GitHub double, in both URL layouts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from repos.github.client import (
    GitHubAuthError,
    GitHubClient,
    GitHubError,
    GitHubForbidden,
    GitHubInvalid,
    GitHubNotFound,
    GitHubRateLimited,
)
from tests.support.connected_github import PROVIDER

LAYOUTS = ["github", "ghes"]


@pytest.fixture
def octo(gh):
    state = gh.state
    state.add_user("octocat")
    state.add_org("acme", members={"octocat": "read"})
    state.add_repo("acme", "webapp", branches={f"b{n:03d}": f"{n:040x}" for n in range(230)})
    state.add_repo("octocat", "dotfiles", branches={"main": "1" * 40, "topic": "2" * 40})
    return state.issue_token("octocat")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reads_through_the_layouts_api(gh, octo, layout):
    client = GitHubClient(octo, provider=PROVIDER[layout])

    assert client.user()["login"] == "octocat"
    repo = client.repository("acme", "webapp")
    assert (repo.full_name, repo.can_push, repo.can_admin) == ("acme/webapp", False, False)
    assert client.permission("acme", "webapp", "octocat") == "read"
    host = "api" if layout == "github" else "ghes"
    assert {r.host for r in gh.state.requests} == {host}


def test_branches_follow_every_page(gh, octo):
    names = GitHubClient(octo).branches("acme", "webapp")

    assert len(names) == 230
    pages = [r for r in gh.state.requests if r.path.endswith("/branches")]
    assert len(pages) == 3


def test_a_server_with_smaller_pages_is_followed_to_the_end(gh, octo):
    """per_page=100 is a wish: a server may cap pages lower and says so in its Link header."""
    gh.state.page_cap = 7
    for n in range(20):
        gh.state.add_org(f"org{n:02d}", members={"octocat": "read"})

    logins = GitHubClient(octo).organizations()

    assert sorted(logins) == sorted(["acme", *(f"org{n:02d}" for n in range(20))])
    assert len([r for r in gh.state.requests if r.path == "/user/orgs"]) == 3
    assert GitHubClient(octo).pulls("octocat", "dotfiles") == []  # one empty page, no Link


def test_a_next_link_that_does_not_move_on_ends_the_listing(gh, octo, monkeypatch):
    """A server whose rel="next" names the page just read (or none) cannot hold a worker in a
    loop of 300 requests."""
    from tests.support.github_rest import ApiContext

    paginate = ApiContext.paginate

    def stuck(self, items):
        chunk, headers = paginate(self, items)
        if "Link" in headers:
            headers = {"Link": headers["Link"].replace("page=2", "page=1")}
        return chunk, headers

    monkeypatch.setattr(ApiContext, "paginate", stuck)

    assert len(GitHubClient(octo).branches("acme", "webapp")) == 100
    assert len([r for r in gh.state.requests if r.path.endswith("/branches")]) == 1


def test_conditional_page_is_not_modified(gh, octo):
    client = GitHubClient(octo)
    first = client.repositories_page(1)
    assert [r.full_name for r in first.repos] == ["acme/webapp", "octocat/dotfiles"]

    again = client.repositories_page(1, etag=first.etag)

    assert again.repos is None
    assert gh.state.requests[-1].headers["If-None-Match"] == first.etag


def test_revoked_token_asks_to_sign_in_again(gh, octo):
    gh.state.revoke_tokens("octocat")
    with pytest.raises(GitHubAuthError, match="Sign in again with GitHub"):
        GitHubClient(octo).user()
    with pytest.raises(GitHubAuthError, match="Sign in again with GitHub Enterprise"):
        GitHubClient(octo, provider=PROVIDER["ghes"]).user()


def test_primary_rate_limit_says_when(gh, octo):
    gh.state.rate_limit.remaining = 0
    expected = r"rate limit is used up; try again after \d\d:\d\d UTC"
    with pytest.raises(GitHubRateLimited, match=expected):
        GitHubClient(octo).repositories_page(1)


def test_secondary_rate_limit_is_not_retried_inside_the_call(gh, octo):
    gh.state.rate_limit.secondary_hits = 1
    with pytest.raises(GitHubRateLimited, match="asked us to slow down"):
        GitHubClient(octo).user()
    assert len(gh.state.requests) == 1


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_without_retry_after_is_not_a_refusal(gh, octo, status):
    """GitHub may answer a secondary limit with only its message (no Retry-After, the primary
    limit not used up): that is "slow down", never "GitHub refused this for your account"."""
    gh.state.rate_limit.secondary_hits = 1
    gh.state.rate_limit.retry_after = None
    gh.state.rate_limit.secondary_status = status
    with pytest.raises(GitHubRateLimited, match=r"asked us to slow down; try again after") as err:
        GitHubClient(octo).repository("acme", "webapp")
    assert err.value.retry_at > datetime.now(tz=UTC) + timedelta(seconds=50)


def test_retry_after_given_as_a_date(gh, octo):
    """RFC 9110 lets Retry-After be an HTTP date; githubkit reads only seconds (a ValueError,
    a raw 500, before)."""
    when = datetime.now(tz=UTC).replace(microsecond=0) + timedelta(minutes=5)
    gh.state.rate_limit.secondary_hits = 1
    gh.state.rate_limit.retry_after = format_datetime(when, usegmt=True)
    with pytest.raises(GitHubRateLimited, match="asked us to slow down") as err:
        GitHubClient(octo).user()
    assert abs((err.value.retry_at - when).total_seconds()) < 5


def test_an_answer_that_breaks_the_description_is_a_sentence(settings):
    """A GitHub whose /user lacks required fields: a GitHubError a person can read, not a
    pydantic traceback on a 500 page."""
    app = Response('{"login": null}', status=200, content_type="application/json")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.GITHUB_API_URL = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(GitHubError, match="GitHub sent an answer this app cannot read"):
            GitHubClient("gho_x").user()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_invisible_repository_is_not_found(gh, octo):
    gh.state.add_user("mallory")
    gh.state.add_repo("mallory", "secret")
    with pytest.raises(GitHubNotFound):
        GitHubClient(octo).repository("mallory", "secret")


def test_pull_request_needs_push_access(gh, octo):
    with pytest.raises(GitHubForbidden):
        GitHubClient(octo).pull_create("acme", "webapp", title="t", body="b", head="b001",
                                       base="b000")


def test_pull_request_refusals_are_explained(gh, octo):
    client = GitHubClient(octo)
    with pytest.raises(GitHubInvalid, match="head invalid"):
        client.pull_create("octocat", "dotfiles", title="t", body="b", head="nope", base="main")
    created = client.pull_create("octocat", "dotfiles", title="t", body="b", head="topic",
                                 base="main", draft=True)
    assert created.draft and created.state == "open"
    assert client.pull("octocat", "dotfiles", created.number).head_sha == "2" * 40
    with pytest.raises(GitHubInvalid, match="already exists"):
        client.pull_create("octocat", "dotfiles", title="t", body="b", head="topic", base="main")
