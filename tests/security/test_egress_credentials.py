"""Attacks on egress credentials through the real proxy (mitmdump + our addon, driven over its
unix socket like the sandbox's bridge does): an agent that tries to override the credential
with its own header, to read it back from a server that echoes headers, to carry it to another
host with a redirect or a Host header, or to get it over plain HTTP. The echo server
(`tests/support/credential_target.py`) records what really arrived upstream."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.sandbox.egress.credentials import REDACTED, EgressCredential, header_for
from tasks.sandbox.egress.proxy import EgressProxy
from tests.support.credential_target import API, OTHER, CredentialTarget, start_credential_target
from tests.support.egress_client import (
    LOOPBACK,
    egress_proxy,  # noqa: F401 — the fixture
    open_tunnel,
    read_all,
    send_request,
)

TOKEN = "cxw-test-token-5f1e2d3c4b5a6978"
KEY = "key-0a9b8c7d6e5f4a3b"
USER, PASSWORD = "ci-bot", "pw-77e1c0ffee55"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
VALUES = (TOKEN, KEY, PASSWORD, BASIC)


def _credential(id: int, kind: str, domain: str = API, **parts: str) -> EgressCredential:
    prefix = parts.pop("path_prefix", "/")
    header, value = header_for(kind, **parts)
    return EgressCredential(id=id, domain=domain, header=header, value=value, path_prefix=prefix)


@pytest.fixture(scope="module")
def target() -> Iterator[CredentialTarget]:
    running = start_credential_target()
    yield running
    running.shutdown()


@pytest.fixture(scope="module")
def proxy(egress_proxy, target) -> EgressProxy:  # noqa: F811
    """Internet "on" (so TLS is otherwise passed through): only the credential's domain is
    intercepted."""
    return egress_proxy(
        mode="on",
        allow_private=LOOPBACK,
        resolve=target.resolve(),
        upstream_ca=target.bundle_file,
        credentials=(
            _credential(1, "bearer", value=TOKEN),
            _credential(2, "header", name="X-Api-Key", value=KEY, path_prefix="/keyed"),
            _credential(3, "basic", domain="*.basic.test", user=USER, password=PASSWORD),
        ),
    )


def https(proxy: EgressProxy, host: str, request: str, *, cafile: str = "") -> bytes:
    """One HTTPS request through a CONNECT tunnel, trusting the proxy's CA (or `cafile`); the
    whole reply, raw."""
    sock, head = open_tunnel(proxy, host, 443)
    assert " 200" in head.split("\r\n")[0], head
    context = ssl.create_default_context(
        **({"cafile": cafile} if cafile else {"cadata": proxy.ca_certificate().decode()})
    )
    with context.wrap_socket(sock, server_hostname=host) as tls:
        tls.sendall(request.encode())
        return read_all(tls)


def status(reply: bytes) -> int:
    return int(reply.split(b"\r\n", 1)[0].split()[1])


def get(path: str, host: str = API, *extra: str) -> str:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close", *extra]
    return "\r\n".join(lines) + "\r\n\r\n"


def assert_no_value(reply: bytes) -> None:
    for value in VALUES:
        assert value.encode() not in reply, value
        assert base64.b64encode(value.encode()) not in reply, value


def last_seen(target: CredentialTarget, before: int):
    new = target.seen[before:]
    assert new, "the request never reached the server"
    return new[-1]


def test_the_server_gets_the_header_and_the_echo_is_stripped(proxy, target):
    before = len(target.seen)
    reply = https(proxy, API, get("/echo"))
    assert status(reply) == 200, reply[:200]
    assert last_seen(target, before).values("Authorization") == [f"Bearer {TOKEN}"]
    assert_no_value(reply)  # JSON body, X-Echo-Authorization, Set-Cookie, base64 of it all
    assert REDACTED.encode() in reply
    assert [u.id for u in proxy.credential_uses()][-1:] == [1]


@pytest.mark.parametrize(
    "headers",
    [
        ["Authorization: Bearer attacker-chosen"],
        ["authorization: Bearer a", "AUTHORIZATION: Bearer b"],
    ],
)
def test_a_header_the_agent_sets_is_replaced_not_appended(proxy, target, headers):
    before = len(target.seen)
    reply = https(proxy, API, get("/echo", API, *headers))
    seen = last_seen(target, before)
    assert seen.values("Authorization") == [f"Bearer {TOKEN}"]  # one header: ours
    assert b"attacker-chosen" not in reply
    assert_no_value(reply)


def test_probing_by_comparison_learns_nothing(proxy, target):
    """The agent guesses the token and asks the server to compare: the server only ever sees
    the real one, and the reply can't carry it."""
    before = len(target.seen)
    reply = https(proxy, API, get(f"/echo?guess={TOKEN[:6]}", API, "Authorization: Bearer x"))
    assert last_seen(target, before).values("Authorization") == [f"Bearer {TOKEN}"]
    assert_no_value(reply)


def test_a_redirect_to_another_host_does_not_carry_it(proxy, target):
    reply = https(proxy, API, get(f"/redirect?to=https://{OTHER}/stolen"))
    assert status(reply) == 302, reply[:200]
    assert f"https://{OTHER}/stolen".encode() in reply
    # The client follows it: a new request, to a host with no credential (passed through).
    before = len(target.seen)
    https(proxy, OTHER, get("/stolen", OTHER), cafile=target.bundle_file)
    seen = last_seen(target, before)
    assert seen.server == OTHER and seen.values("Authorization") == []


def test_another_host_header_inside_the_credential_tunnel_gets_nothing(proxy, target):
    before = len(target.seen)
    https(proxy, API, get("/echo", OTHER))
    assert last_seen(target, before).values("Authorization") == []


def test_plain_http_never_gets_it(proxy, target):
    before = len(target.seen)
    request = f"GET http://{API}/echo HTTP/1.1\r\nHost: {API}\r\nConnection: close\r\n\r\n"
    reply = send_request(proxy, request.encode())
    assert "200" in reply.splitlines()[0], reply
    assert last_seen(target, before).values("Authorization") == []


def test_path_prefix_and_header_kind(proxy, target):
    before = len(target.seen)
    reply = https(proxy, API, get("/keyed/items", API, "X-Api-Key: mine"))
    assert last_seen(target, before).values("X-Api-Key") == [KEY]
    assert_no_value(reply)
    before = len(target.seen)
    https(proxy, API, get("/elsewhere", API, "X-Api-Key: mine"))
    assert last_seen(target, before).values("X-Api-Key") == ["mine"]  # not ours: left alone


def test_a_credential_does_not_open_egress(egress_proxy, target):  # noqa: F811
    proxy = egress_proxy(
        mode="allowlist",
        domains=("allowed.test",),
        methods=("GET",),
        allow_private=LOOPBACK,
        resolve=target.resolve(),
        upstream_ca=target.bundle_file,
        credentials=(_credential(1, "bearer", value=TOKEN),),
    )
    sock, head = open_tunnel(proxy, API, 443)
    sock.close()
    assert " 403" in head.split("\r\n")[0], head


def test_the_value_is_nowhere_but_in_the_proxys_memory(proxy):
    """Not on its command line, not in its folder (the file is removed once read), not in its
    logs or its records."""
    pid = int(Path(proxy.workdir / "pids").read_text().split()[0])
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert all(v.encode() not in cmdline for v in VALUES)
    assert not proxy.credentials_path.exists()
    for path in proxy.workdir.rglob("*"):
        if path.is_file() and not path.is_socket():
            data = path.read_bytes()
            assert all(v.encode() not in data for v in VALUES), path
