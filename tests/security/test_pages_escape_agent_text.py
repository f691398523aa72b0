"""Markup in anything the agent, a repository or a person wrote never reaches a page as markup:
every page route (read from the URL configuration, tests/security/route_walk.py) is rendered
for alice with her team's things carrying an element in every text — the prompt, the summary,
the log, the patch's file names, the pull request's branch and error, the repository's name,
the setup log, a webhook, a domain list, an invitation — and no HTML page holds that element
unescaped. (The Content-Security-Policy would stop a script anyway: this is the layer under it.)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tasks.models import Event
from tasks.pull_requests.models import PullRequestRecord
from tests.security.route_walk import all_routes, ids_for, make_world, url_for

pytestmark = pytest.mark.django_db

TAG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def hostile_world(acme, alice, bob) -> dict[str, Any]:
    world = make_world(acme, alice, bob, "hx33")
    attempt, task = world["attempt"], world["task"]
    name = f"src/{TAG}.py"
    task.prompt = f"Fix {TAG} now"
    task.save(update_fields=["prompt"])
    attempt.summary = f"Done {TAG} [x](javascript:alert(1)) <script>alert(2)</script>"
    attempt.patch = (f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n"
                     f"+++ b/{name}\n@@ -0,0 +1 @@\n+{TAG}\n")
    attempt.error = f"failed {TAG}"
    attempt.save(update_fields=["summary", "patch", "error"])
    Event.objects.create(attempt=attempt, seq=2, kind="output",
                         payload={"chunk_id": "c1", "stream": "stdout", "text": f"{TAG}\n"})
    PullRequestRecord.objects.filter(attempt=attempt).update(
        branch=f"codexweb/{TAG}", error=f"GitHub said {TAG}")
    repository = world["repository"]
    repository.name = f"web{TAG}"
    repository.save(update_fields=["name"])
    world["run"].log = f"setup {TAG}"
    world["run"].save(update_fields=["log"])
    world["webhook"].url = f"https://hooks.example.com/{TAG}"
    world["webhook"].save(update_fields=["url"])
    world["domains"].name = f"list {TAG}"
    world["domains"].save(update_fields=["name"])
    world["invite"].invitee = f"{TAG}@example.test"
    world["invite"].save(update_fields=["invitee"])
    return world


def test_no_page_shows_their_markup(hostile_world, alice):
    browser = Client()
    browser.force_login(alice)
    rendered, unescaped = 0, []
    for route in all_routes():
        if route.is_api:
            continue
        url = url_for(route, ids_for(route, hostile_world) or {})
        response = browser.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        rendered += 1
        body = response.content.decode(errors="replace")
        if "<img src=x" in body or "<script>alert" in body or "href=\"javascript:" in body:
            unescaped.append(url)
    assert rendered > 25  # the walk rendered the real pages
    assert unescaped == []
