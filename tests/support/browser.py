"""Debian's Chromium driven by Playwright's sync API, never a browser Playwright downloads.

Fixtures (import them into a conftest.py): `chromium` (one browser per test module), `browser_page`
(a fresh context and page per test, laptop-sized, with `base_url` set to the live app, so
`page.goto("/")` works) and `phone_page` (a phone-sized one). Both use `transactional_db`.
`screenshot(page, name)` saves artifacts/screenshots/<name>.png for people to look at;
`sign_in(page, username)` signs in through the login form with the factories' password.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.support import factories
from tests.support.services import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
LAPTOP = {"width": 1366, "height": 800}
# How long an action or an `expect` waits for the page (bounded, never a sleep). Playwright's
# `expect` defaults to 5 s, shorter than its actions' bound here: a first request to a fresh
# daphne on the loaded 2-core machine took 7 s (composer pull-request flake, session 6).
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)
PHONE = {"width": 390, "height": 844}


def sign_in(page, username: str, *, then: str = "") -> None:
    """Sign in as `username` through the login form, and wait until the next page (`then`, a
    path, when given) has loaded, its scripts included. One page load: a `goto` right after
    would leave the home page's requests (GitHub calls among them) still running in the app
    while the next page's queue."""
    page.goto("/accounts/login/" + (f"?{urlencode({'next': then})}" if then else ""))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    # The URL changes when the next page's navigation commits, before its scripts ran: a test
    # that picked a file then fired `change` before the page listened (CI: no image preview).
    page.wait_for_load_state("load")


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it is open, which would break the async tests (and Django's async-safety check, relaxed
# below) of every suite that runs after the browser tests.
@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the Django ORM calls the tests
    # make between browser steps are ordinary blocking calls, so let Django allow them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _page(chromium, live_app, viewport: dict[str, int]) -> Iterator[object]:
    context = chromium.new_context(base_url=live_app.url, viewport=viewport)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # tests may assert the page ran without script errors
    yield page
    context.close()
    _wait_for_the_app_to_settle()


def _wait_for_the_app_to_settle(timeout: float = 10.0) -> None:
    """After the page closed, let the app's own processes finish what it asked of them (a
    request or websocket handler still in a transaction) before the test's flush truncates
    every table: a TRUNCATE taking its locks while another backend reads two tables in the
    other order deadlocks, and the next test then finds the last one's rows. Bounded."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                " AND state IN ('active', 'idle in transaction')"
            )
            (busy,) = cursor.fetchone()
        if not busy:
            return
        time.sleep(0.05)


# Both depend on transactional_db: rows a test makes are committed, so the app's own process
# (daphne, a worker) sees them, and the tables are emptied after the test.
@pytest.fixture
def browser_page(chromium, live_app, transactional_db) -> Iterator[object]:
    yield from _page(chromium, live_app, LAPTOP)


@pytest.fixture
def phone_page(chromium, live_app, transactional_db) -> Iterator[object]:
    yield from _page(chromium, live_app, PHONE)


def sign_in_as(page, user, live_app) -> None:
    """A real session for `user` (signing in through the form is tested in test_shell.py)."""
    client = Client()
    client.force_login(user)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_app.url}
    page.context.add_cookies([cookie])
