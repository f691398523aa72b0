"""Browser tests: the real app in daphne, Debian's Chromium through Playwright."""

from __future__ import annotations

from tests.support.browser import browser_page, chromium, phone_page  # noqa: F401
from tests.support.live_app import live_app, live_worker  # noqa: F401
