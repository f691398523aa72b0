"""Internet policy, enforced outside the container: off, allowlist and on."""

from __future__ import annotations

import pytest

from tests.support.sandbox_fixtures import ALLOWED

pytestmark = pytest.mark.docker

REFUSED = "codexweb egress proxy: refused"


@pytest.fixture(scope="module")
def offline(module_sandbox_factory):
    return module_sandbox_factory()


@pytest.fixture(scope="module")
def allowlisted(module_sandbox_factory):
    from tasks.sandbox.base import NetworkPolicy

    return module_sandbox_factory(
        agent_network=NetworkPolicy(
            mode="allowlist", domains=(ALLOWED, "*.also-allowed.test"), methods=("GET", "HEAD")
        )
    )


def run(sandbox, command: str, timeout: float = 20):
    return sandbox.exec(command, timeout=timeout)


# -- off ---------------------------------------------------------------------------------------


def test_off_has_no_interface_but_loopback(offline):
    result = run(offline, "ls /sys/class/net")
    assert result.output.split() == ["lo"]


def test_off_direct_ip_fails(offline):
    result = run(offline, "curl -sS -m 5 http://1.1.1.1/ ; echo rc=$?")
    assert "rc=0" not in result.output
    assert "Couldn't connect" in result.output or "Network is unreachable" in result.output


def test_off_dns_fails(offline):
    result = run(offline, "getent hosts example.com; echo rc=$?")
    assert result.output.strip().endswith("rc=2")


def test_off_ipv6_fails(offline):
    result = run(offline, "curl -sS -m 5 -6 'http://[2606:4700:4700::1111]/'; echo rc=$?")
    assert "rc=0" not in result.output
    assert "Couldn't connect" in result.output or "unreachable" in result.output


def test_off_sets_no_proxy_variables(offline):
    assert "PROXY" not in run(offline, "env").output.upper()


# -- allowlist --------------------------------------------------------------------------------


def test_allowed_domain_works(allowlisted, egress_target):
    result = run(allowlisted, f"curl -sS -m 10 http://{ALLOWED}/hello")
    assert result.exit_code == 0, result.output
    assert "hello from the allowed test domain" in result.output
    assert ("GET", ALLOWED, "/hello") in egress_target.requests


def test_other_domain_is_refused_with_a_readable_message(allowlisted):
    result = run(allowlisted, "curl -sS -m 10 http://other.test/")
    assert REFUSED in result.output
    assert "not on this repository's allowlist" in result.output


@pytest.mark.parametrize(
    "host",
    [f"{ALLOWED}.evil.test", f"evil{ALLOWED}", f"evil-{ALLOWED}", "also-allowed.test"],
)
def test_look_alike_domains_are_refused(allowlisted, host):
    result = run(allowlisted, f"curl -sS -m 10 http://{host}/")
    assert REFUSED in result.output, result.output


def test_redirect_to_a_refused_domain_fails(allowlisted, egress_target):
    result = run(allowlisted, f"curl -sS -m 10 -L http://{ALLOWED}/redirect")
    assert REFUSED in result.output
    assert "refused.test" in result.output
    assert not any(path == "/stolen" for _, _, path in egress_target.requests)


def test_refused_method_fails(allowlisted, egress_target):
    before = len(egress_target.requests)
    result = run(allowlisted, f"curl -sS -m 10 -X POST -d x=1 http://{ALLOWED}/upload")
    assert REFUSED in result.output
    assert "method POST is not allowed" in result.output
    assert all(m != "POST" for m, _, _ in egress_target.requests[before:])


def test_a_method_override_header_cannot_turn_a_get_into_a_post(allowlisted, egress_target):
    # More in tests/security/test_egress_method_override.py.
    before = len(egress_target.requests)
    result = run(
        allowlisted, f"curl -sS -m 10 -H 'X-HTTP-Method-Override: POST' http://{ALLOWED}/upload"
    )
    assert "the X-HTTP-Method-Override header asks for method POST" in result.output
    assert egress_target.requests[before:] == []


def test_an_allowed_host_on_another_port_is_refused(allowlisted):
    result = run(allowlisted, f"curl -sS -m 10 https://{ALLOWED}:22/; echo rc=$?")
    assert "CONNECT tunnel failed, response 403" in result.output, result.output
    assert any(
        r.port == 22 and not r.allowed and "port 22 is not allowed" in r.reason
        for r in allowlisted.egress_records()
    )


