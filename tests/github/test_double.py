"""The GitHub double itself: it speaks GitHub's REST description and refuses what GitHub refuses."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support import github_payloads as payloads
from tests.support.github_openapi import schema_errors
from tests.support.github_payloads import Bases
from tests.support.github_state import PullRequest

BASES = Bases(api="http://127.0.0.1:1/api/v3", web="http://127.0.0.1:1")


def _session(token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.headers["Accept"] = "application/vnd.github+json"
    if token:
        session.headers["Authorization"] = f"token {token}"
    return session


@pytest.fixture
def octo(github_double):
    state = github_double.state
    user = state.add_user("octocat", name="The Octocat")
    state.add_org("acme", members={"octocat": "write"})
    state.add_repo("acme", "webapp", branches={"main": "a" * 40, "feature": "b" * 40})
    state.add_repo("octocat", "dotfiles", private=False)
    return user, state.issue_token("octocat")


class TestPayloadBuilders:
    def test_every_builder_matches_its_schema(self, github_double):
        state = github_double.state
        user = state.add_user("octocat")
        org = state.add_org("acme", members={"octocat": "admin"})
        repo = state.add_repo("acme", "webapp")
        pull = PullRequest(number=1, id=9, title="t", body=None, head="h", base="main",
                           head_sha="b" * 40, base_sha="a" * 40, author="octocat")
        cases = {
            "simple-user": payloads.simple_user(user, BASES),
            "private-user": payloads.private_user(user, BASES),
            "organization-simple": payloads.organization_simple(org, BASES),
            "minimal-repository": payloads.minimal_repository(repo, org, BASES, role="write"),
            "repository": payloads.repository(repo, org, BASES, role="read"),
            "full-repository": payloads.full_repository(repo, org, BASES, role="admin"),
            "short-branch": payloads.short_branch(repo, "main", "a" * 40, BASES),
            "pull-request": payloads.pull_request(pull, repo, org, user, BASES),
            "nullable-collaborator": payloads.collaborator(user, "write", BASES),
            "basic-error": payloads.basic_error("Not Found", 404),
            "validation-error": payloads.validation_error("Validation Failed", [{"code": "x"}]),
        }
        for schema, payload in cases.items():
            assert schema_errors(payload, schema) == [], schema

    def test_schema_check_catches_a_broken_payload(self, github_double):
        user = github_double.state.add_user("octocat")
        broken = payloads.simple_user(user, BASES)
        del broken["login"]
        assert any("login" in e for e in schema_errors(broken, "simple-user"))


class TestRequestValidation:
    def test_pull_without_head_and_base_is_refused_and_recorded(self, github_double, octo):
        _, token = octo
        response = _session(token).post(f"{github_double.api_url}/repos/acme/webapp/pulls",
                                        json={"title": "Only a title"})
        assert response.status_code == 422
        violations = github_double.state.take_violations()
        assert len(violations) == 1
        assert "InvalidRequestBody" in violations[0]
        assert "'head' is a required property" in violations[0]
        assert github_double.state.repos[("acme", "webapp")].pulls == []

    def test_wrong_query_type_is_refused(self, github_double, octo):
        _, token = octo
        response = _session(token).get(f"{github_double.api_url}/user/repos",
                                       params={"per_page": "many"})
        assert response.status_code == 422
        assert github_double.state.take_violations()

    def test_valid_pull_request_is_created(self, github_double, octo):
        _, token = octo
        response = _session(token).post(
            f"{github_double.api_url}/repos/acme/webapp/pulls",
            json={"title": "Add feature", "head": "feature", "base": "main", "draft": True},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["number"] == 1 and body["draft"] is True
        assert body["html_url"] == f"{github_double.web_url}/acme/webapp/pull/1"
        again = _session(token).post(
            f"{github_double.api_url}/repos/acme/webapp/pulls",
            json={"title": "Add feature", "head": "feature", "base": "main"},
        )
        assert again.status_code == 422
        assert "already exists" in again.text


class TestAuth:
    def test_bad_token_is_401(self, github_double, octo):
        response = _session("gho_nope").get(f"{github_double.api_url}/user")
        assert response.status_code == 401
        assert response.json()["message"] == "Bad credentials"

    def test_bearer_and_token_schemes_both_work(self, github_double, octo):
        _, token = octo
        for header in (f"token {token}", f"Bearer {token}"):
            response = requests.get(f"{github_double.api_url}/user",
                                    headers={"Authorization": header}, timeout=10)
            assert response.status_code == 200
            assert response.json()["login"] == "octocat"

    def test_private_repository_of_others_is_404(self, github_double, octo):
        state = github_double.state
        state.add_user("mallory")
        state.add_repo("mallory", "secret")
        _, token = octo
        response = _session(token).get(f"{github_double.api_url}/repos/mallory/secret")
        assert response.status_code == 404

    def test_permission_levels(self, github_double, octo):
        _, token = octo
        response = _session(token).get(
            f"{github_double.api_url}/repos/acme/webapp/collaborators/octocat/permission")
        assert response.json()["permission"] == "write"


class TestLayouts:
    def test_ghes_serves_the_api_under_api_v3(self, github_double, octo):
        _, token = octo
        response = _session(token).get(f"{github_double.ghes_api_url}/repos/acme/webapp")
        assert response.status_code == 200
        body = response.json()
        assert body["url"] == f"{github_double.ghes_api_url}/repos/acme/webapp"
        assert body["clone_url"] == f"{github_double.ghes_url}/acme/webapp.git"
        assert body["permissions"]["push"] is True

    def test_github_layout_serves_the_api_at_its_own_root(self, github_double, octo):
        _, token = octo
        body = _session(token).get(f"{github_double.api_url}/repos/acme/webapp").json()
        assert body["url"] == f"{github_double.api_url}/repos/acme/webapp"
        assert body["clone_url"] == f"{github_double.web_url}/acme/webapp.git"


class TestPaginationAndLimits:
    def test_link_headers_walk_over_a_thousand_repositories(self, github_double, octo):
        state = github_double.state
        for n in range(1050):
            state.add_repo("acme", f"repo-{n:04d}")
        _, token = octo
        session = _session(token)
        url: str | None = f"{github_double.api_url}/user/repos?per_page=100"
        names, pages = [], 0
        while url and pages < 20:
            response = session.get(url)
            assert response.status_code == 200
            names += [r["full_name"] for r in response.json()]
            url = response.links.get("next", {}).get("url")
            pages += 1
        assert pages == 11
        assert len(names) == len(set(names)) == 1052  # + webapp and dotfiles

    def test_conditional_request_gets_304_and_costs_nothing(self, github_double, octo):
        _, token = octo
        session = _session(token)
        first = session.get(f"{github_double.api_url}/repos/acme/webapp")
        remaining = int(first.headers["X-RateLimit-Remaining"])
        second = session.get(f"{github_double.api_url}/repos/acme/webapp",
                             headers={"If-None-Match": first.headers["ETag"]})
        assert second.status_code == 304
        assert int(second.headers["X-RateLimit-Remaining"]) == remaining

    def test_primary_rate_limit(self, github_double, octo):
        _, token = octo
        github_double.state.rate_limit.remaining = 0
        response = _session(token).get(f"{github_double.api_url}/user/repos")
        assert response.status_code == 403
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert "rate limit exceeded" in response.json()["message"]

    def test_secondary_rate_limit_says_when_to_retry(self, github_double, octo):
        _, token = octo
        github_double.state.rate_limit.secondary_hits = 1
        first = _session(token).get(f"{github_double.api_url}/user")
        assert first.status_code == 429 and first.headers["Retry-After"] == "60"
        assert _session(token).get(f"{github_double.api_url}/user").status_code == 200


class TestOAuth:
    def _authorize(self, double, base: str, client_id: str) -> requests.Response:
        return requests.get(
            f"{base}/login/oauth/authorize",
            params={"client_id": client_id, "redirect_uri": "http://app.test/cb",
                    "state": "s1", "scope": "repo,user:email"},
            allow_redirects=False, timeout=10,
        )

    @pytest.mark.parametrize("layout", ["github", "ghes"])
    def test_code_for_token_in_both_layouts(self, github_double, octo, layout):
        base = github_double.web_url if layout == "github" else github_double.ghes_url
        github_double.state.add_app("cid", "csecret")
        response = self._authorize(github_double, base, "cid")
        assert response.status_code == 302
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["state"] == ["s1"]
        exchange = requests.post(
            f"{base}/login/oauth/access_token",
            data={"client_id": "cid", "client_secret": "csecret", "code": query["code"][0]},
            headers={"Accept": "application/json"}, timeout=10,
        )
        token = exchange.json()["access_token"]
        assert github_double.state.tokens[token].login == "octocat"
        reused = requests.post(
            f"{base}/login/oauth/access_token",
            data={"client_id": "cid", "client_secret": "csecret", "code": query["code"][0]},
            timeout=10,
        )
        assert parse_qs(reused.text)["error"] == ["bad_verification_code"]

    def test_refused_consent_redirects_with_access_denied(self, github_double, octo):
        github_double.state.add_app("cid", "csecret")
        github_double.state.consent = "deny"
        response = self._authorize(github_double, github_double.web_url, "cid")
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["error"] == ["access_denied"] and query["state"] == ["s1"]

    def test_wrong_client_secret(self, github_double, octo):
        github_double.state.add_app("cid", "csecret")
        response = self._authorize(github_double, github_double.web_url, "cid")
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        exchange = requests.post(
            f"{github_double.web_url}/login/oauth/access_token",
            data={"client_id": "cid", "client_secret": "wrong", "code": code},
            headers={"Accept": "application/json"}, timeout=10,
        )
        assert exchange.json()["error"] == "incorrect_client_credentials"


class TestGitSmartHttp:
    """`git` itself against the double: token auth for fetch and push, in both layouts."""

    @pytest.fixture
    def served(self, github_double, tmp_path):
        from tests.support.factories import make_git_repository

        state = github_double.state
        for login in ("octocat", "reader", "stranger"):
            state.add_user(login)
        state.add_org("acme", members={"octocat": "write", "reader": "read"})
        private = state.add_repo("acme", "private")
        public = state.add_repo("acme", "public", private=False)
        for repo in (private, public):
            source = make_git_repository(tmp_path / "src" / repo.name)
            state.attach_git(repo, source, tmp_path / "srv" / f"{repo.name}.git")
        return state

    def _git(self, tmp_path, *args, token: str | None = None):
        import base64
        import subprocess

        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_TERMINAL_PROMPT": "0",
               "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.test",
               "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.test"}
        options = []
        if token:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            options = ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
        return subprocess.run(["git", *options, *args], env=env, capture_output=True, text=True,
                              timeout=60)

    @pytest.mark.parametrize("layout", ["github", "ghes"])
    def test_clone_and_push_with_a_token(self, github_double, served, tmp_path, layout):
        base = github_double.web_url if layout == "github" else github_double.ghes_url
        token = served.issue_token("octocat")
        work = tmp_path / "work"
        cloned = self._git(tmp_path, "clone", "-q", f"{base}/acme/private.git", str(work),
                           token=token)
        assert cloned.returncode == 0, cloned.stderr
        (work / "new.txt").write_text("hello\n")
        self._git(tmp_path, "-C", str(work), "add", "-A")
        self._git(tmp_path, "-C", str(work), "commit", "-qm", "add")
        pushed = self._git(tmp_path, "-C", str(work), "push", "-q", "origin", "HEAD:topic",
                           token=token)
        assert pushed.returncode == 0, pushed.stderr
        assert "topic" in served.branches_of(served.repos[("acme", "private")])

    def test_private_repository_needs_a_token_with_access(self, github_double, served,
                                                          tmp_path):
        url = f"{github_double.web_url}/acme/private.git"
        anonymous = self._git(tmp_path, "clone", "-q", url, str(tmp_path / "a"))
        assert anonymous.returncode != 0 and "could not read Username" in anonymous.stderr
        stranger = self._git(tmp_path, "clone", "-q", url, str(tmp_path / "b"),
                             token=served.issue_token("stranger"))
        assert stranger.returncode != 0 and "not found" in stranger.stderr
        bad = self._git(tmp_path, "clone", "-q", url, str(tmp_path / "c"), token="gho_bad")
        assert bad.returncode != 0

    def test_public_repository_clones_anonymously(self, github_double, served, tmp_path):
        cloned = self._git(tmp_path, "clone", "-q", f"{github_double.web_url}/acme/public.git",
                           str(tmp_path / "p"))
        assert cloned.returncode == 0, cloned.stderr

    def test_push_needs_write_access(self, github_double, served, tmp_path):
        token = served.issue_token("reader")
        work = tmp_path / "w"
        self._git(tmp_path, "clone", "-q", f"{github_double.web_url}/acme/private.git",
                  str(work), token=token)
        pushed = self._git(tmp_path, "-C", str(work), "push", "-q", "origin", "HEAD:x",
                           token=token)
        assert pushed.returncode != 0
        assert "403" in pushed.stderr or "denied" in pushed.stderr
        assert "x" not in served.branches_of(served.repos[("acme", "private")])

    def test_push_rejected_by_the_server(self, github_double, served, tmp_path):
        token = served.issue_token("octocat")
        served.repos[("acme", "private")].push_rejection = "Protected."
        work = tmp_path / "w"
        self._git(tmp_path, "clone", "-q", f"{github_double.web_url}/acme/private.git",
                  str(work), token=token)
        pushed = self._git(tmp_path, "-C", str(work), "push", "-q", "origin", "HEAD:main2",
                           token=token)
        assert pushed.returncode != 0
        assert "GH006: Protected branch update failed. Protected." in pushed.stderr
