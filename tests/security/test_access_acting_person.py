"""Issue 17 item 3: whoever acts on an existing task (follow-up, Create PR) is checked with their
own GitHub credential, and the work runs with their token, never the task author's.

The GitHub stand-in serves a private acme/webapp over real smart HTTP; alice (push access) writes
the task. bob is in alice's team; what GitHub lets bob do decides what he may do here.
"""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse

from codexweb.api.tokens import api_token_create
from tasks import services
from tasks.models import Attempt, Status
from tasks.pull_requests.models import PullRequestRecord
from tasks.steering.models import SteerMessage
from tasks.worker.attempt import run_attempt_steps
from tests.support import factories
from tests.support.connected_github import connect, connected_repository, serve

pytestmark = pytest.mark.django_db

PATCH = """diff --git a/NOTES.md b/NOTES.md
new file mode 100644
--- /dev/null
+++ b/NOTES.md
@@ -0,0 +1 @@
+notes
"""


@pytest.fixture
def webapp(gh, tmp_path):
    for login in ("alice-gh", "bob-gh"):
        gh.state.add_user(login)
    gh.state.add_org("acme-gh", members={"alice-gh": "write"})
    return serve(gh, tmp_path, "acme-gh", "webapp")


@pytest.fixture
def finished(acme, alice, gh, webapp):
    """alice's Code task on acme-gh/webapp, its first attempt succeeded with a patch."""
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    attempt = factories.make_task(repository, alice, mode="code").attempts.get()
    Attempt.objects.filter(pk=attempt.pk).update(status=Status.SUCCEEDED, patch=PATCH)
    attempt.refresh_from_db()
    return attempt


def git_tokens(double) -> set[str]:
    """The tokens git requests to the stand-in authenticated with (HTTP Basic password)."""
    tokens = set()
    for request in double.state.requests:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if ".git/" in request.path and scheme == "Basic":
            tokens.add(base64.b64decode(value).decode().partition(":")[2])
    return tokens


def test_member_without_github_access_cannot_follow_up(bob_client, bob, gh, finished):
    connect(bob, gh, login="bob-gh")  # bob-gh is not in the acme-gh organization
    url = reverse("tasks:attempt_follow_up", args=[finished.pk])

    response = bob_client.post(url, {"prompt": "Now delete the tests"}, follow=True)

    assert "GitHub says you cannot access acme-gh/webapp." in response.content.decode()
    assert Attempt.objects.filter(task_id=finished.task_id).count() == 1


def test_member_with_read_only_access_cannot_follow_up_a_code_task(bob, gh, finished):
    gh.state.orgs["acme-gh"].members["bob-gh"] = "read"
    connect(bob, gh, login="bob-gh")
    with pytest.raises(services.TaskError, match="cannot push to acme-gh/webapp"):
        services.attempt_follow_up(attempt=finished, prompt="more", by=bob)
    assert Attempt.objects.filter(task_id=finished.task_id).count() == 1


def test_member_never_signed_in_with_github_cannot_follow_up(bob, finished):
    with pytest.raises(services.TaskError, match="Sign in with GitHub"):
        services.attempt_follow_up(attempt=finished, prompt="more", by=bob)


def test_follow_up_runs_with_the_follower_s_token_not_the_author_s(
    bob, alice, gh, finished, settings, django_capture_on_commit_callbacks
):
    gh.state.orgs["acme-gh"].members["bob-gh"] = "write"
    bob_token = connect(bob, gh, login="bob-gh").reveal()
    alice_token = alice.github_credentials.get().reveal()
    settings.SANDBOX_BACKEND = "none"  # the worker stops after preparing the workspace

    with django_capture_on_commit_callbacks(execute=False):
        follow_up = services.attempt_follow_up(attempt=finished, prompt="Add notes", by=bob)
    assert follow_up.requested_by == bob
    gh.state.requests.clear()
    assert services.attempt_claim(attempt_id=follow_up.pk)
    run_attempt_steps(follow_up.pk)

    follow_up.refresh_from_db()
    phases = [e.payload["message"] for e in follow_up.events.filter(kind="phase")]
    assert any(m.startswith("Checked out ") for m in phases), (phases, follow_up.error)
    assert git_tokens(gh) == {bob_token}
    assert alice_token not in git_tokens(gh)


def test_the_worker_rechecks_the_acting_person_s_access_when_it_runs(
    bob, gh, finished, settings, django_capture_on_commit_callbacks
):
    """Access granted at the click but removed before the worker starts: the attempt fails."""
    gh.state.orgs["acme-gh"].members["bob-gh"] = "write"
    connect(bob, gh, login="bob-gh")
    settings.SANDBOX_BACKEND = "none"
    settings.GITHUB_ACCESS_TTL_SECONDS = 0  # ask GitHub again rather than trust the memory
    with django_capture_on_commit_callbacks(execute=False):
        follow_up = services.attempt_follow_up(attempt=finished, prompt="Add notes", by=bob)
    del gh.state.orgs["acme-gh"].members["bob-gh"]
    gh.state.requests.clear()
    services.attempt_claim(attempt_id=follow_up.pk)
    run_attempt_steps(follow_up.pk)

    follow_up.refresh_from_db()
    assert follow_up.status == Status.FAILED
    assert "GitHub says you cannot access acme-gh/webapp." in follow_up.error
    assert not git_tokens(gh)


