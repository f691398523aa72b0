"""The attack: markup that slipped into a page (say through a fragment swapped in with innerHTML)
carries an inline handler or script. Under the page's Content-Security-Policy it never runs, while
the page's own modules (the live contract, the sidebar socket) still do."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support import factories
from tests.support.browser import sign_in

INJECTED = ('<img src="/missing.png" onerror="window.__pwned = 1">'
            '<script>window.__pwned = 2</script>')


def test_injected_inline_script_and_handlers_do_not_run(browser_page, live_app, acme_webapp):
    page = browser_page
    factories.make_task(acme_webapp, acme_webapp.team.memberships.first().user, prompt="Hello")
    sign_in(page, "alice", then="/")
    expect(page.locator("#sidebar")).to_contain_text("Hello")  # our modules ran and rendered
    page.evaluate("html => document.body.insertAdjacentHTML('beforeend', html)", INJECTED)
    page.evaluate("""() => { const s = document.createElement('script');
                       s.textContent = 'window.__pwned = 3'; document.body.appendChild(s); }""")
    page.wait_for_timeout(500)  # let the image fail and the handler have its chance
    assert page.evaluate("window.__pwned") is None
