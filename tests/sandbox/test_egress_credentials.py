"""A repository credential in a real sandbox: the agent's curl reaches the echo server through
the proxy, the server sees the right header, and a probe inside the container — environment,
/proc, every file, the reply itself — finds no trace of the value. Docker's own view of the
container (env, labels, command, mounts) holds none either."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from tasks.sandbox.base import NetworkPolicy
from tasks.sandbox.egress.credentials import EgressCredential, header_for
from tests.support.credential_target import API, OTHER, CredentialTarget, start_credential_target

pytestmark = pytest.mark.docker

TOKEN = "cxw-sandbox-probe-token-3a4b5c6d7e8f"
USER, PASSWORD = "deploy", "probe-pass-91ab27cd"
NEEDLES = (TOKEN, PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


@pytest.fixture(scope="module")
def target() -> Iterator[CredentialTarget]:
    running = start_credential_target()
    yield running
    running.shutdown()


def _credential(id: int, kind: str, domain: str, **parts: str) -> EgressCredential:
    header, value = header_for(kind, **parts)
    return EgressCredential(id=id, domain=domain, header=header, value=value)


@pytest.fixture(scope="module", params=["on", "allowlist"])
def sandbox(request, module_sandbox_factory, target):
    """Agent policy `on` (TLS otherwise passed through) and a method-unrestricted allowlist:
    both intercept the credential's domain only."""
    policy = (
        NetworkPolicy(mode="on")
        if request.param == "on"
        else NetworkPolicy(
            mode="allowlist",
            domains=(API, OTHER),
            methods=("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"),
        )
    )
    return module_sandbox_factory(
        agent_network=policy,
        egress_resolve=target.resolve(),
        upstream_ca=target.bundle_file,
        egress_credentials=(
            _credential(11, "bearer", API, value=TOKEN),
            _credential(12, "basic", OTHER, user=USER, password=PASSWORD),
        ),
    )


def probe(sandbox) -> str:
    """Search the container as root and as the agent's user for any needle: environment and
    command line of every process, and every file outside /proc, /sys and /dev (plus
    /dev/shm). The needles travel in hex and are decoded into a folder the search skips, so
    the probe never finds itself. Returns the paths where something was found."""
    hexed = " ".join(n.encode().hex() for n in NEEDLES)
    script = (
        "d=$(mktemp -d /tmp/cxprobe.XXXXXX); "
        "python3 -c 'import sys; print(*(bytes.fromhex(h).decode() for h in sys.argv[1:]), "
        f"sep=chr(10))' {hexed} > $d/p; "
        "grep -l -a -F -f $d/p /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; "
        "grep -r -l -a -F -f $d/p / /dev/shm --exclude-dir=proc --exclude-dir=sys "
        "--exclude-dir=dev --exclude-dir=$(basename $d) 2>/dev/null; rm -rf $d; true"
    )
    found = ""
    # root reads every file; only the agent's own user may read its processes' environment.
    for user in ("root", "sandbox"):
        code, out, _ = sandbox._require_shell().run(["bash", "-c", script], user=user)
        assert code == 0
        found += out.decode(errors="replace")
    return found


def test_the_server_gets_it_and_the_container_never_sees_it(sandbox, target):
    before = len(target.seen)
    result = sandbox.exec(
        f"curl -sS -m 20 -D - https://{API}/echo -H 'Authorization: Bearer mine' > reply.txt; "
        f"curl -sS -m 20 https://{OTHER}/echo >> reply.txt; cat reply.txt",
        timeout=60,
    )
    assert result.exit_code == 0, result.output
    seen = target.seen[before:]
    assert [s.values("Authorization") for s in seen] == [
        [f"Bearer {TOKEN}"],
        [f"Basic {NEEDLES[2]}"],
    ]
    assert "X-Echo-Authorization" in result.output  # the echo came back, stripped
    for needle in NEEDLES:
        assert needle not in result.output
    env = sandbox.exec("env; cat /proc/self/environ", timeout=30).output
    assert all(n not in env for n in NEEDLES)
    assert probe(sandbox).strip() == ""  # ...nor anywhere in the container, reply.txt included
    inspected = json.dumps(sandbox.api.inspect_container(sandbox.container_id))
    assert all(n not in inspected for n in NEEDLES)


def test_the_probe_would_find_a_value_that_is_there(sandbox):
    """The probe is real: a file holding the token (written by the test, not the proxy) is
    found."""
    sandbox.exec(f"echo {TOKEN} > /tmp/planted.txt", timeout=30)
    try:
        assert "/tmp/planted.txt" in probe(sandbox)
    finally:
        sandbox.exec("rm -f /tmp/planted.txt", timeout=30)


def test_uses_are_recorded_by_id_only(sandbox):
    uses = sandbox.credential_uses()
    assert {u.id for u in uses} >= {11, 12}
    assert {u.host for u in uses} >= {API, OTHER}
