"""Every URL the app serves, walked with another team's ids (the authorization audit of session 7).

The test reads the URL configuration itself (pages, the API, the settings pages), so a route
added later is audited too: each route with an id or a slug is called by carol, admin of Globex,
with the ids of Acme's things — a task, an attempt, a repository with a secret, a credential and
a setup run, a verification, a pull-request record, an image, a webhook with a delivery, an
invitation, a member, a domain list, alice's API token — over GET and POST (pages: her session;
API: her token, with every method). Each must answer as for an id that does not exist, show
none of Acme's things, change nothing in the database and queue no job. Routes without an id
(lists, pickers, exports) must show none of Acme's things either. A route this test does not
know how to fill in fails the test: decide what it is about, then add it to `_ids_for`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from codexweb.accounts.invites import invite_create
from codexweb.accounts.models import DomainList, Membership
from codexweb.api.tokens import api_token_create
from repos.credentials.services import CredentialInput, credential_set
from repos.environments.services import secret_set
from repos.github.models import ConnectedOrganization
from repos.models import SetupRun
from tasks.images.services import ImageUpload, images_check, images_store
from tasks.models import Event, Status
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.pull_requests.models import PullRequestRecord
from tasks.verification.models import Verification
from tests.support import factories, images
from tests.support.celery_queue import queued_jobs

pytestmark = pytest.mark.django_db

MARK = "zq81"  # in every name and text of Acme's things: never in a page carol sees
NOT_FOUND_LIKE = {403, 404, 405}
# Routes that are not about a team's things at all.
# A link whose secret is the permission (an invitation link is meant to be passed on): carol may
# open it, but joining still needs the invitation to name her; the database check covers that.
CAPABILITY_ROUTES = {"accounts/invite/<str:token>/"}
NOT_TEAM_ROUTES = {"admin/", "oauth/", "healthz", "api/v1/openapi.json", "static/"}


@dataclass(frozen=True)
class Route:
    """One URL pattern, its full route text (`repositories/<int:pk>/branches/`) and name."""

    route: str
    name: str

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/v1/")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route(prefix + str(entry.pattern), entry.name or "")


def all_routes() -> list[Route]:
    return [
        route for route in _walk(get_resolver().url_patterns)
        if not any(route.route.startswith(skip) for skip in NOT_TEAM_ROUTES)
        and "<path:rest>" not in route.route
    ]


def make_world(team, admin, member, mark: str) -> dict[str, Any]:
    """One of everything a team has, each carrying `mark` in its name or text."""
    repository = factories.make_repository(team, owner=team.slug, name=f"webapp-{mark}")
    environment = repository.environment
    secret = secret_set(environment=environment, actor=admin, name=f"TEAM_{mark.upper()}",
                        value=f"secret-{mark}")
    credential = credential_set(environment=environment, actor=admin, data=CredentialInput(
        name=f"registry-{mark}", domain="registry.example.com", kind="bearer",
        value=f"token-{mark}"))
    run = SetupRun.objects.create(environment=environment, requested_by=admin,
                                  status=SetupRun.Status.SUCCEEDED, branch="main",
                                  log=f"setup log {mark}")
    patch = (f"diff --git a/{mark}.txt b/{mark}.txt\nnew file mode 100644\n--- /dev/null\n"
             f"+++ b/{mark}.txt\n@@ -0,0 +1 @@\n+{mark}\n")
    attempt = factories.make_succeeded_attempt(repository, admin, patch=patch,
                                               summary=f"Summary {mark}",
                                               prompt=f"Prompt {mark}")
    attempt.task.status = Status.SUCCEEDED
    attempt.task.save(update_fields=["status"])
    Event.objects.create(attempt=attempt, seq=1, kind="log", payload={"text": f"log {mark}"})
    task = attempt.task
    verification = Verification.objects.create(task=task, attempt=attempt,
                                               status=Verification.Status.RUNNING)
    PullRequestRecord.objects.create(attempt=attempt, requested_by=admin,
                                     branch=f"codexweb/{mark}",
                                     state=PullRequestRecord.State.FAILED, error=f"err {mark}")
    [image] = images_store(task_id=task.pk, team_id=team.pk, attempt_id=None, by=admin,
                           images=images_check([ImageUpload(f"{mark}.png", images.png())]))
    webhook = TeamWebhook(team=team, url=f"https://hooks.example.com/{mark}", created_by=admin)
    webhook.seal(f"whsec-{mark}")
    webhook.save()
    delivery = WebhookDelivery.objects.create(webhook=webhook, attempt=attempt,
                                              event="attempt.finished", payload={"m": mark},
                                              state=WebhookDelivery.State.FAILED)
    invite = invite_create(team=team, actor=admin, kind="email",
                           invitee=f"dave-{mark}@example.test")
    domains = DomainList.objects.create(team=team, name=f"list-{mark}",
                                        domains=[f"{mark}.example.com"])
    organization = ConnectedOrganization.objects.create(team=team, provider="github",
                                                        owner=f"org-{mark}", connected_by=admin)
    token = api_token_create(user=admin, name=f"laptop {mark}")
    return {
        "team": team, "repository": repository, "secret": secret, "credential": credential,
        "run": run, "attempt": attempt, "task": task, "verification": verification,
        "image": image, "webhook": webhook, "delivery": delivery,
        "invite": invite.invite, "invite_token": invite.token,
        "member": Membership.objects.get(team=team, user=member), "domains": domains,
        "organization": organization, "token": token.token,
    }


@pytest.fixture
def acme_world(acme, alice, bob) -> dict[str, Any]:
    return make_world(acme, alice, bob, MARK)


@pytest.fixture
def globex_world(globex, carol) -> dict[str, Any]:
    """Globex's own things: the parents carol may open, for ids that mix the two teams."""
    return make_world(globex, carol, carol, "gx47")


