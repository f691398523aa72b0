"""Just-in-time approval (issue 14 item 3) at the proxy: a refused host becomes reachable when
the worker adds it to the running proxy's rules — the addon re-reads the replaced rules file on
its next request, no restart — while every other host stays refused. Real mitmdump, a real
loopback target, a real container."""

from __future__ import annotations

import pytest

from tasks.sandbox.base import NetworkPolicy, SandboxError
from tests.support.egress_client import (  # noqa: F401 — fixtures, found by name
    ALLOWED,
    LOOPBACK,
    REFUSED,
    egress_proxy,
    open_tunnel,
    send_request,
    web_target,
)

BLOCKED = "packages.blocked.test"
TUNNEL = "tunnel.blocked.test"


def get(proxy, host: str, path: str = "/left-pad") -> str:
    return send_request(proxy, f"GET http://{host}{path}?token=x HTTP/1.1\r\nHost: {host}\r\n"
                        "Connection: close\r\n\r\n".encode())


@pytest.fixture(scope="module")
def proxy(egress_proxy, web_target):  # noqa: F811
    return egress_proxy(mode="allowlist", domains=(ALLOWED,), methods=("GET",),
                        allow_private=LOOPBACK,
                        resolve={ALLOWED: web_target.address, BLOCKED: web_target.address,
                                 "other.test": web_target.address,
                                 TUNNEL: web_target.tls_address})


def test_an_approved_host_passes_from_the_next_request_without_a_restart(proxy, web_target):  # noqa: F811
    pid_before = (proxy.workdir / "pids").read_text()
    refused = get(proxy, BLOCKED)
    assert "403" in refused.splitlines()[0] and REFUSED in refused
    assert f"domain '{BLOCKED}' is not on this repository's allowlist" in refused
    assert ("GET", BLOCKED, "/left-pad?token=x") not in web_target.requests

    proxy.allow_domains([BLOCKED])

    passed = get(proxy, BLOCKED)
    assert " 200 OK" in passed.splitlines()[0], passed
    assert ("GET", BLOCKED, "/left-pad?token=x") in web_target.requests
    assert (proxy.workdir / "pids").read_text() == pid_before  # the same processes
    # Only that host: another one stays refused, and the allowlist's own host still passes.
    assert REFUSED in get(proxy, "other.test")
    assert " 200 OK" in get(proxy, ALLOWED).splitlines()[0]


def test_each_decision_is_recorded_with_its_url_without_the_query(proxy):
    records = [r for r in proxy.records() if r.host == BLOCKED]
    assert [r.allowed for r in records][:2] == [False, True]
    assert records[0].url == f"http://{BLOCKED}/left-pad"
    assert records[0].at <= records[1].at


def test_a_refused_tunnel_opens_after_approval(proxy):
    host = TUNNEL
    sock, head = open_tunnel(proxy, host, 443)
    sock.close()
    assert " 403 " in head.splitlines()[0]
    proxy.allow_domains([host])
    sock, head = open_tunnel(proxy, host, 443)
    sock.close()
    assert " 200 " in head.splitlines()[0], head
    records = [r for r in proxy.records() if r.host == host]
    assert [(r.method, r.allowed, r.url) for r in records] == [
        ("CONNECT", False, f"{host}:443"), ("CONNECT", True, f"{host}:443")]


def test_a_bad_pattern_changes_nothing(proxy):
    before = proxy.rules_path.read_text()
    with pytest.raises(ValueError):
        proxy.allow_domains(["bad host/"])
    assert proxy.rules_path.read_text() == before


@pytest.mark.docker
def test_the_agent_in_a_container_retries_and_passes(make_sandbox, egress_target):
    sandbox = make_sandbox(
        agent_network=NetworkPolicy(mode="allowlist", domains=(ALLOWED,), methods=("GET",)),
        resolve={BLOCKED: egress_target.address},
    )
    command = f"curl -sS -m 10 http://{BLOCKED}/left-pad"
    assert REFUSED in sandbox.exec(command, timeout=30).output

    sandbox.egress_allow([BLOCKED])

    result = sandbox.exec(command, timeout=30)
    assert result.exit_code == 0, result.output
    assert "hello from the allowed test domain" in result.output
    decisions = [(r.host, r.allowed) for r in sandbox.egress_records() if r.host == BLOCKED]
    assert decisions == [(BLOCKED, False), (BLOCKED, True)]


@pytest.mark.docker
def test_with_internet_off_there_is_nothing_to_approve(make_sandbox):
    sandbox = make_sandbox()  # the agent policy defaults to off: no proxy at all
    with pytest.raises(SandboxError, match="no allowlist proxy"):
        sandbox.egress_allow([BLOCKED])
    assert sandbox.egress_proxy is None
