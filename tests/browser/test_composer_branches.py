"""In Chromium: choosing a repository fills the branch input's suggestions from the mirror."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from playwright.sync_api import expect

from repos.git.branches import mirror_refresh
from repos.git.mirror import mirror_path
from tests.support import factories
from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture
def two_repositories(transactional_db, tmp_path):
    """Two local repositories whose mirrors are fetched (the app's processes share the root,
    GIT_MIRROR_ROOT from tests/support/settings.py)."""
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    owner = f"browser-{uuid.uuid4().hex[:8]}"
    made = []
    for name, extra in [("api", ["feature/search", "release-1"]), ("web", ["hotfix"])]:
        source = factories.make_git_repository(tmp_path / name)
        for branch in extra:
            subprocess.run(["git", "-C", str(source), "branch", branch], check=True)
        repository = factories.make_repository(acme, owner=owner, name=name,
                                               clone_url=str(source))
        mirror_refresh(repository_id=repository.pk, user_id=alice.pk)
        made.append(repository)
    yield made
    for repository in made:
        shutil.rmtree(mirror_path(repository), ignore_errors=True)


def options(page) -> list[str]:
    return page.eval_on_selector_all("#branch-options option", "els => els.map(e => e.value)")


def test_branch_suggestions_follow_the_chosen_repository(browser_page, two_repositories):
    page = browser_page
    api, web = two_repositories
    sign_in(page, "alice", then=f"/?repository={api.pk}")
    page.wait_for_load_state("load")

    assert page.get_by_label("Branch").get_attribute("list") == "branch-options"
    expect(page.locator("#branch-options option")).to_have_count(3)
    assert options(page) == ["main", "feature/search", "release-1"]

    page.get_by_label("Repository", exact=True).select_option(str(web.pk))
    expect(page.locator("#branch-options option")).to_have_count(2)
    assert options(page) == ["main", "hotfix"]
    expect(page.get_by_label("Repository visibility")).to_be_visible()
    screenshot(page, "composer-branch-suggestions")
    assert page.js_errors == []
