"""The composer: submitting creates the task and its attempts and enqueues one job each."""

from __future__ import annotations

import re

from django.test import Client

from tasks.composer import LAST_REPOSITORY_KEY
from tasks.models import Attempt, Event, Task
from tests.support import factories
from tests.support.celery_queue import queued_jobs
from tests.support.composer import submit


def test_submit_creates_task_attempts_and_one_job_each(
    alice_client, alice, acme_repo, empty_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = submit(alice_client, acme_repo, attempts="3", mode="code", model_tier="strong")
    task = Task.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert (task.author, task.team, task.repository) == (alice, acme_repo.team, acme_repo)
    assert (task.mode, task.model_tier, task.attempt_count) == ("code", "strong", 3)
    assert task.base_branch == "main", "an empty branch means the repository's default"
    attempts = list(task.attempts.order_by("index"))
    assert [a.index for a in attempts] == [1, 2, 3]
    assert all(a.status == "queued" for a in attempts)
    assert queued_jobs() == [], "nothing is enqueued before the transaction commits"

    for callback in callbacks:
        callback()
    jobs = queued_jobs()
    assert [(j.task, j.args) for j in jobs] == [("tasks.run_attempt", [a.pk]) for a in attempts]


def test_submit_records_a_queued_event_per_attempt(alice_client, acme_repo):
    submit(alice_client, acme_repo, attempts="2")
    for attempt in Attempt.objects.all():
        event = Event.objects.get(attempt=attempt)
        assert (event.seq, event.kind, event.payload["status"]) == (1, "status", "queued")


def test_task_page_shows_the_real_status(alice_client, acme_repo):
    response = submit(alice_client, acme_repo)
    page = alice_client.get(response["Location"]).content.decode()
    assert "Why does the build take so long?" in page
    # "Queued" alone is on every page (the sidebar's status filter): look at the task's badge.
    assert 'id="task-status" data-status>Queued</span>' in page


def test_bad_input_keeps_everything_typed(alice_client, acme, acme_repo):
    other = factories.make_repository(acme, owner="acme", name="api")
    response = submit(
        alice_client,
        other,
        prompt="Keep this text\nsecond line",
        base_branch="bad branch",
        attempts="3",
        model_tier="strong",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Branch names cannot contain spaces." in html
    assert "Keep this text\nsecond line</textarea>" in html
    assert (f'<option value="{other.pk}" selected data-default-branch="main" '
            f'data-branches-url="/repositories/{other.pk}/branches/" '
            f'data-pulls-url="/repositories/{other.pk}/pulls/">') in html
    assert 'value="bad branch"' in html
    assert '<option value="3" selected>' in html
    assert '<option value="strong" selected>' in html
    assert 'id="error-summary"' in html and 'href="#id_base_branch"' in html
    assert not Task.objects.exists()


def test_missing_prompt_and_repository_are_both_reported(alice_client, acme_repo):
    response = alice_client.post(
        "/", {"prompt": "", "repository": "", "mode": "code", "attempts": "1", "model_tier": "fast"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Describe what you want the agent to do." in html
    assert "Choose a repository." in html
    assert "There are 2 problems" in html


def test_another_teams_repository_is_refused(alice_client, acme, globex_repo):
    factories.make_repository(acme)
    response = submit(alice_client, globex_repo)
    assert response.status_code == 400
    assert b"Choose one of your team&#x27;s repositories." in response.content
    assert not Task.objects.exists()


def test_composer_remembers_the_last_repository(alice_client, acme, acme_repo):
    other = factories.make_repository(acme, owner="acme", name="api", default_branch="trunk")
    home = alice_client.get("/").content.decode()
    picker = home.split('id="id_repository"')[1].split("</select>")[0]
    assert not re.search(r'<option value="\d+"[^>]* selected', picker), "nothing chosen yet"

    submit(alice_client, other)
    assert alice_client.session[LAST_REPOSITORY_KEY] == other.pk
    form = alice_client.get("/").context["form"]
    assert form.initial["repository"] == other.pk
    assert form.fields["base_branch"].widget.attrs["placeholder"] == "trunk"


def test_a_remembered_repository_of_another_team_is_ignored(
    alice_client, acme, acme_repo, globex_repo
):
    factories.make_repository(acme, owner="acme", name="api")
    session = alice_client.session
    session[LAST_REPOSITORY_KEY] = globex_repo.pk
    session.save()
    assert alice_client.get("/").context["form"].initial["repository"] is None
    assert (
        alice_client.get(f"/?repository={globex_repo.pk}").context["form"].initial["repository"]
        is None
    )


def test_repository_link_preselects_it(alice_client, acme, acme_repo):
    other = factories.make_repository(acme, owner="acme", name="api")
    listing = alice_client.get("/repositories/").content.decode()
    assert f'href="/?repository={other.pk}"' in listing
    form = alice_client.get(f"/?repository={other.pk}").context["form"]
    assert form.initial["repository"] == other.pk


def test_a_teams_only_repository_is_preselected(alice_client, acme_repo):
    assert alice_client.get("/").context["form"].initial["repository"] == acme_repo.pk


def test_no_repositories_empty_state(alice_client, bob, acme):
    html = alice_client.get("/").content.decode()
    assert "No repositories yet" in html and 'href="/repositories/new/"' in html
    assert "<fieldset" in html and "disabled" in html.split("<fieldset")[1].split(">")[0]
    bob_client = Client()
    bob_client.force_login(bob)
    html = bob_client.get("/").content.decode()
    assert 'href="/repositories/new/"' not in html
    assert "Ask an admin of Acme to register one." in html


def test_no_tasks_empty_state(alice_client, acme_repo):
    assert "No tasks yet." in alice_client.get("/").content.decode()


def test_history_groups_by_day_and_filters(alice_client, alice, bob, acme, acme_repo):
    other = factories.make_repository(acme, owner="acme", name="api")
    mine = factories.make_task(acme_repo, alice, prompt="Alice asks about webapp")
    bobs = factories.make_task(other, bob, prompt="Bob asks about api")
    failed = factories.make_task(acme_repo, bob, prompt="Bob failed on webapp", status="failed")
    html = alice_client.get("/").content.decode()
    assert "Today" in html
    assert all(t.title in html for t in (mine, bobs, failed))
    assert 'class="badge badge-failed"' in html

    def titles(query):
        page = alice_client.get("/" + query).content.decode()
        history = page.split('id="history"')[1].split("</section>")[0]
        return {t.title for t in (mine, bobs, failed) if t.title in history}

    assert titles(f"?repo={other.pk}") == {bobs.title}
    assert titles(f"?author={bob.pk}") == {bobs.title, failed.title}
    assert titles("?status=failed") == {failed.title}
    assert titles(f"?status=failed&author={alice.pk}") == set()
    empty = alice_client.get("/?status=succeeded").content.decode()
    assert "No tasks match these filters." in empty
    assert titles("?status=bogus&repo=x&author=") == {mine.title, bobs.title, failed.title}


def test_composer_renders_a_bounded_repository_list_but_accepts_any(alice_client, acme):
    """With thousands of repositories the page stays light; the search box finds the rest,
    and any of the team's repositories is still accepted."""
    import re

    from repos.models import Repository
    from tasks.forms import RENDERED_REPOSITORIES
    from tasks.models import Task

    Repository.objects.bulk_create(
        Repository(team=acme, provider="git", owner="bulk", name=f"r{n:04d}", clone_url="/x")
        for n in range(RENDERED_REPOSITORIES + 50)
    )
    last = Repository.objects.get(owner="bulk", name=f"r{RENDERED_REPOSITORIES + 49:04d}")
    page = alice_client.get(f"/?repository={last.pk}").content.decode()
    select = re.search(r'<select[^>]*id="id_repository".*?</select>', page, re.S).group(0)
    values = re.findall(r'<option value="(\d*)"', select)
    assert len(values) == RENDERED_REPOSITORIES + 2  # the blank, the first 200, the chosen one
    assert re.search(rf'<option value="{last.pk}"[^>]*selected', select)

    hidden = Repository.objects.get(owner="bulk", name=f"r{RENDERED_REPOSITORIES + 10:04d}")
    response = alice_client.post(
        "/",
        {
            "prompt": "Why?",
            "repository": hidden.pk,
            "mode": "ask",
            "attempts": 1,
            "model_tier": "fast",
        },
    )
    assert response.status_code == 302
    assert Task.objects.get().repository == hidden

    # "²" is a digit to str.isdigit() but not to int(): a clear form error, not a 500.
    refused = alice_client.post(
        "/",
        {"prompt": "Why?", "repository": "²", "mode": "ask", "attempts": 1, "model_tier": "fast"},
    )
    assert refused.status_code == 400 and Task.objects.count() == 1
