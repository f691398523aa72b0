"""The UI shell in Chromium: first-run setup, sign-in, the picker, submitting, the sidebar.

Each test also saves screenshots of the pages it passes through to artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tasks.models import Task
from tasks.worker.claim import NO_SANDBOX_MESSAGE
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.browser import sign_in as sign_in_through_form

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def sign_in(page, username: str = "alice") -> None:
    """Sign in and wait for the composer, with app.js run."""
    sign_in_through_form(page, username)
    expect(page.get_by_role("heading", name="What should we work on?")).to_be_visible()
    page.wait_for_load_state("load")  # app.js (deferred) has run: the picker's search is shown


@pytest.fixture
def acme_with_repositories(transactional_db):
    alice = factories.make_user("alice")
    bob = factories.make_user("bob")
    acme = factories.make_team("Acme", admin=alice)
    factories.add_member(acme, bob)
    repositories = {
        name: factories.make_repository(acme, owner=owner, name=name)
        for owner, name in [("acme", "webapp"), ("acme", "website"), ("acme", "api"),
                            ("tools", "linter")]
    }
    globex = factories.make_team("Globex", admin=factories.make_user("carol"))
    factories.make_repository(globex, owner="globex", name="web-secret")
    return {"alice": alice, "bob": bob, "team": acme, "repositories": repositories}


def test_first_run_setup_then_empty_home(browser_page, transactional_db):
    page = browser_page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/setup/$"))
    expect(page.get_by_role("heading", name="Welcome to codexweb")).to_be_visible()
    screenshot(page, "01-setup")

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Email (optional)").fill("admin@example.test")
    page.get_by_label("Password", exact=True).fill("a sturdy passphrase 42")
    page.get_by_label("Password again").fill("not the same")
    page.get_by_label("Team name").fill("Platform")
    page.get_by_role("button", name="Create account and team").click()

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("The two passwords differ.")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Username")).to_have_value("admin")
    expect(page.get_by_label("Team name")).to_have_value("Platform")
    expect(page.get_by_label("Password again")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "02-setup-errors")

    page.get_by_label("Password", exact=True).fill("a sturdy passphrase 42")
    page.get_by_label("Password again").fill("a sturdy passphrase 42")
    page.get_by_role("button", name="Create account and team").click()
    expect(page.get_by_role("heading", name="No repositories yet")).to_be_visible()
    expect(page.get_by_text("No tasks yet.")).to_be_visible()
    expect(page.get_by_role("link", name="Register a repository")).to_be_visible()
    expect(page.get_by_label("Prompt")).to_be_disabled()
    screenshot(page, "03-home-empty")
    assert User.objects.get(username="admin").is_superuser
    assert page.js_errors == []


def test_sign_in_filter_submit_ask_and_see_it_in_history(
    browser_page, acme_with_repositories, live_worker
):
    page = browser_page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#error-summary")).to_contain_text("do not match an account")
    expect(page.get_by_label("Username")).to_have_value("alice")
    screenshot(page, "04-sign-in-error")

    sign_in(page)
    expect(page.get_by_text("No tasks yet.")).to_be_visible()

    # Type-ahead: the picker asks the server and keeps only the team's matches.
    select = page.get_by_label("Repository", exact=True)
    page.get_by_label("Filter repositories").fill("web")
    expect(select.locator("option")).to_have_text(
        ["Choose a repository", "acme/webapp", "acme/website"]
    )
    select.select_option(label="acme/website")
    expect(page.get_by_label("Branch")).to_have_attribute("placeholder", "main")
    page.get_by_label("Prompt").fill("Where is the login form rendered?")
    page.get_by_label("Model").select_option("fast")
    page.get_by_role("button", name="Ask", exact=True).click()

    expect(page).to_have_url(re.compile(r"/tasks/\d+/$"))
    task = Task.objects.get()
    assert (task.mode, task.model_tier) == ("ask", "fast")
    assert task.repository.full_name == "acme/website"
    assert task.attempts.count() == 1
    history = page.get_by_role("navigation", name="Tasks")
    entry = history.get_by_role("link", name=re.compile("Where is the login form rendered?"))
    expect(entry).to_be_visible()
    expect(entry).to_have_attribute("aria-current", "page")
    expect(history.get_by_role("heading", name="Today")).to_be_visible()

    # The real worker runs the job and ends it honestly; the page shows the real status.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task.refresh_from_db()
        if task.is_finished:
            break
        time.sleep(0.2)
    assert task.status == "failed", f"task still {task.status}"
    page.reload()
    expect(entry.locator(".badge")).to_have_text("Failed")
    expect(page.get_by_text(NO_SANDBOX_MESSAGE).first).to_be_visible()
    expect(page.get_by_text("Worker started.").first).to_be_visible()  # the log has loaded
    screenshot(page, "05-task-page")

    # Back to a new task: the composer remembers the repository; errors keep the input.
    page.get_by_role("link", name="New task").click()
    expect(page.get_by_label("Repository", exact=True)).to_have_value(str(task.repository_id))
    page.get_by_label("Branch").fill("bad branch name")
    page.get_by_role("button", name="Code", exact=True).click()
    # No prompt: the page says so next to the field and sends nothing.
    expect(page.locator("#id_prompt_error")).to_have_text(
        "Error: Describe what you want the agent to do.")
    expect(page.get_by_label("Prompt")).to_be_focused()
    page.get_by_label("Prompt").fill("Rename the login button")
    page.get_by_role("button", name="Code", exact=True).click()
    # The server refuses the branch and keeps everything typed.
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Branch names cannot contain spaces.")
    expect(page.get_by_label("Branch")).to_have_value("bad branch name")
    expect(page.get_by_label("Prompt")).to_have_value("Rename the login button")
    assert Task.objects.count() == 1
    expect(page.get_by_label("Repository", exact=True)).to_have_value(str(task.repository_id))
    screenshot(page, "06-home-errors", full_page=True)

    # History filters.
    page.get_by_label("Filter by status").select_option("succeeded")
    expect(page.get_by_text("No tasks match these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(entry).to_be_visible()

    page.get_by_role("link", name="Repositories").click()
    expect(page.get_by_role("heading", name="Repositories")).to_be_visible()
    expect(page.get_by_role("rowheader")).to_have_text(
        ["acme/api", "acme/webapp", "acme/website", "tools/linter"]
    )
    screenshot(page, "07-repositories")
    page.get_by_role("link", name="Register a repository").click()
    page.get_by_label("Git URL or server path").fill("relative/path")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#error-summary")).to_contain_text("Use a full URL")
    expect(page.get_by_label("Git URL or server path")).to_have_value("relative/path")
    screenshot(page, "08-register-errors")

    page.get_by_role("button", name="Sign out alice").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    screenshot(page, "09-sign-in")
    assert page.js_errors == []


def test_keyboard_reaches_the_composer_in_order(browser_page, acme_with_repositories):
    page = browser_page
    sign_in(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Prompt")).to_be_focused()
    page.keyboard.type("Summarise the README")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Filter repositories")).to_be_focused()
    page.keyboard.type("linter")
    expect(page.get_by_label("Repository", exact=True)).to_have_value(
        str(acme_with_repositories["repositories"]["linter"].pk)
    )
    page.keyboard.press("Enter")  # picks the match; must not submit a half-filled task
    expect(page.get_by_label("Repository", exact=True)).to_be_focused()
    assert not Task.objects.exists()
    focused = page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle"
    )
    assert focused != "none", "the focused control shows a visible focus ring"


def test_phone_layout_collapses_the_sidebar(phone_page, acme_with_repositories):
    page = phone_page
    factories.make_task(
        acme_with_repositories["repositories"]["api"], acme_with_repositories["alice"],
        prompt="Why is the API slow on cold start?",
    )
    sign_in(page)
    sidebar = page.locator("#sidebar")
    toggle = page.get_by_role("button", name="Task history and menu")
    expect(sidebar).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    # The closed sidebar is out of the tab order: skip link, menu button, then the prompt.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Prompt")).to_be_focused()
    screenshot(page, "10-phone-home", full_page=True)

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_visible()
    # A function, not a bare expression: Playwright compiles an expression with eval, which the
    # page's Content-Security-Policy refuses.
    page.wait_for_function(
        "() => document.getElementById('sidebar').getBoundingClientRect().left >= 0"
    )
    expect(sidebar).to_be_in_viewport()
    expect(page.get_by_role("link", name=re.compile("Why is the API slow"))).to_be_visible()
    expect(page.locator("#main")).to_have_js_property("inert", True)
    screenshot(page, "11-phone-sidebar")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(sidebar).to_be_hidden()
    expect(page.locator("#main")).to_have_js_property("inert", False)
    assert page.js_errors == []


def test_switching_teams_changes_history_and_picker(browser_page, acme_with_repositories):
    page = browser_page
    alice = acme_with_repositories["alice"]
    globex = factories.make_team("Globex Labs", admin=factories.make_user("dave"))
    factories.add_member(globex, alice)
    lab = factories.make_repository(globex, owner="globex", name="lab-notes")
    factories.make_task(lab, alice, prompt="Summarise the lab notes")
    sign_in(page)
    history = page.get_by_role("navigation", name="Tasks")
    expect(history.get_by_text("Summarise the lab notes")).to_have_count(0)

    page.get_by_text("Team: Acme").click()  # the switcher is a <details>: keyboard-operable
    expect(page.get_by_role("button", name="Globex Labs")).to_be_visible()
    screenshot(page, "12-team-switcher")
    page.get_by_role("button", name="Globex Labs").click()
    expect(page.get_by_text("Now working in Globex Labs.")).to_be_visible()
    expect(history.get_by_text("Summarise the lab notes")).to_be_visible()
    page.get_by_label("Filter repositories").fill("a")
    expect(page.get_by_label("Repository", exact=True).locator("option")).to_have_text(
        ["Choose a repository", "globex/lab-notes"]
    )
    assert page.js_errors == []
