"""Another site cannot act for a signed-in person (the authorization audit of session 7).

Every page route, read from the URL configuration and filled with the ids of alice's own things
(tests/security/route_walk.py): a POST without the CSRF token — what a form on another site
sends with her cookie — is refused and changes nothing, and a GET, which a link or an image on
another site can make, changes nothing either. (The API takes a Bearer token, never the cookie,
so it has no CSRF to check.)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.security.route_walk import all_routes, database_state, ids_for, make_world, url_for
from tests.support.celery_queue import queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_world(acme, alice, bob) -> dict[str, Any]:
    return make_world(acme, alice, bob, "ac91")


def page_urls(world: dict[str, Any]) -> list[str]:
    urls = []
    for route in all_routes():
        if route.is_api:
            continue
        kwargs = ids_for(route, world)
        urls.append(url_for(route, kwargs or {}))
    return urls


def test_a_post_without_the_csrf_token_is_refused_everywhere(acme_world, alice, empty_queue):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    before = database_state()
    accepted = []
    for url in page_urls(acme_world):
        response = browser.post(url, {"confirm": "yes", "prompt": "Delete everything",
                                      "role": "member", "name": "X", "value": "y"})
        if response.status_code not in (403, 405):
            accepted.append(f"{url} answered {response.status_code}")
    assert accepted == []
    assert database_state() == before
    assert queued_jobs() == []


def test_a_get_changes_nothing_anywhere(acme_world, alice, empty_queue):
    browser = Client()
    browser.force_login(alice)
    before = database_state()
    for url in page_urls(acme_world):
        browser.get(url)
    assert database_state() == before
    assert queued_jobs() == []
