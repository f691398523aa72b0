"""The "run setup now" button: admins start a run, members read runs, other teams get 404;
one run at a time per environment; the run's page and its JSON show the log escaped and
without ANSI codes; the job's failures before the sandbox are clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from codexweb.audit.models import AuditEntry
from repos.models import SetupRun
from repos.setup_runs.flow import SetupRunLog
from repos.setup_runs.services import (
    SetupRunError,
    setup_run_claim,
    setup_run_finish,
    setup_run_request,
)

SECRET = "s3cr3t-value-that-must-never-show-9f8e7d"


@pytest.fixture
def sandbox_on(settings):
    settings.SANDBOX_BACKEND = "docker"
    return settings


@pytest.fixture
def scripted(acme_repo):
    environment = acme_repo.environment
    environment.setup_script = "pip install -e ."
    environment.save()
    return acme_repo


def _run(repo, user, **fields) -> SetupRun:
    return SetupRun.objects.create(environment=repo.environment, requested_by=user, **fields)


def _urls(repo, run) -> dict[str, str]:
    return {
        "page": reverse("repos:setup_run_detail", args=[repo.pk, run.pk]),
        "status": reverse("repos:setup_run_status", args=[repo.pk, run.pk]),
    }


def test_admin_starts_a_run_and_is_shown_it(
    alice_client, acme, scripted, sandbox_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice_client.post(reverse("repos:setup_run", args=[scripted.pk]))
    run = SetupRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _urls(scripted, run)["page"]
    assert run.status == "queued" and run.branch == "main"
    assert run.requested_by.get_username() == "alice"
    assert len(callbacks) == 1  # the job is enqueued only once the request committed
    entry = AuditEntry.objects.get(team=acme, action="environment.setup_run")
    assert entry.actor_name == "alice" and entry.target == "acme/webapp"
    assert entry.changes == {"run": run.pk, "branch": "main"}
    page = alice_client.get(response["Location"])
    assert page.status_code == 200
    assert 'data-status-url="' + _urls(scripted, run)["status"] in page.content.decode()


def test_the_button_asks_first_and_is_enabled_with_a_sandbox(alice_client, scripted, sandbox_on):
    body = alice_client.get(reverse("repos:environment", args=[scripted.pk])).content.decode()
    button = body.split('id="run-setup"')[1].split(">")[0]
    assert "disabled" not in button
    assert 'data-confirm="Run the setup script of acme/webapp now' in body


def test_without_a_setup_script_the_button_says_why(alice_client, acme_repo, sandbox_on):
    body = alice_client.get(reverse("repos:environment", args=[acme_repo.pk])).content.decode()
    assert 'id="run-setup" disabled' in body
    assert "There is no setup script to run" in body
    response = alice_client.post(reverse("repos:setup_run", args=[acme_repo.pk]), follow=True)
    assert "There is no setup script to run" in response.content.decode()
    assert not SetupRun.objects.exists()


def test_a_second_request_while_one_runs_is_refused(alice, alice_client, scripted, sandbox_on):
    first = setup_run_request(repository=scripted, actor=alice)
    with pytest.raises(SetupRunError, match="already queued or running"):
        setup_run_request(repository=scripted, actor=alice)
    assert setup_run_claim(run_id=first.pk)
    response = alice_client.post(reverse("repos:setup_run", args=[scripted.pk]), follow=True)
    assert "already queued or running" in response.content.decode()
    assert SetupRun.objects.count() == 1
    # Once it ended, another may start.
    assert setup_run_finish(run_id=first.pk, succeeded=True, exit_code=0)
    second = setup_run_request(repository=scripted, actor=alice)
    assert second.status == "queued"


def test_an_abandoned_run_does_not_block_forever(alice, scripted, sandbox_on):
    stale = _run(scripted, alice, status="running")
    SetupRun.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=1))
    fresh = setup_run_request(repository=scripted, actor=alice)
    stale.refresh_from_db()
    assert stale.status == "failed" and "worker stopped" in stale.error
    assert fresh.status == "queued"


def test_a_member_sees_runs_but_cannot_start_one(bob, bob_client, alice, scripted, sandbox_on):
    run = _run(scripted, alice, status="succeeded", log="installed\n")
    response = bob_client.post(reverse("repos:setup_run", args=[scripted.pk]))
    assert response.status_code == 404
    with pytest.raises(SetupRunError, match="Only team admins"):
        setup_run_request(repository=scripted, actor=bob)
    assert SetupRun.objects.count() == 1
    body = bob_client.get(reverse("repos:environment", args=[scripted.pk])).content.decode()
    assert 'id="run-setup"' not in body
    assert _urls(scripted, run)["page"] in body
    assert bob_client.get(_urls(scripted, run)["page"]).status_code == 200
    assert bob_client.get(_urls(scripted, run)["status"]).json()["log"] == "installed\n"


def test_other_team_gets_404_for_every_run_url(carol_client, globex, alice, scripted, sandbox_on):
    run = _run(scripted, alice, log="x")
    assert carol_client.post(reverse("repos:setup_run", args=[scripted.pk])).status_code == 404
    for url in _urls(scripted, run).values():
        assert carol_client.get(url).status_code == 404
    assert SetupRun.objects.count() == 1


def test_a_run_is_only_found_under_its_own_repository(alice_client, alice, acme, scripted):
    from tests.support import factories

    other = factories.make_repository(acme, owner="acme", name="other")
    run = _run(scripted, alice)
    assert alice_client.get(_urls(other, run)["page"]).status_code == 404
    assert alice_client.get(_urls(other, run)["status"]).status_code == 404


def test_anonymous_gets_sign_in_or_401(client, alice, scripted):
    run = _run(scripted, alice)
    assert client.get(_urls(scripted, run)["page"]).status_code == 302
    response = client.get(_urls(scripted, run)["status"])
    assert response.status_code == 401 and "error" in response.json()


def test_the_log_is_escaped_and_ansi_stripped(alice_client, alice, scripted):
    log = "\x1b[32mok\x1b[0m <script>alert(1)</script>\r\nnext\n"
    run = _run(scripted, alice, status="running", log=log)
    page = alice_client.get(_urls(scripted, run)["page"]).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "\x1b" not in page
    assert f'data-offset="{len(log)}"' in page
    data = alice_client.get(_urls(scripted, run)["status"]).json()
    assert data["log"] == "ok <script>alert(1)</script>\nnext\n"  # text; the page sets textContent
    assert data["offset"] == len(log) and data["active"] is True
    # Polling from the offset returns only what was added since.
    SetupRun.objects.filter(pk=run.pk).update(log=log + "more\n", status="failed", error="boom")
    later = alice_client.get(_urls(scripted, run)["status"] + f"?offset={len(log)}").json()
    assert later["log"] == "more\n"
    assert later["active"] is False and later["status"] == "failed" and later["error"] == "boom"
    assert alice_client.get(_urls(scripted, run)["status"] + "?offset=x").status_code == 400


def test_a_finished_run_page_does_not_poll(alice_client, alice, scripted):
    run = _run(scripted, alice, status="failed", error="The setup script failed with exit code 3.")
    page = alice_client.get(_urls(scripted, run)["page"]).content.decode()
    assert "data-status-url" not in page
    assert "The setup script failed with exit code 3." in page


def test_a_member_cannot_read_another_teams_run(bob, globex_repo, carol):
    foreign = _run(globex_repo, carol)
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.get(_urls(globex_repo, foreign)["page"]).status_code == 404


def test_the_log_is_written_in_batches_and_capped(alice, scripted):
    run = _run(scripted, alice, status="running")
    now = [0.0]
    log = SetupRunLog(run.pk, max_bytes=40, interval=0.5, clock=lambda: now[0])
    log.write("line one\n")
    run.refresh_from_db()
    assert run.log == ""  # not yet: the batch is still open
    now[0] = 0.6
    log.write("line two\n")
    run.refresh_from_db()
    assert run.log == "line one\nline two\n"
    log.write("x" * 100)
    log.write("dropped")
    log.flush()
    run.refresh_from_db()
    assert run.log.startswith("line one\nline two\n" + "x" * 22 + "\n[log truncated")
    assert "dropped" not in run.log and run.log_truncated


@pytest.fixture
def local_repo(tmp_path, acme, settings):
    """A repository registered from a local git repository (branch main), with a script."""
    import subprocess

    from repos.services import repository_register

    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    path = tmp_path / "project"
    path.mkdir()
    (path / "README").write_text("hello\n")
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.test"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    subprocess.run(["git", "add", "."], cwd=path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], cwd=path, check=True)
    repository = repository_register(team=acme, location=str(path))
    repository.environment.setup_script = "echo hi"
    repository.environment.save()
    return repository


def test_a_missing_branch_fails_the_run_clearly(alice, local_repo, sandbox_on):
    from repos.jobs import run_setup

    local_repo.default_branch = "gone"
    local_repo.save()
    run = setup_run_request(repository=local_repo, actor=alice)
    run_setup(run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("Branch or commit 'gone' was not found in ")
    assert "'gone' was not found" in run.log


def test_without_a_docker_engine_the_run_fails_clearly(alice, local_repo, sandbox_on, monkeypatch):
    from repos.jobs import run_setup

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    run = setup_run_request(repository=local_repo, actor=alice)
    run_setup(run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "cannot reach the Docker engine" in run.error
    assert len(run.commit) == 40  # it got as far as the checkout


def test_a_backend_switched_off_meanwhile_fails_the_run_clearly(alice, local_repo, sandbox_on):
    from repos.jobs import run_setup

    run = setup_run_request(repository=local_repo, actor=alice)
    sandbox_on.SANDBOX_BACKEND = "none"
    run_setup(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "SANDBOX_BACKEND=docker" in run.error