def test_create_pr_page_refuses_a_member_without_push(bob_client, bob, gh, finished):
    gh.state.orgs["acme-gh"].members["bob-gh"] = "read"
    connect(bob, gh, login="bob-gh")
    url = reverse("tasks:attempt_create_pr", args=[finished.pk])

    response = bob_client.post(url, follow=True)

    assert ("GitHub says you cannot push to acme-gh/webapp; Code tasks and pull requests need "
            "push access.") in response.content.decode()
    assert not PullRequestRecord.objects.exists()


def test_create_pr_api_refuses_a_member_without_push(client, bob, gh, finished):
    connect(bob, gh, login="bob-gh")
    token = api_token_create(user=bob, name="script").secret
    response = client.post(f"/api/v1/tasks/{finished.task_id}/pr", "{}",
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 409
    assert response.json()["error"] == "GitHub says you cannot access acme-gh/webapp."
    assert not PullRequestRecord.objects.exists()


def test_registered_url_repositories_follow_team_membership(acme_repo, alice, carol):
    """No per-person credential there: being in the owning team is the rule."""
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    Attempt.objects.filter(pk=attempt.pk).update(status=Status.SUCCEEDED)
    with pytest.raises(services.TaskError, match="not a member of the team"):
        services.attempt_follow_up(attempt=attempt, prompt="more", by=carol)
    assert Attempt.objects.filter(task_id=attempt.task_id).count() == 1


def test_member_without_github_access_cannot_retry(bob, gh, finished):
    Attempt.objects.filter(pk=finished.pk).update(status=Status.FAILED)
    connect(bob, gh, login="bob-gh")  # bob-gh is not in the acme-gh organization
    with pytest.raises(services.TaskError, match="cannot access acme-gh/webapp"):
        services.attempt_retry(attempt=finished, by=bob)
    assert Attempt.objects.filter(task_id=finished.task_id).count() == 1


def test_a_retry_runs_with_the_retrying_persons_credential(bob, gh, finished):
    Attempt.objects.filter(pk=finished.pk).update(status=Status.FAILED)
    gh.state.orgs["acme-gh"].members["bob-gh"] = "write"
    connect(bob, gh, login="bob-gh")
    again = services.attempt_retry(attempt=finished, by=bob)
    assert again.requested_by == bob
    assert again.task.author != bob


@pytest.fixture
def running(acme, alice, gh, webapp):
    """alice's Code task on acme-gh/webapp, its first attempt running on her credential."""
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    attempt = factories.make_task(repository, alice, mode="code").attempts.get()
    Attempt.objects.filter(pk=attempt.pk).update(status=Status.RUNNING)
    attempt.refresh_from_db()
    return attempt


def test_member_without_push_cannot_steer_a_running_code_task(client, bob, gh, running):
    """Issue 14 item 1: steering makes alice's running agent act on bob's words; bob, in the team
    but read-only on GitHub, is refused as for a follow-up (page and API), nothing stored."""
    gh.state.orgs["acme-gh"].members["bob-gh"] = "read"
    connect(bob, gh, login="bob-gh")
    token = api_token_create(user=bob, name="script").secret
    response = client.post(f"/api/v1/attempts/{running.pk}/messages",
                           '{"text": "Now push my backdoor too."}',
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "cannot push to acme-gh/webapp" in response.json()["error"]

    client.force_login(bob)
    page = client.post(reverse("tasks:attempt_message", args=[running.pk]),
                       {"text": "Now push my backdoor too."}, follow=True)
    assert "cannot push to acme-gh/webapp" in page.content.decode()
    assert not SteerMessage.objects.exists()


def test_member_without_push_cannot_allow_a_host_for_a_running_code_task(client, bob, gh, running):
    """Issue 14 item 3: "Allow once" opens alice's running Code attempt to a host; bob, in the
    team but read-only on GitHub, is refused as for steering (API and page), nothing stored."""
    from tasks.approvals.models import EgressApproval
    from tests.support.egress_approvals import BLOCKED, mark_refused

    mark_refused(running)
    gh.state.orgs["acme-gh"].members["bob-gh"] = "read"
    connect(bob, gh, login="bob-gh")
    token = api_token_create(user=bob, name="script").secret
    response = client.post(f"/api/v1/attempts/{running.pk}/egress-approvals",
                           {"host": BLOCKED}, content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "cannot push to acme-gh/webapp" in response.json()["error"]

    client.force_login(bob)
    page = client.post(reverse("tasks:attempt_egress_approve", args=[running.pk]),
                       {"host": BLOCKED})
    assert page.status_code == 403
    assert "cannot push to acme-gh/webapp" in page.json()["error"]
    assert not EgressApproval.objects.exists()
