"""Every URL the app serves, walked with another team's ids (the authorization audit of session 7).

The test reads the URL configuration itself (pages, the API, the settings pages), so a route
added later is audited too: each route with an id or a slug is called by carol, admin of Globex,
with the ids of Acme's things — a task, an attempt, a repository with a secret, a credential and
a setup run, a verification, a pull-request record, an image, a webhook with a delivery, an
invitation, a member, a domain list, alice's API token — over GET and POST (pages: her session;
API: her token, with every method), and again with her own things as the parents and Acme's as
the last id. Each must answer as for an id that does not exist, show none of Acme's things,
change nothing in the database and queue no job. Routes without an id (lists, pickers, exports)
must show none of Acme's things either. A route the walk does not know how to fill in fails the
test: decide what it is about, then add it to `route_walk.ids_for`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from codexweb.api.tokens import api_token_create
from tests.security.route_walk import (
    Route,
    all_routes,
    database_state,
    ids_for,
    make_world,
    mixed_ids,
    plain,
    url_for,
)
from tests.support.celery_queue import queued_jobs

pytestmark = pytest.mark.django_db

MARK = "zq81"  # in every name and text of Acme's things: never in a page carol sees
NOT_FOUND_LIKE = {403, 404, 405}
# A link whose secret is the permission (an invitation link is meant to be passed on): carol may
# open it, but joining still needs the invitation to name her; the database check covers that.
CAPABILITY_ROUTES = {"accounts/invite/<str:token>/"}


@pytest.fixture
def acme_world(acme, alice, bob) -> dict[str, Any]:
    return make_world(acme, alice, bob, MARK)


@pytest.fixture
def globex_world(globex, carol) -> dict[str, Any]:
    """Globex's own things: the parents carol may open, for ids that mix the two teams."""
    return make_world(globex, carol, carol, "gx47")


def _calls(route: Route, url: str, carol_client: Client, api_client: Client,
           ) -> Iterator[tuple[str, Any]]:
    if route.is_api:
        yield "GET", api_client.get(url)
        for method in ("post", "put", "patch", "delete"):
            yield method.upper(), getattr(api_client, method)(
                url, data="{}", content_type="application/json")
    else:
        yield "GET", carol_client.get(url)
        yield "POST", carol_client.post(url, {"confirm": "yes", "prompt": "hi", "role": "admin",
                                               "name": "X", "value": "y"})


def test_the_audit_knows_every_route_with_an_id(acme_world):
    """Fails when a route takes a parameter this file cannot fill with an Acme id."""
    routes = [route for route in all_routes() if "<" in plain(route)]
    assert len(routes) > 60  # the walk really reached the app's URL confs
    for route in routes:
        ids_for(route, acme_world)


def test_another_teams_ids_open_nothing_anywhere(acme_world, globex_world, carol, empty_queue):
    carol_client = Client()
    carol_client.force_login(carol)
    carol_token = api_token_create(user=carol, name="carol laptop")
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {carol_token.secret}")
    before = database_state(carol_token.token.pk)
    problems: list[str] = []
    calls = [(route, kwargs) for route in all_routes()
             for kwargs in (ids_for(route, acme_world), mixed_ids(route, globex_world, acme_world))
             if kwargs is not None]
    assert sum(len(kwargs) > 1 for _, kwargs in calls) >= 20  # the mixed ones are there too
    for route, kwargs in calls:
        url = url_for(route, kwargs)
        for method, response in _calls(route, url, carol_client, api_client):
            body = b"".join(response) if response.streaming else response.content
            if route.route in CAPABILITY_ROUTES:
                continue
            if response.status_code not in NOT_FOUND_LIKE:
                problems.append(f"{method} {url} answered {response.status_code}")
            if MARK.encode() in body.lower():
                problems.append(f"{method} {url} showed Acme's things")
    assert problems == []
    assert database_state(carol_token.token.pk) == before
    assert queued_jobs() == []


def test_lists_and_pickers_show_nothing_of_another_team(acme_world, carol, globex):
    carol_client = Client()
    carol_client.force_login(carol)
    api_client = Client(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=carol, name='c').secret}")
    team = acme_world["team"]
    queries = ["", f"?repository={acme_world['repository'].pk}",
               f"?team={team.pk}", "?q=webapp", f"?start_from={acme_world['task'].pk}"]
    leaks = []
    for route in all_routes():
        if "<" in plain(route):
            continue
        client = api_client if route.is_api else carol_client
        for query in queries:
            url = "/" + plain(route) + query
            response = client.get(url)
            body = b"".join(response) if response.streaming else response.content
            if MARK.encode() in body.lower():
                leaks.append(url)
    assert leaks == []
