"""In Chromium: a team admin connects repositories from their synced GitHub catalog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from repos.github.credentials import credential_store
from repos.github.models import GitHubRepositoryAccess
from repos.models import Repository
from tests.support import factories
from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture
def admin_with_catalog(transactional_db):
    """alice administers Acme; her GitHub catalog (as a sync left it) holds 120 repositories."""
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    credential = credential_store(user=alice, provider="github", login="alice-gh",
                                  external_id=42, token="gho_not-used-by-these-pages")
    now = timezone.now()
    GitHubRepositoryAccess.objects.bulk_create([
        GitHubRepositoryAccess(
            credential=credential, external_id=1000 + n, owner=["acme", "tools"][n % 2],
            name=f"svc-{n:03d}", private=n % 3 != 0,
            visibility="public" if n % 3 == 0 else "private", can_push=n % 5 != 0,
            pushed_at=now - timedelta(hours=n), checked_at=now,
        ) for n in range(120)
    ])
    credential.synced_at = now
    credential.save()
    return acme


def test_admin_filters_and_connects(browser_page, admin_with_catalog):
    page = browser_page
    sign_in(page, "alice", then="/repositories/")
    expect(page.get_by_text("120 repositories you can reach, fetched")).to_be_visible()
    page.get_by_role("link", name="Connect from GitHub").first.click()

    expect(page.get_by_role("heading", name="Connect repositories to Acme")).to_be_visible()
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
    page.get_by_label("Name or owner").fill("tools/svc-00")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-repository]")).to_have_count(5)
    page.get_by_label("tools/svc-001").check()
    page.get_by_label("tools/svc-003").check()
    screenshot(page, "connect-page-filtered")
    page.get_by_role("button", name="Connect chosen repositories").click()

    expect(page.get_by_text("Connected tools/svc-001, tools/svc-003 to Acme.")).to_be_visible()
    expect(page.get_by_label("Name or owner")).to_have_value("tools/svc-00")
    expect(page.locator("tr[data-repository] .badge", has_text="Connected")).to_have_count(2)
    assert set(Repository.objects.values_list("name", flat=True)) == {"svc-001", "svc-003"}

    page.get_by_role("link", name="Connected repositories").click()
    page.get_by_role("link", name="Disconnect tools/svc-001").click()
    page.get_by_role("button", name="Disconnect tools/svc-001").click()
    expect(page.get_by_text("Disconnected tools/svc-001.")).to_be_visible()
    screenshot(page, "repositories-after-disconnect", full_page=True)
    connected = Repository.objects.filter(disconnected_at__isnull=True)
    assert list(connected.values_list("name", flat=True)) == ["svc-003"]
    expect(page.get_by_role("link", name="Disconnect tools/svc-001")).to_have_count(0)
    assert page.js_errors == []