def _ids_for(route: Route, world: dict[str, Any]) -> dict[str, Any] | None:
    """The ids of `world`'s things to put in `route`'s parameters, in the route's order (None:
    it takes none)."""
    text = route.route
    if "<" not in _plain(route):
        return None
    by_prefix = [  # the first `<int:pk>` after one of these names this thing
        ("repositories/picker", None),
        ("repositories/connect/organization/", "organization"),
        ("repositories/", "repository"),
        ("api/v1/repositories/", "repository"),
        ("tasks/", "task"), ("api/v1/tasks/", "task"),
        ("attempts/", "attempt"), ("api/v1/attempts/", "attempt"),
        ("images/", "image"),
        ("accounts/team/webhooks/", "webhook"),
        ("accounts/team/invites/", "invite"),
        ("accounts/team/members/", "member"),
        ("accounts/team/domain-lists/", "domains"),
        ("settings/tokens/", "token"),
    ]
    kwargs: dict[str, Any] = {}
    if "<int:pk>" in text:
        thing = next((name for prefix, name in by_prefix if text.startswith(prefix)), None)
        if thing is None:
            pytest.fail(f"{text}: which of a team's things does its pk name? Add it to _ids_for.")
        kwargs["pk"] = world[thing].pk
    others = {
        "secret_id": world["secret"].pk, "credential_id": world["credential"].pk,
        "run_id": world["run"].pk, "verification_pk": world["verification"].pk,
        "webhook_id": world["webhook"].pk, "delivery_id": world["delivery"].pk,
        "team_id": world["team"].pk, "slug": world["team"].slug,
        "token": world["invite_token"],
    }
    for name, value in others.items():
        if f":{name}>" in text:
            kwargs[name] = value
    names = [part.split(">")[0].split(":")[-1] for part in _plain(route).split("<")[1:]]
    missing = [name for name in names if name not in kwargs]
    if missing:
        pytest.fail(f"{text}: no id for {missing}; add it to _ids_for.")
    return {name: kwargs[name] for name in names}


def mixed_ids(route: Route, own: dict[str, Any], foreign: dict[str, Any]
              ) -> dict[str, Any] | None:
    """carol's own parents with Acme's thing last (`tasks/<hers>/verifications/<Acme's>/`), for
    routes with more than one id; None for the others."""
    ours, theirs = _ids_for(route, own), _ids_for(route, foreign)
    if ours is None or theirs is None or len(ours) < 2:
        return None
    last = list(ours)[-1]
    return {**ours, last: theirs[last]}


PLAIN_PARAMETERS = {"<str:fmt>": "csv"}  # parameters that name no team's thing


def _plain(route: Route) -> str:
    """`route` with its parameters that name no thing filled in."""
    text = route.route
    for parameter, value in PLAIN_PARAMETERS.items():
        text = text.replace(parameter, value)
    return text


def _url(route: Route, kwargs: dict[str, Any]) -> str:
    path = _plain(route)
    for name, value in kwargs.items():
        for converter in ("int", "slug", "str"):
            path = path.replace(f"<{converter}:{name}>", str(value))
    return "/" + path


SNAPSHOT_APPS = ("accounts", "repos", "tasks", "api")


def database_state(carol_token_pk: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of the apps' tables (carol's own API token's use time left out)."""
    state: dict[str, list[dict[str, Any]]] = {}
    for label in SNAPSHOT_APPS:
        for model in apps.get_app_config(label).get_models():
            rows = list(model.objects.order_by("pk").values())
            if model._meta.label == "api.ApiToken":
                for row in rows:
                    if row["id"] == carol_token_pk:
                        row.pop("last_used_at", None)
            state[model._meta.label] = rows
    return state


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
    routes = [route for route in all_routes() if "<" in _plain(route)]
    assert len(routes) > 60  # the walk really reached the app's URL confs
    for route in routes:
        _ids_for(route, acme_world)


def test_another_teams_ids_open_nothing_anywhere(acme_world, globex_world, carol, empty_queue):
    carol_client = Client()
    carol_client.force_login(carol)
    carol_token = api_token_create(user=carol, name="carol laptop")
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {carol_token.secret}")
    before = database_state(carol_token.token.pk)
    problems: list[str] = []
    calls = [(route, kwargs) for route in all_routes()
             for kwargs in (_ids_for(route, acme_world), mixed_ids(route, globex_world, acme_world))
             if kwargs is not None]
    assert sum(len(kwargs) > 1 for _, kwargs in calls) >= 20  # the mixed ones are there too
    for route, kwargs in calls:
        url = _url(route, kwargs)
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
        if "<" in _plain(route):
            continue
        client = api_client if route.is_api else carol_client
        for query in queries:
            url = "/" + _plain(route) + query
            response = client.get(url)
            body = b"".join(response) if response.streaming else response.content
            if MARK.encode() in body.lower():
                leaks.append(url)
    assert leaks == []
