"""Best-of-N re-verification through the REST API and the CLI (issue 15, item 5): the ranking
with each verdict's evidence, combining hunks (409 with the reason when they overlap), Create PR
refused for a combined patch until it is verified, `codexweb rank TASK`. Every response is checked
against the OpenAPI description."""

from __future__ import annotations

import pytest

from codexweb.api.tokens import api_token_create
from tasks.verification.models import Verification
from tasks.verification.services import combined_patch_create, verification_claim
from tests.support import factories
from tests.support.best_of_n import TESTS, best_of_two
from tests.support.cli_runner import cli


def test_the_ranking_lists_the_attempts_best_first_with_their_evidence(alice_api, acme_repo, alice):
    task, first, second = best_of_two(acme_repo, alice)

    body = alice_api.get(f"/tasks/{task.pk}/ranking").json()

    assert body["running"] is False and body["combined"] == []
    assert [(a["attempt_index"], a["rank"], a["verdict"]) for a in body["attempts"]] == [
        (1, 1, "passed"), (2, 2, "checks_failed")]
    last = body["attempts"][1]
    assert last["rank_reason"] == (
        "#2 of 2: some checks fail, behind attempt 1 (all checks pass).")
    assert last["reason"] == f"`{TESTS}` failed with exit code 1."
    assert last["results"][0]["exit_code"] == 1
    assert "E assert 6 == 5" in last["results"][0]["output_tail"]


def test_combining_hunks_makes_a_combined_attempt_that_waits_for_verification(
    alice_api, acme_repo, alice, empty_queue
):
    task, first, second = best_of_two(acme_repo, alice)

    overlap = alice_api.post(f"/tasks/{task.pk}/combine",
                             {"hunks": [f"{first.pk}:0:0", f"{second.pk}:0:0"]})
    assert overlap.status_code == 409 and overlap.json()["code"] == "cannot_combine"
    assert "overlap: they change the same lines" in overlap.json()["error"]
    bad = alice_api.post(f"/tasks/{task.pk}/combine", {"hunks": []})
    assert bad.status_code == 400

    made = alice_api.post(f"/tasks/{task.pk}/combine",
                          {"hunks": [f"{first.pk}:0:0", f"{second.pk}:1:0"]})

    assert made.status_code == 201, made.json()
    combined = made.json()
    assert (combined["attempt_index"], combined["status"], combined["rank"]) == (3, "queued", None)
    assert combined["hunks"] == [f"{first.pk}:0:0", f"{second.pk}:1:0"]
    assert made["Location"] == f"/api/v1/tasks/{task.pk}/ranking"
    pr = alice_api.post(f"/tasks/{task.pk}/pr", {"attempt": 3})
    assert pr.status_code == 409 and pr.json()["code"] == "not_verified"
    assert pr.json()["error"].startswith("The combined patch is still being verified")
    assert alice_api.get(f"/tasks/{task.pk}/ranking").json()["running"] is True


def test_create_pr_without_an_attempt_number_takes_the_best_ranked(alice_api, acme_repo, alice):
    from tasks.pull_requests.services import pull_request_attempt

    task, first, second = best_of_two(acme_repo, alice, first_passes=False)

    assert pull_request_attempt(task) == second
    ranked = alice_api.get(f"/tasks/{task.pk}/ranking").json()["attempts"]
    assert [a["attempt_index"] for a in ranked] == [2, 1]


def test_another_teams_task_has_no_ranking_and_cannot_be_combined(carol_api, acme_repo, alice):
    task, first, _second = best_of_two(acme_repo, alice)
    assert carol_api.get(f"/tasks/{task.pk}/ranking").status_code == 404
    response = carol_api.post(f"/tasks/{task.pk}/combine", {"hunks": [f"{first.pk}:0:0"]})
    assert response.status_code == 404
    assert Verification.objects.filter(task=task).count() == 2


def test_a_stopped_verification_ends_unverified_at_once_or_while_it_runs(
    alice_api, carol_api, acme_repo, alice, empty_queue
):
    task, first, second = best_of_two(acme_repo, alice)
    queued = combined_patch_create(task=task, by=alice, hunk_ids=[f"{first.pk}:0:0"])
    running = combined_patch_create(task=task, by=alice, hunk_ids=[f"{second.pk}:1:0"])
    verification_claim(verification_id=running.pk)
    url = f"/tasks/{task.pk}/verifications/{{}}/stop"
    assert carol_api.post(url.format(queued.pk)).status_code == 404  # another team's

    stopped = alice_api.post(url.format(queued.pk))

    assert stopped.status_code == 200, stopped.json()
    body = stopped.json()
    assert (body["status"], body["verdict"], body["stopping"]) == ("done", "unverified", False)
    assert body["reason"] == (
        "Stopped by alice before any check finished; the patch was not verified.")
    again = alice_api.post(url.format(queued.pk))
    assert again.status_code == 409 and again.json()["code"] == "already_ended"

    marked = alice_api.post(url.format(running.pk)).json()

    # A running one ends when its worker sees the mark (tests/agent/test_verification_stop.py).
    assert (marked["status"], marked["stopping"], marked["verdict"]) == ("running", True, None)
    assert alice_api.get(f"/tasks/{task.pk}/ranking").json()["running"] is True
    other, *_ = best_of_two(acme_repo, alice)
    assert alice_api.post(f"/tasks/{other.pk}/verifications/{running.pk}/stop").status_code == 404


@pytest.fixture
def cli_world(transactional_db, tmp_path, empty_queue):
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    repo = factories.make_repository(acme, owner="acme", name="webapp")
    token = api_token_create(user=alice, name="cli").secret
    return {"token": token, "home": tmp_path / "home", "repo": repo, "alice": alice}


def test_codexweb_rank_prints_the_ranking_and_why(live_app, cli_world):
    task, _first, _second = best_of_two(cli_world["repo"], cli_world["alice"])
    login = cli(cli_world, "login", "--server", live_app.url, "--token", cli_world["token"])
    assert login.returncode == 0, login.stderr

    result = cli(cli_world, "rank", str(task.pk))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Task {task.pk}"
    assert lines[1] == " #1 attempt 1: All checks pass, 2 lines"
    assert lines[3] == " #2 attempt 2: Some checks fail, 3 lines"
    assert lines[4] == f"      `{TESTS}` failed with exit code 1."
    assert "      | E assert 6 == 5" in lines
