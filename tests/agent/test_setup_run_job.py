"""The "run setup now" job as a worker runs it: a repository registered from a local path,
the request made through the service, the job run; the real mirror and a real Docker sandbox
in between. The log streams the setup script's output with secret values masked, also when a
secret reaches the host cut across two output chunks."""

from __future__ import annotations

import uuid

import pytest

from repos.environments.services import secret_set
from repos.jobs import run_setup
from repos.models import Environment, SetupRun
from repos.services import repository_register
from repos.setup_runs.services import setup_run_request
from tests.support.calc_repo import IMAGE

pytestmark = pytest.mark.docker

SECRET = "tok-9f8e7d6c5b4a-never-shown"


@pytest.fixture
def setup_worker(settings, tmp_path, docker_engine):
    settings.SANDBOX_BACKEND = "docker"
    settings.SANDBOX_IMAGE = IMAGE  # the default ("universal") choice maps to the slim image here
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    return settings


@pytest.fixture
def new_warm_images(docker_engine):
    """Warm images made during the test (removed afterwards, so reruns start cold)."""

    def tags() -> set[str]:
        return {t for image in docker_engine.images.list("codexweb-warm") for t in image.tags}

    before = tags()
    yield lambda: sorted(tags() - before)
    for tag in tags() - before:
        docker_engine.images.remove(tag, force=True)


def _environment(repository, script: str) -> Environment:
    environment = repository.environment
    # A unique first line: no warm image of an earlier run can match.
    environment.setup_script = f"# test {uuid.uuid4().hex}\n{script}"
    environment.setup_internet_policy = "off"
    environment.save()
    return environment


def test_setup_runs_in_a_container_and_its_log_masks_secrets(
    setup_worker, new_warm_images, acme, alice, fixture_repo
):
    repository = repository_register(team=acme, location=str(fixture_repo))
    environment = _environment(
        repository,
        'echo "installing deps in $(pwd)"\n'
        'echo "token is $API_TOKEN"\n'
        # The secret leaves the container in two pieces, a moment apart.
        "printf 'split:%s' \"${API_TOKEN:0:8}\"; sleep 0.5; printf '%s|\\n' \"${API_TOKEN:8}\"\n"
        "echo warning >&2\n"
        "ls\n",
    )
    secret_set(environment=environment, actor=alice, name="API_TOKEN", value=SECRET)
    run = setup_run_request(repository=repository, actor=alice)

    run_setup(run.pk)

    run.refresh_from_db()
    assert run.status == SetupRun.Status.SUCCEEDED, (run.error, run.log)
    assert run.exit_code == 0 and run.error == ""
    assert "installing deps in /workspace" in run.log
    assert "token is ***\n" in run.log
    assert "split:***|\n" in run.log
    assert "warning" in run.log and "calc.py" in run.log
    assert SECRET not in run.log and SECRET[:8] not in run.log and SECRET[8:] not in run.log
    assert run.started_at and run.finished_at and len(run.commit) == 40
    # The prepared container stays in the cache: the next attempt starts warm.
    assert run.warm_made and not run.warm_hit
    assert new_warm_images() == [run.warm_image]
    assert "the next attempt starts warm" in run.log

    # Asking again finds the warm image current: nothing has to run.
    again = setup_run_request(repository=repository, actor=alice)
    run_setup(again.pk)
    again.refresh_from_db()
    assert again.status == SetupRun.Status.SUCCEEDED and again.warm_hit and not again.warm_made
    assert "nothing had to run" in again.log


def test_a_failing_setup_script_ends_failed_with_its_exit_code(
    setup_worker, new_warm_images, docker_engine, acme, alice, fixture_repo
):
    repository = repository_register(team=acme, location=str(fixture_repo))
    _environment(repository, "echo about to fail\nexit 3\n")
    run = setup_run_request(repository=repository, actor=alice)

    run_setup(run.pk)
    run_setup(run.pk)  # a redelivered job finds the run claimed and does nothing

    run.refresh_from_db()
    assert run.status == SetupRun.Status.FAILED
    assert run.exit_code == 3
    assert run.error == "The setup script failed with exit code 3."
    assert "about to fail" in run.log and run.log.rstrip().endswith(
        "[The setup script failed with exit code 3.]"
    )
    assert not run.warm_made and new_warm_images() == []
    # The sandbox was stopped: its container is gone.
    assert not docker_engine.containers.list(
        all=True, filters={"label": f"org.codexweb.for=setup-run:{run.pk}"}
    )


def test_requests_the_egress_proxy_refused_during_setup_are_named_in_the_log(
    setup_worker, new_warm_images, acme, alice, fixture_repo
):
    """pip and npm only print "403 Forbidden" (or retry in silence) when the proxy refuses a
    host; the log names the host and the proxy's reason (session 7: PyPI was refused because
    this network resolves it to a documentation address, and nothing said so)."""
    repository = repository_register(team=acme, location=str(fixture_repo))
    environment = _environment(
        repository,
        "set -e\ncurl -sS --max-time 20 -o /dev/null https://pypi.org/simple/ "
        "|| { echo 'install failed'; exit 5; }\n",
    )
    environment.setup_internet_policy = "allowlist"
    environment.setup_allowed_domains = ["allowed.example.com"]
    environment.save()
    run = setup_run_request(repository=repository, actor=alice)

    run_setup(run.pk)

    run.refresh_from_db()
    assert run.status == SetupRun.Status.FAILED and run.exit_code == 5, run.log
    assert "install failed" in run.log
    assert ("[The egress proxy refused 1 request during setup: pypi.org:443 (domain 'pypi.org' "
            "is not on this repository's allowlist).") in run.log, run.log
    assert run.log.rstrip().endswith("[The setup script failed with exit code 5.]")
