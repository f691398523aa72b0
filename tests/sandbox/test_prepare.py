"""What an environment adds to the commands it runs: the PATH prefix, tools installed with
`pip install --user` during setup, and the maintenance script on warm starts (slim image)."""

from __future__ import annotations

import time
import uuid

import docker
import pytest

from tasks.sandbox.base import SandboxError

pytestmark = pytest.mark.docker

TOOL_DIR = "/home/sandbox/tools/bin"
# A shell tool in a folder that is on no PATH but the environment's prefix.
MAKE_TOOL = (
    f"mkdir -p {TOOL_DIR} && printf '#!/bin/sh\\necho tool-ran\\n' > {TOOL_DIR}/hello"
    f" && chmod +x {TOOL_DIR}/hello"
)
# A tiny Python package with a console script, installed for the user without any network.
PACKAGE = {
    "greet/pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "greet"\nversion = "1.0"\n\n'
        '[project.scripts]\ngreet = "greet:main"\n'
    ),
    "greet/greet.py": "def main():\n    print('greetings from a user install')\n",
}
PIP_SETUP = "pip install --user --no-index --no-build-isolation --quiet ./greet"


@pytest.fixture
def warm_sandboxes(docker_engine):
    """A list to put sandboxes in whose warm images the test made; they are removed afterwards
    (only those: other suites may share the engine). Request it before `make_sandbox`, so it is
    torn down after the sandboxes using the images are stopped."""
    made: list = []
    yield made
    for tag in {s.warm_image for s in made if s.warm_image}:
        try:
            docker_engine.images.remove(tag, force=True)
        except docker.errors.NotFound:
            continue


def warm_owner() -> dict[str, str]:
    """Whose warm image a test makes: an installation of its own, so nothing else reuses it
    (warm images are only made for an installation, a repository and a commit)."""
    return {
        "install_id": f"test-{uuid.uuid4().hex}",
        "repository": "1:git:acme/demo",
        "commit": "d" * 40,
    }


def test_python_is_python3(make_sandbox):
    result = make_sandbox().exec("python --version && python3 --version")
    assert result.exit_code == 0, result.output
    first, second = result.output.split("\n")[:2]
    assert first.startswith("Python 3.") and first == second


def test_path_prefix_comes_first_for_setup_and_agent(make_sandbox):
    sandbox = make_sandbox(
        setup_script=f"{MAKE_TOOL} && hello > ~/setup-saw.txt",
        path_prefix=(TOOL_DIR, "/opt/extra"),
    )
    assert sandbox.setup_result is not None and sandbox.setup_result.exit_code == 0
    assert sandbox.exec("cat ~/setup-saw.txt").output == "tool-ran\n"
    result = sandbox.exec("hello && echo $PATH")
    assert result.exit_code == 0, result.output
    ran, path = result.output.split("\n")[:2]
    assert ran == "tool-ran"
    assert path.startswith(f"{TOOL_DIR}:/opt/extra:/home/sandbox/.local/bin:")


def test_without_the_prefix_the_tool_is_not_found(make_sandbox):
    sandbox = make_sandbox(setup_script=MAKE_TOOL)
    result = sandbox.exec("hello")
    assert result.exit_code == 127 and "command not found" in result.output


def test_a_bad_path_prefix_is_refused_before_anything_runs(make_sandbox):
    with pytest.raises(SandboxError, match="contains ':'"):
        make_sandbox(path_prefix=("/usr/bin:.",))


@pytest.mark.parametrize("read_only", [False, True], ids=["code", "ask"])
def test_pip_user_install_in_setup_is_run_by_name(make_sandbox, workspace_files, read_only):
    """Setup installs with `pip install --user`; the agent (Code as `sandbox`, Ask as `reader`)
    runs the tool by its name and imports the module, with the network off."""
    sandbox = make_sandbox(
        workspace=workspace_files(PACKAGE), setup_script=PIP_SETUP, read_only=read_only
    )
    assert sandbox.setup_result is not None, "setup did not run"
    assert sandbox.setup_result.exit_code == 0, sandbox.setup_result.output
    result = sandbox.exec("greet && python -c 'import greet; print(greet.__name__)' && whoami")
    assert result.exit_code == 0, result.output
    assert result.output.split("\n")[:3] == [
        "greetings from a user install",
        "greet",
        "reader" if read_only else "sandbox",
    ]


def test_maintenance_script_runs_on_a_warm_start_only(warm_sandboxes, make_sandbox):
    marker = f"maint-{time.time_ns()}"
    setup = f"echo {marker} > ~/prepared.txt"
    maintenance = "echo run >> ~/maintenance.log; echo maintenance-output"
    seen: list[str] = []
    owner = warm_owner()

    def start():
        warm_sandboxes.append(
            make_sandbox(
                setup_script=setup,
                maintenance_script=maintenance,
                warm_cache_hours=1.0,
                start=False,
                **owner,
            )
        )
        return warm_sandboxes[-1]

    cold = start()
    cold.on_setup_output = lambda chunk: seen.append(chunk.text)
    cold.start()
    assert not cold.warm_hit and not cold.maintenance_ran
    assert cold.exec("cat ~/maintenance.log").exit_code != 0  # never ran
    warm = start()
    warm.on_setup_output = lambda chunk: seen.append(chunk.text)
    warm.start()
    assert warm.warm_hit and warm.maintenance_ran
    assert warm.setup_result is not None and warm.setup_result.exit_code == 0
    assert "maintenance-output" in warm.setup_result.output
    assert "maintenance-output" in "".join(seen)  # streamed like the setup script
    assert warm.exec("cat ~/maintenance.log ~/prepared.txt").output == f"run\n{marker}\n"


def test_a_failing_maintenance_script_fails_the_start(warm_sandboxes, make_sandbox):
    setup = f"echo {time.time_ns()} > ~/prepared.txt"
    kwargs = {"setup_script": setup, "warm_cache_hours": 1.0, **warm_owner()}
    warm_sandboxes.append(make_sandbox(maintenance_script="exit 3", **kwargs))
    with pytest.raises(SandboxError, match=r"the maintenance script failed \(exit code 3\)"):
        make_sandbox(maintenance_script="echo why; exit 3", **kwargs)


def test_maintenance_secrets_left_in_files_fail_the_start(warm_sandboxes, make_sandbox):
    setup = f"echo {time.time_ns()} > ~/prepared.txt"
    secret = "maint-secret-0a1b2c3d"
    kwargs = {
        "setup_script": setup,
        "warm_cache_hours": 1.0,
        "secrets": {"TOKEN": secret},
        **warm_owner(),
    }
    warm_sandboxes.append(make_sandbox(**kwargs))
    with pytest.raises(SandboxError, match="the maintenance script left a secret in"):
        make_sandbox(maintenance_script='echo "$TOKEN" > ~/leak.txt', **kwargs)
