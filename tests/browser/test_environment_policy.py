"""An admin turns on an allowlist for a repository; a member then sees it, read-only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from repos.domains import HTTP_METHODS
from repos.models import Environment
from tests.support import factories
from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_admin_enables_allowlist_member_sees_it_read_only(
    browser_page, chromium, live_app, acme_webapp
):
    repo = acme_webapp
    page = browser_page
    sign_in(page, "alice", then="/repositories/")
    page.get_by_role("link", name="Environment of acme/webapp").click()
    expect(page.get_by_role("heading", name="Environment of acme/webapp")).to_be_visible()

    agent = page.locator("#agent-policy")
    agent.get_by_label("Allowlist").check()
    agent.get_by_label("Other allowed domains").fill("pypi.org\n*.pythonhosted.org")
    agent.get_by_label("POST").check()
    page.get_by_role("button", name="Save environment").click()
    expect(
        page.get_by_text("Environment saved. Attempts that start from now on use it.")
    ).to_be_visible()
    screenshot(page, "environment-admin")

    env = Environment.objects.get(repository=repo)
    assert env.internet_policy == "allowlist"
    assert env.allowed_domains == ["pypi.org", "*.pythonhosted.org"]
    assert env.allowed_methods == ["GET", "HEAD", "OPTIONS", "POST"]

    context = chromium.new_context(base_url=live_app.url)
    try:
        member = context.new_page()
        sign_in(member, "bob", then=f"/repositories/{repo.pk}/environment/")
        expect(member.get_by_text("only team admins can change it")).to_be_visible()
        policy = member.locator("#agent-policy")
        allowlist = policy.get_by_label("Allowlist")
        expect(allowlist).to_be_checked()
        expect(allowlist).to_be_disabled()
        expect(policy.get_by_label("Other allowed domains")).to_have_value(
            "pypi.org\n*.pythonhosted.org"
        )
        expect(policy.get_by_label("Other allowed domains")).to_be_disabled()
        expect(policy.get_by_label("POST")).to_be_checked()
        expect(member.get_by_role("button", name="Save environment")).to_have_count(0)
        expect(member.get_by_role("button", name="Save secret")).to_have_count(0)
        screenshot(member, "environment-member")
    finally:
        context.close()
    assert page.js_errors == []


def test_team_history_and_tokens_pages(browser_page, acme_webapp):
    """The sidebar links lead to the team, history and token pages; the history's repository
    box suggests names from the picker as one types."""
    repo = acme_webapp
    alice = repo.team.memberships.get(role="admin").user
    factories.make_task(repo, alice, prompt="Explain the build pipeline")
    page = browser_page
    sign_in(page, "alice")
    sidebar = page.get_by_role("navigation", name="Tasks")

    sidebar.get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    expect(page.locator("#members")).to_contain_text("bob")
    screenshot(page, "team-members")

    sidebar.get_by_role("link", name="History").click()
    expect(page.locator("#history-table")).to_contain_text("Explain the build pipeline")
    page.get_by_label("Repository", exact=True).fill("web")
    expect(page.locator("#history-repos option")).to_have_count(1)
    page.get_by_label("Search prompts").fill("nothing like this")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#history-table")).to_contain_text("No tasks match these filters")
    screenshot(page, "team-history")

    sidebar.get_by_role("link", name="API tokens").click()
    page.get_by_label("Token name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#token-value")).to_have_value(re.compile(r"^cxw_"))
    screenshot(page, "api-tokens")
    assert page.js_errors == []


# Where a choice's control and its text are drawn: the control's box and the box of the label's
# own text (not the label element, which may wrap both).
CHOICE_BOXES = """(input) => {
  const label = input.closest("label");
  const text = [...label.childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
  const range = document.createRange();
  range.selectNodeContents(text);
  const t = range.getBoundingClientRect(), c = input.getBoundingClientRect();
  return {control: [c.left, c.top, c.right, c.bottom], text: [t.left, t.top, t.right, t.bottom],
          words: text.textContent.trim()};
}"""


@pytest.mark.parametrize("page_fixture", ["browser_page", "phone_page"])
def test_each_choice_sits_next_to_its_label(request, acme_webapp, page_fixture):
    """Radio buttons (internet policies) and checkboxes (lists, methods): the control is on
    the same line as its words, just before them, as a person expects."""
    page = request.getfixturevalue(page_fixture)
    sign_in(page, "alice", then=f"/repositories/{acme_webapp.pk}/environment/")
    page.locator("#agent-policy").scroll_into_view_if_needed()
    screenshot(page, f"environment-choices-{page_fixture}", full_page=True)
    controls = page.locator(
        "#environment-form input[type=radio], #environment-form input[type=checkbox]"
    )
    assert controls.count() >= 6 + len(HTTP_METHODS)
    for index in range(controls.count()):
        box = controls.nth(index).evaluate(CHOICE_BOXES)
        (c_left, c_top, c_right, c_bottom), (t_left, t_top, _, t_bottom) = (
            box["control"],
            box["text"],
        )
        where = f"{box['words']!r}: control {box['control']}, text {box['text']}"
        assert c_right - c_left < 32, f"the control is stretched: {where}"
        assert c_top < t_bottom and t_top < c_bottom, f"not on the text's line: {where}"
        assert 0 <= t_left - c_right < 16, f"not just before its text: {where}"
    # A group is named for assistive technology, and each choice by its words.
    agent = page.locator("#agent-policy")
    expect(agent.get_by_role("radiogroup", name="Agent internet access")).to_be_visible()
    expect(agent.get_by_role("radio", name="Off (no network)")).to_be_visible()
