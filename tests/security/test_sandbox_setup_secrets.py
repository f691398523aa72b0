"""Setup's secrets stay out of what the agent (and the warm image) gets, also when a program
re-encodes them (issue 17, item 6): the leftover scan reads every file setup added or changed —
whatever its owner and mode — and /dev/shm, for the values and their base64 / URL-encoded forms;
setup output is masked in those forms too.

Each test performs the leak a setup script (or a tool it runs) would, and checks the attempt
fails naming the place, with no warm image left behind.
"""

from __future__ import annotations

import base64
import urllib.parse
import uuid

import pytest

from tasks.sandbox.base import SandboxError
from tasks.sandbox.masking import MaskedOutput
from tasks.sandbox.spec import LABEL_WARM_INSTALL
from tests.security.sandbox_support import new_install_id, remove_warm_images
from tests.support.sandbox_fixtures import IMAGE

pytestmark = pytest.mark.docker

# Characters that URL-encoding changes, so the encoded form differs from the value.
SECRET = "tok/en+9f8e7d=c0dex&web"
B64 = 'printf %s "$API_TOKEN" | base64 -w0'
B64_USER = 'printf "ci:%s" "$API_TOKEN" | base64 -w0'  # npm _auth, docker "auth"
URLENC = (
    "python3 -c 'import os, urllib.parse; "
    'print(urllib.parse.quote(os.environ["API_TOKEN"], safe=""))\''
)

LEAKS = {
    "base64 in /dev/shm": (f"{B64} > /dev/shm/session", "/dev/shm/session"),
    "URL-encoded in /tmp, mode 000": (
        f"{URLENC} > /tmp/callback-url; chmod 000 /tmp/callback-url",
        "/tmp/callback-url",
    ),
    "npm _auth": (f'echo "_auth=$({B64_USER})" > ~/.npmrc', "/home/sandbox/.npmrc"),
    "docker config.json": (
        "mkdir -p ~/.docker && "
        f'echo "{{\\"auths\\":{{\\"r.example\\":{{\\"auth\\":\\"$({B64_USER})\\"}}}}}}"'
        " > ~/.docker/config.json",
        "/home/sandbox/.docker/config.json",
    ),
    "base64 in a folder only its owner may enter": (
        f"mkdir -p /var/tmp/k && {B64} > /var/tmp/k/key && chmod 000 /var/tmp/k/key"
        " && chmod 100 /var/tmp/k",
        "/var/tmp/k/key",
    ),
}


@pytest.mark.parametrize("leak", list(LEAKS), ids=list(LEAKS))
def test_an_encoded_secret_left_by_setup_fails_the_attempt(leak, make_sandbox, docker_engine):
    script, where = LEAKS[leak]
    install = new_install_id()
    try:
        with pytest.raises(SandboxError, match=rf"left a secret in {where}\b"):
            make_sandbox(
                setup_script=f"set -e\n{script}\n",
                secrets={"API_TOKEN": SECRET},
                install_id=install,
                repository="1:git:acme/demo",
                commit="c" * 40,
                warm_cache_hours=1.0,
            )
        assert docker_engine.images.list(filters={"label": f"{LABEL_WARM_INSTALL}={install}"}) == []
    finally:
        remove_warm_images(docker_engine, install)


@pytest.fixture
def other_users_file_image(docker_engine):
    """The sandbox image plus /tmp/shared.log owned by `reader`, mode 622: setup (as `sandbox`)
    may append to it but not read it back — nor could a scan running as `sandbox`."""
    container = docker_engine.containers.run(
        IMAGE,
        ["bash", "-c", "install -o reader -g reader -m 622 /dev/null /tmp/shared.log"],
        user="root",
        network_mode="none",
        labels={"org.codexweb.test": "1"},
        detach=True,
    )
    tag = f"codexweb-test-other-owner:{uuid.uuid4().hex[:12]}"
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        repository, name = tag.split(":")
        container.commit(repository=repository, tag=name)
    finally:
        container.remove(force=True)
    yield tag
    docker_engine.images.remove(tag, force=True)


def test_a_secret_in_another_users_unreadable_file_is_found(make_sandbox, other_users_file_image):
    with pytest.raises(SandboxError, match=r"left a secret in /tmp/shared\.log\b"):
        make_sandbox(
            image=other_users_file_image,
            setup_script=f"{B64} >> /tmp/shared.log; cat /tmp/shared.log || true",
            secrets={"API_TOKEN": SECRET},
        )


def test_setup_output_echoing_encoded_secrets_is_masked(make_sandbox):
    shown: list[str] = []
    sandbox = make_sandbox(
        start=False,
        setup_script=f"{B64}; echo; {B64_USER}; echo; {URLENC}; echo done",
        secrets={"API_TOKEN": SECRET},
    )
    masked = MaskedOutput([SECRET], lambda chunk: shown.append(chunk.text))
    sandbox.on_setup_output = masked
    sandbox.start()
    masked.close()
    raw = sandbox.setup_result.output
    text = "".join(shown)
    encoded = base64.b64encode(SECRET.encode()).decode()
    assert encoded in raw and urllib.parse.quote(SECRET, safe="") in raw  # the leak happened
    assert text.endswith("done\n")
    assert encoded not in text
    assert urllib.parse.quote(SECRET, safe="") not in text
    # "ci:<secret>" in base64: only the characters that also depend on "ci:" may remain.
    with_user = base64.b64encode(f"ci:{SECRET}".encode()).decode()
    assert with_user not in text and with_user[4:-4] not in text


def test_ipc_objects_setup_made_are_gone(make_sandbox):
    """System V shared memory and message queues outlive their processes: setup could leave a
    secret in one for the agent. They are removed with setup's processes."""
    sandbox = make_sandbox(setup_script="ipcmk -M 4096 && ipcmk -Q", secrets={"API_TOKEN": SECRET})
    listing = sandbox.exec("ipcs -m -q | grep -c '^0x' || true").output.strip()
    assert listing == "0"


def test_processes_setup_left_running_are_gone_before_the_agent_starts(make_sandbox):
    """A daemon setup started (a session of its own, detached from the script's output) would
    keep the secrets in its environment into the agent phase: every process of the setup user
    is killed, and the check that none is left runs in the same exec as the kill."""
    sandbox = make_sandbox(
        setup_script=(
            "setsid sleep 300 </dev/null >/dev/null 2>&1 & "
            "nohup sh -c 'while :; do sleep 1; done' </dev/null >/dev/null 2>&1 & true"
        ),
        secrets={"API_TOKEN": SECRET},
    )
    listing = sandbox.exec(
        "pgrep -u sandbox -xc 'sleep|sh' || true; "
        f"grep -lF -- {SECRET!r} /proc/[0-9]*/environ 2>/dev/null | wc -l"
    )
    assert listing.output.split() == ["0", "0"], listing.output
