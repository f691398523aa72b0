"""Walking every URL the app serves with real ids (tests/security/test_foreign_ids.py and
test_request_forgery.py): the routes read from the URL configuration, one of everything a team
has (`make_world`), the ids to put in each route, and the whole database to compare before and
after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
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

# Routes that are not about a team's things at all.
NOT_TEAM_ROUTES = {"admin/", "oauth/", "healthz", "api/v1/openapi.json", "static/"}


@dataclass(frozen=True)
class Route:
    """One URL pattern, its full route text (`repositories/<int:pk>/branches/`) and name."""

    route: str
    name: str

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/v1/")


def walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route(prefix + str(entry.pattern), entry.name or "")


def all_routes() -> list[Route]:
    return [
        route for route in walk(get_resolver().url_patterns)
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


def ids_for(route: Route, world: dict[str, Any]) -> dict[str, Any] | None:
    """The ids of `world`'s things to put in `route`'s parameters, in the route's order (None:
    it takes none)."""
    text = route.route
    if "<" not in plain(route):
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
            pytest.fail(f"{text}: which of a team's things does its pk name? Add it to ids_for.")
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
    names = [part.split(">")[0].split(":")[-1] for part in plain(route).split("<")[1:]]
    missing = [name for name in names if name not in kwargs]
    if missing:
        pytest.fail(f"{text}: no id for {missing}; add it to ids_for.")
    return {name: kwargs[name] for name in names}


def mixed_ids(route: Route, own: dict[str, Any], foreign: dict[str, Any]
              ) -> dict[str, Any] | None:
    """`own` parents with the `foreign` thing last (`tasks/<mine>/verifications/<theirs>/`), for
    routes with more than one id; None for the others."""
    ours, theirs = ids_for(route, own), ids_for(route, foreign)
    if ours is None or theirs is None or len(ours) < 2:
        return None
    last = list(ours)[-1]
    return {**ours, last: theirs[last]}


PLAIN_PARAMETERS = {"<str:fmt>": "csv"}  # parameters that name no team's thing


def plain(route: Route) -> str:
    """`route` with its parameters that name no thing filled in."""
    text = route.route
    for parameter, value in PLAIN_PARAMETERS.items():
        text = text.replace(parameter, value)
    return text


def url_for(route: Route, kwargs: dict[str, Any]) -> str:
    path = plain(route)
    for name, value in kwargs.items():
        for converter in ("int", "slug", "str"):
            path = path.replace(f"<{converter}:{name}>", str(value))
    return "/" + path


SNAPSHOT_APPS = ("accounts", "repos", "tasks", "api")


def database_state(*token_pks: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of the apps' tables (the use time of the callers' own API tokens left out)."""
    state: dict[str, list[dict[str, Any]]] = {}
    for label in SNAPSHOT_APPS:
        for model in apps.get_app_config(label).get_models():
            rows = list(model.objects.order_by("pk").values())
            if model._meta.label == "api.ApiToken":
                for row in rows:
                    if row["id"] in token_pks:
                        row.pop("last_used_at", None)
            state[model._meta.label] = rows
    return state