def test_raw_tcp_through_an_allowed_tunnel_is_cut(allowlisted):
    # More in tests/security/test_egress_tunnels.py.
    script = (
        "import socket\n"
        "s = socket.create_connection(('127.0.0.1', 3128), timeout=10)\n"
        f"s.sendall(b'CONNECT {ALLOWED}:443 HTTP/1.1\\r\\nHost: {ALLOWED}:443\\r\\n\\r\\n')\n"
        "print(s.recv(4096).split(b'\\r\\n')[0].decode())\n"
        "s.sendall(b'SSH-2.0-OpenSSH_9.6\\r\\n')\n"
        "print(s.recv(4096).decode())\n"
    )
    allowlisted.write_file("raw.py", script)
    result = run(allowlisted, "python3 raw.py")
    assert "200" in result.output.splitlines()[0], result.output
    assert "refused TCP allowed.test:443: the tunnel carries neither TLS nor HTTP" in result.output


def test_https_tunnel_to_a_refused_domain_fails(allowlisted):
    result = run(allowlisted, "curl -sS -m 10 https://other.test/; echo rc=$?")
    assert "CONNECT tunnel failed, response 403" in result.output


def test_https_to_the_allowed_domain_works(allowlisted):
    # Methods are restricted, so TLS is intercepted (tests/sandbox/test_egress_tls.py).
    result = run(allowlisted, f"curl -sS -m 10 https://{ALLOWED}/")
    assert "hello from the allowed test domain" in result.output, result.output
    assert any(
        r.host == ALLOWED and r.method == "CONNECT" and r.allowed
        for r in allowlisted.egress_records()
    )


def test_methods_are_checked_inside_a_plain_http_tunnel(allowlisted):
    ok = run(allowlisted, f"curl -sS -m 10 --proxytunnel http://{ALLOWED}/tunnelled")
    assert "hello from the allowed test domain" in ok.output
    refused = run(allowlisted, f"curl -sS -m 10 --proxytunnel -X PUT http://{ALLOWED}/x")
    assert "method PUT is not allowed" in refused.output


def test_unsetting_the_proxy_gets_nowhere(allowlisted):
    result = run(
        allowlisted,
        "env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy -u ALL_PROXY "
        f"curl -sS -m 5 http://{ALLOWED}/; echo rc=$?",
    )
    assert "hello from" not in result.output
    assert "rc=0" not in result.output


def test_raw_socket_gets_nowhere(allowlisted, egress_target):
    script = (
        "import socket\n"
        f"targets = [('1.1.1.1', 80), ('8.8.8.8', 53), ('127.0.0.1', {egress_target.port})]\n"
        "for host, port in targets:\n"
        "    s = socket.socket(); s.settimeout(3)\n"
        "    try:\n"
        "        s.connect((host, port)); print('CONNECTED', host, port)\n"
        "    except OSError as e:\n"
        "        print('failed', host, port, e)\n"
    )
    result = run(allowlisted, f'python3 -c "{script}"')
    assert "CONNECTED" not in result.output, result.output
    assert result.output.count("failed") == 3


def test_every_request_is_recorded(allowlisted):
    run(allowlisted, f"curl -sS -m 10 http://{ALLOWED}/recorded; curl -sS -m 10 http://nope.test/")
    records = allowlisted.egress_records()
    assert any(r.host == ALLOWED and r.method == "GET" and r.allowed for r in records)
    assert any(r.host == "nope.test" and r.method == "GET" and not r.allowed for r in records)
    # A reader that keeps count gets each record once, in order: only the new ones.
    seen = len(records)
    run(allowlisted, "curl -sS -m 10 http://next.test/")
    new = allowlisted.egress_records(since=seen)
    assert [(r.host, r.allowed) for r in new] == [("next.test", False)]
    assert allowlisted.egress_records() == records + new


# -- on -----------------------------------------------------------------------------------------


def test_on_reaches_the_internet(make_sandbox, egress_target):
    from tasks.sandbox.base import NetworkPolicy

    sandbox = make_sandbox(agent_network=NetworkPolicy(mode="on"))
    ok = run(sandbox, f"curl -sS -m 10 -X POST http://{ALLOWED}/anything")
    assert "hello from the allowed test domain" in ok.output


def test_on_does_not_reach_the_hosts_own_services(make_sandbox, egress_target):
    from tasks.sandbox.base import NetworkPolicy

    # Nothing listed in SANDBOX_EGRESS_ALLOW_PRIVATE, as in production: the worker host's
    # loopback (database, Redis, Docker API...) stays out of reach, by address and by name.
    sandbox = make_sandbox(agent_network=NetworkPolicy(mode="on"), allow_private=())
    direct = run(
        sandbox, f"curl -sS -m 10 --noproxy '' http://127.0.0.1:{egress_target.port}/; echo rc=$?"
    )
    assert "hello from" not in direct.output
    assert "127.0.0.1 is a loopback address" in direct.output, direct.output
    named = run(sandbox, f"curl -sS -m 10 http://{ALLOWED}/")
    assert "hello from" not in named.output
    assert f"{ALLOWED} resolves to 127.0.0.1, a loopback address" in named.output, named.output
    refused = [r for r in sandbox.egress_records() if not r.allowed]
    assert any("loopback address" in r.reason for r in refused)
