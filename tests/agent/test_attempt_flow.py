"""The whole worker path of an attempt, as a Celery worker runs it: a repository registered
from a local path, a task created through the service, the job run; the real mirror, a real
Docker sandbox and the scripted model server in between."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from pathlib import Path

import docker
import pytest
from django.db import connections

from repos.installation.services import install_id
from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.models import Status
from tasks.sandbox.spec import LABEL_WARM_INSTALL
from tasks.services import task_create
from tests.support.calc_repo import CALC, FIX, TESTS, summary_citing_the_green_run
from tests.support.model_server import call, reply

pytestmark = pytest.mark.docker


def code_task(team, author, repo_path):
    """A Code task on a repository registered from `repo_path`, as the composer creates it."""
    repository = repository_register(team=team, location=str(repo_path))
    return task_create(
        author=author,
        repository=repository,
        mode="code",
        prompt="Fix the failing test.",
        base_branch="main",
    )


def kinds_of(attempt) -> list[str]:
    return list(attempt.events.order_by("seq").values_list("kind", flat=True))


def test_code_task_runs_from_queue_to_a_patch(
    worker_settings, model_server, acme, alice, fixture_repo
):
    model_server.add(
        reply(call("shell", {"command": TESTS})),
        reply(call("apply_patch", {"patch": FIX})),
        reply(call("shell", {"command": TESTS})),
        summary_citing_the_green_run,
    )
    task = code_task(acme, alice, fixture_repo)
    attempt = task.attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    task.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert task.status == Status.SUCCEEDED
    assert "-    return a - b\n+    return a + b\n" in attempt.patch
    assert attempt.patch.count("diff --git") == 1
    assert attempt.input_tokens > 0
    assert "tests pass" in attempt.summary
    seen = kinds_of(attempt)
    assert seen[:2] == [kinds.STATUS, kinds.STATUS]  # queued, running
    assert kinds.PHASE in seen and kinds.COMMAND_END in seen and kinds.SUMMARY in seen
    summary = attempt.events.get(kind=kinds.SUMMARY).payload
    assert all(c["valid"] for c in summary["citations"]), summary["citations"]
    # The token-free, registered-path repository went through the host mirror.
    assert any((worker_settings.GIT_MIRROR_ROOT).rglob("HEAD"))


def test_the_host_checkout_is_gone_while_the_agent_works_on_its_copy(
    worker_settings, model_server, acme, alice, fixture_repo, tmp_path, monkeypatch
):
    """The checkout on the host is read once, when the container copies it in: its disk space
    and its removal do not wait for the attempt's end."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's folders only
    attempt = code_task(acme, alice, fixture_repo).attempts.get()
    host_folders = tmp_path.glob
    left_while_working: list[list[Path]] = []

    def apply_fix_once_the_host_copy_is_gone(request):  # noqa: ANN001, ANN202
        deadline = time.monotonic() + 10
        left = list(host_folders(f"codexweb-attempt-{attempt.pk}-*"))
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = list(host_folders(f"codexweb-attempt-{attempt.pk}-*"))
        left_while_working.append(left)
        return reply(call("apply_patch", {"patch": FIX}))

    model_server.add(
        reply(call("shell", {"command": "cat calc.py"})),
        apply_fix_once_the_host_copy_is_gone,
        reply(call("shell", {"command": TESTS})),
        summary_citing_the_green_run,
    )

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert left_while_working == [[]], "the host checkout outlived the container's start"
    # The agent's own copy was whole: it read calc.py and its fix applied and passed.
    assert "return a - b" in "".join(model_server.requests[1].tool_outputs())
    assert "+    return a + b\n" in attempt.patch


def sibling_step(request):  # noqa: ANN001, ANN201
    """Each best-of-N sibling's own turns (the two run at once): read calc.py, fix it, run the
    tests, say so."""
    ran = len(request.tool_outputs())
    if ran == 0:
        return reply(call("shell", {"command": "cat calc.py"}))
    if ran == 1:
        return reply(call("apply_patch", {"patch": FIX}))
    if ran == 2:
        return reply(call("shell", {"command": TESTS}))
    return summary_citing_the_green_run(request)


