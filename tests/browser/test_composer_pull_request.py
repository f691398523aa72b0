"""In Chromium: starting a task from a pull request in the composer. The app's own daphne asks
the GitHub stand-in which branch PR #7 comes from (its open pull requests are suggested when the
repository is chosen); the task starts on that branch. A fork's pull request is refused in the
composer with a sentence, and what the person typed stays."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tasks.models import Task
from tests.support import factories
from tests.support.browser import LAPTOP, WAIT_MS, screenshot, sign_in
from tests.support.connected_github import connect, connected_repository
from tests.support.finished_attempts import greeting_webapp
from tests.support.github_state import Outage, PullRequest
from tests.support.live_app import start_daphne, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# Bound on the composer's first pull-request list from a fresh daphne (see the test).
FIRST_GITHUB_CALL_MS = 60_000


@pytest.fixture
def app_on_the_stand_in(gh, transactional_db):
    """A daphne of its own whose GitHub is the stand-in."""
    app = start_daphne(GITHUB_URL=gh.web_url, GITHUB_API_URL=gh.api_url)
    yield app
    stop_process(app.process)


@pytest.fixture
def page(chromium, app_on_the_stand_in):
    context = chromium.new_context(base_url=app_on_the_stand_in.url, viewport=LAPTOP)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def test_a_task_starts_from_the_pull_request_typed_in_the_composer(gh, page, tmp_path):
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    webapp = greeting_webapp(gh, tmp_path)
    bare = str(webapp.git_dir)
    subprocess.run(["git", "-C", bare, "branch", "feature", "main"], check=True)
    head = subprocess.run(["git", "-C", bare, "rev-parse", "feature"], check=True,
                          capture_output=True, text=True).stdout.strip()
    webapp.pulls.append(PullRequest(number=7, id=70, title="Feature", body="", head="feature",
                                    base="main", head_sha=head, base_sha=head, author="alice-gh"))
    mallory = gh.state.add_user("mallory")
    fork = gh.state.add_repo("mallory", "webapp", private=False)
    webapp.pulls.append(PullRequest(number=8, id=80, title="Fork", body="", head="main",
                                    base="main", head_sha=head, base_sha=head, author="mallory",
                                    head_repo=fork, head_owner=mallory))
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    sign_in(page, "alice", then=f"/?repository={repository.pk}")
    # The repository's open pull requests are suggested (newest first); typing stays possible.
    # This is this daphne's first GitHub call: it imports githubkit and builds its models,
    # which took 7 s on the loaded 2-core machine (daphne's log, CI flake of session 6).
    expect(page.locator("#pull-options option")).to_have_count(2, timeout=FIRST_GITHUB_CALL_MS)
    assert page.eval_on_selector_all("#pull-options option",
                                     "els => els.map(e => [e.value, e.label])") == [
        ["#8", "#8 Fork (main)"], ["#7", "#7 Feature (feature)"]]

    page.get_by_label("Prompt").fill("Make the greeting say v2.")
    page.get_by_label("Or pull request").fill(f"{gh.web_url}/acme/webapp/pull/8")
    page.get_by_role("button", name="Code", exact=True).click()

    expect(page.get_by_text("Pull request #8 comes from a fork (mallory/webapp)")).to_be_visible()
    expect(page.get_by_label("Or pull request")).to_have_value(f"{gh.web_url}/acme/webapp/pull/8")
    expect(page.get_by_label("Prompt")).to_have_value("Make the greeting say v2.")
    assert not Task.objects.exists()
    screenshot(page, "composer-pull-request-fork-refused")

    page.get_by_label("Or pull request").fill("#7")
    page.get_by_role("button", name="Code", exact=True).click()

    expect(page).to_have_url(re.compile(r"/tasks/\d+/$"))
    task = Task.objects.get()
    assert (task.base_branch, task.pull_number) == ("feature", 7)
    assert page.js_errors == []


def test_the_pull_request_list_offers_retry_when_github_answers_503(gh, page, tmp_path):
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    webapp = greeting_webapp(gh, tmp_path)
    head = subprocess.run(["git", "-C", str(webapp.git_dir), "rev-parse", "main"], check=True,
                          capture_output=True, text=True).stdout.strip()
    webapp.pulls.append(PullRequest(number=7, id=70, title="Feature", body="", head="main",
                                    base="main", head_sha=head, base_sha=head, author="alice-gh"))
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    gh.state.outage = Outage(path="/pulls", hits=1)  # GitHub has trouble once, then answers
    sign_in(page, "alice", then=f"/?repository={repository.pk}")

    status = page.locator("#pull-options-status")
    expect(status).to_have_text(
        "Could not list the pull requests: GitHub is having trouble (it answered 503); try "
        "again in a minute.", timeout=FIRST_GITHUB_CALL_MS)
    expect(page.locator("#pull-options option")).to_have_count(0)
    screenshot(page, "composer-pull-request-503")
    page.get_by_role("button", name="Retry").click()

    expect(page.locator("#pull-options option")).to_have_count(1)
    expect(page.locator("#pull-options-box")).to_be_hidden()
    assert gh.state.outage.hits == 0
    assert page.js_errors == []