@pytest.mark.django_db(transaction=True)
def test_best_of_n_siblings_copy_one_host_checkout(
    worker_settings, model_server, acme, alice, fixture_repo, tmp_path, monkeypatch
):
    """Siblings starting on the same commit check it out and pack it once on the host; each
    container gets the whole tree, and the shared tree goes once both have their copy."""
    import repos.git.workspace as checkouts
    import tasks.worker.shared_checkout as shared_checkout

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's folders only
    made: list[Path] = []
    real = checkouts.checkout_create

    def counted(repository, *, ref, dest):  # noqa: ANN001, ANN202
        made.append(dest)
        time.sleep(0.5)  # the other sibling comes while it is made
        return real(repository, ref=ref, dest=dest)

    monkeypatch.setattr(checkouts, "checkout_create", counted)
    packed: list[Path] = []
    real_pack = shared_checkout.pack_workspace
    monkeypatch.setattr(shared_checkout, "pack_workspace",
                        lambda source, out: (packed.append(source), real_pack(source, out)))
    model_server.add(*[sibling_step] * 8)
    repository = repository_register(team=acme, location=str(fixture_repo))
    task = task_create(author=alice, repository=repository, mode="code", prompt="Fix add.",
                       base_branch="main", attempts=2)
    siblings = list(task.attempts.order_by("index"))

    def as_a_worker_thread(attempt_id: int) -> None:
        try:
            run_attempt(attempt_id)
        finally:
            connections.close_all()  # this thread's own; the test database is dropped after

    threads = [threading.Thread(target=as_a_worker_thread, args=(a.pk,)) for a in siblings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert not any(thread.is_alive() for thread in threads)
    assert len(made) == 1, "each sibling checked out the same commit again"
    assert len(packed) == 1, "each sibling packed the same tree again"
    for attempt in siblings:
        attempt.refresh_from_db()
        assert attempt.status == Status.SUCCEEDED, attempt.error
        assert "+    return a + b\n" in attempt.patch
    read = [r.tool_outputs()[0] for r in model_server.requests if len(r.tool_outputs()) == 1]
    assert len(read) == 2 and all("return a - b" in out for out in read)
    assert list(tmp_path.glob("codexweb-checkout-*")) == []
    assert list(tmp_path.glob("codexweb-attempt-*")) == []


def test_unknown_branch_fails_with_a_clear_message(worker_settings, acme, alice, fixture_repo):
    repository = repository_register(team=acme, location=str(fixture_repo))
    task = task_create(
        author=alice,
        repository=repository,
        mode="ask",
        prompt="What does calc do?",
        base_branch="no-such-branch",
    )
    attempt = task.attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED
    assert "'no-such-branch' was not found" in attempt.error


def test_ask_task_answers_without_a_patch(worker_settings, model_server, acme, alice, fixture_repo):
    repository = repository_register(team=acme, location=str(fixture_repo))
    model_server.add(
        reply(call("shell", {"command": "cat calc.py"})),
        reply("`add` returns a - b 【F:calc.py†L1-L2】."),
    )
    task = task_create(
        author=alice,
        repository=repository,
        mode="ask",
        prompt="What does add do?",
        base_branch="main",
        model_tier="fast",
    )
    attempt = task.attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert attempt.patch == ""
    assert "a - b" in attempt.summary
    tools = model_server.requests[0].tool_names()
    assert "apply_patch" not in tools
    # The cited file's final text is kept, so the page can open the cited lines.
    assert attempt.cited_files == {"calc.py": CALC}


def test_setup_output_is_published_live_with_secrets_masked(
    worker_settings, model_server, docker_engine, acme, alice, fixture_repo
):
    import uuid

    from repos.environments.services import secret_set

    secret = "tok-0a1b2c3d4e5f-never-shown"
    repository = repository_register(team=acme, location=str(fixture_repo))
    environment = repository.environment
    environment.setup_script = (
        f"# {uuid.uuid4().hex}\n"  # no warm image of an earlier run matches
        'echo "token is $API_TOKEN"\n'
        "printf 'split:%s' \"${API_TOKEN:0:9}\"; sleep 0.5; printf '%s|\\n' \"${API_TOKEN:9}\"\n"
    )
    environment.setup_internet_policy = "off"
    environment.cache_ttl_hours = 0  # leave no warm image behind
    environment.save()
    secret_set(environment=environment, actor=alice, name="API_TOKEN", value=secret)
    model_server.add(reply("Nothing to explain."))
    task = task_create(
        author=alice, repository=repository, mode="ask", prompt="Hi", base_branch="main"
    )
    attempt = task.attempts.get()

    run_attempt(attempt.pk)

    chunk = f"setup-{attempt.pk}"
    events = list(attempt.events.order_by("seq"))
    setup = [e for e in events if e.payload.get("chunk_id") == chunk]
    assert [e.kind for e in setup][0] == kinds.COMMAND
    assert setup[0].payload["command"] == "(setup script)"
    assert setup[-1].kind == kinds.COMMAND_END and setup[-1].payload["exit_code"] == 0
    outputs = [e.payload for e in setup if e.kind == kinds.OUTPUT]
    assert len(outputs) >= 2  # published line by line as it came, not in one piece at the end
    assert "".join(o["text"] for o in outputs) == "token is ***\nsplit:***|\n"
    for event in events:
        text = str(event.payload)
        assert secret not in text and secret[:9] not in text and secret[9:] not in text


def test_a_failed_setup_does_not_leak_a_secret_in_the_error(
    worker_settings, docker_engine, acme, alice, fixture_repo
):
    import uuid

    from repos.environments.services import secret_set

    secret = "tok-9z8y7x6w5v-never-shown"
    repository = repository_register(team=acme, location=str(fixture_repo))
    environment = repository.environment
    environment.setup_script = f'# {uuid.uuid4().hex}\necho "using $API_TOKEN"\nexit 4\n'
    environment.setup_internet_policy = "off"
    environment.save()
    secret_set(environment=environment, actor=alice, name="API_TOKEN", value=secret)
    task = task_create(
        author=alice, repository=repository, mode="ask", prompt="Hi", base_branch="main"
    )
    attempt = task.attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED
    assert "exit code 4" in attempt.error and "using ***" in attempt.error
    assert secret not in attempt.error
    assert all(secret not in str(e.payload) for e in attempt.events.all())


def test_a_warm_start_runs_the_maintenance_script_live_and_masked(
    worker_settings, model_server, docker_engine, acme, alice, fixture_repo
):
    """The second attempt starts from the image the first one prepared: the setup script does
    not run again, the maintenance script does, shown like setup output with the secret masked."""
    import uuid

    from repos.environments.services import secret_set

    secret = "tok-m41nt-never-shown"
    repository = repository_register(team=acme, location=str(fixture_repo))
    environment = repository.environment
    environment.setup_script = f"# {uuid.uuid4().hex}\necho setting-up\n"
    environment.maintenance_script = 'echo "maintaining with $API_TOKEN"\n'
    environment.setup_internet_policy = "off"
    environment.save()
    secret_set(environment=environment, actor=alice, name="API_TOKEN", value=secret)
    try:
        commands = []
        for _ in range(2):
            model_server.add(reply("Nothing to explain."))
            task = task_create(
                author=alice, repository=repository, mode="ask", prompt="Hi", base_branch="main"
            )
            attempt = task.attempts.get()
            run_attempt(attempt.pk)
            attempt.refresh_from_db()
            assert attempt.status == Status.SUCCEEDED, attempt.error
            chunk = f"setup-{attempt.pk}"
            setup = list(attempt.events.filter(payload__chunk_id=chunk).order_by("seq"))
            output = "".join(e.payload["text"] for e in setup if e.kind == kinds.OUTPUT)
            commands.append((setup[0].payload["command"], output))
            assert all(secret not in str(e.payload) for e in attempt.events.all())
    finally:  # only this test's warm image: other suites may share the engine
        made = docker_engine.images.list(
            all=True, filters={"label": f"{LABEL_WARM_INSTALL}={install_id()}"}
        )
        for image in made:
            with contextlib.suppress(docker.errors.NotFound):
                docker_engine.images.remove(image.id, force=True)
    assert commands == [
        ("(setup script)", "setting-up\n"),
        ("(maintenance script)", "maintaining with ***\n"),
    ]


NOTE = "*** Begin Patch\n*** Add File: NOTES.md\n+add() adds.\n*** End Patch"


def fixed_first_attempt(model_server, team, author, repo_path):  # noqa: ANN001, ANN201
    """A Code task's first attempt, run to success: it fixes calc.py and runs the tests."""
    model_server.add(
        reply(call("apply_patch", {"patch": FIX})),
        reply(call("shell", {"command": TESTS})),
        summary_citing_the_green_run,
    )
    first = code_task(team, author, repo_path).attempts.get()
    run_attempt(first.pk)
    first.refresh_from_db()
    assert first.status == Status.SUCCEEDED, first.error
    return first


def test_a_follow_up_continues_the_tree_and_its_patch_holds_the_whole_change(
    worker_settings, model_server, acme, alice, fixture_repo
):
    from tasks.services import attempt_follow_up

    first = fixed_first_attempt(model_server, acme, alice, fixture_repo)

    model_server.add(
        reply(call("shell", {"command": "cat calc.py"})),
        reply(call("apply_patch", {"patch": NOTE})),
        reply(call("shell", {"command": TESTS})),
        summary_citing_the_green_run,
    )
    follow_up = attempt_follow_up(attempt=first, prompt="Add a note.", by=alice)
    run_attempt(follow_up.pk)

    follow_up.refresh_from_db()
    assert follow_up.status == Status.SUCCEEDED, follow_up.error
    # It started from the first attempt's tree...
    cat = [r for r in model_server.requests if "return a + b" in "".join(r.tool_outputs())]
    assert cat, "the follow-up saw the fixed calc.py"
    # ...and its patch, against the branch, holds both changes.
    assert "+    return a + b" in follow_up.patch
    assert "+add() adds." in follow_up.patch


def test_a_follow_up_may_cite_the_run_it_continues_but_not_rest_a_tests_claim_on_it(
    worker_settings, model_server, acme, alice, fixture_repo
):
    """The follow-up's model saw the first attempt's chunk ids in its history: citing one is
    valid evidence (what the code did before), yet "tests pass" resting on it alone is flagged,
    since it ran before this attempt's changes."""
    from tasks.services import attempt_follow_up

    first = fixed_first_attempt(model_server, acme, alice, fixture_repo)
    green = first.events.filter(kind=kinds.COMMAND).last().payload["chunk_id"]

    def answer_citing_the_first_run(request):  # noqa: ANN001, ANN202
        assert f"Chunk ID: {green}" in "".join(request.tool_outputs())  # in the history
        return reply(f"Added NOTES.md. The tests pass 【T:{green}†L1】.")

    model_server.add(
        reply(call("apply_patch", {"patch": NOTE})),
        reply(call("shell", {"command": "cat NOTES.md"})),  # AGENTS.md asks for a run after edits
        answer_citing_the_first_run,
    )
    follow_up = attempt_follow_up(attempt=first, prompt="Add a note.", by=alice)
    run_attempt(follow_up.pk)

    follow_up.refresh_from_db()
    assert follow_up.status == Status.SUCCEEDED, follow_up.error
    summary = follow_up.events.get(kind=kinds.SUMMARY).payload
    (citation,) = summary["citations"]
    assert citation["target"] == green and citation["valid"], citation
    assert any("citing only an earlier attempt's run" in flag for flag in summary["flags"]), \
        summary["flags"]
