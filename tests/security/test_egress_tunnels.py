"""CONNECT tunnels carry only what the egress proxy can judge: an allowlist reaches its hosts on
the allowed ports only (80 and 443 unless SANDBOX_EGRESS_PORTS says more), and a tunnel whose
bytes are neither TLS nor HTTP — ssh, smtp, a database protocol — is cut with a line saying why,
before anything reaches the server. Under "on", raw TCP reaches the allowed ports only."""

from __future__ import annotations

import pytest

from tasks.sandbox.egress.policy import ALL_METHODS
from tests.support.egress_client import (
    ALLOWED,
    LOOPBACK,
    REFUSED,
    open_tunnel,
    read_all,
    send_request,
    tunnel_reply,
)

SSH_HELLO = b"SSH-2.0-OpenSSH_9.6\r\n"


@pytest.fixture(scope="module")
def ssh_server(tcp_recorder):
    """A raw TCP service the sandbox should not reach: it records what arrives."""
    return tcp_recorder()


@pytest.fixture(scope="module")
def banner_server(tcp_recorder):
    """A server-first protocol (SSH, SMTP): it speaks before the client does."""
    return tcp_recorder(banner=b"SSH-2.0-server-speaks-first\r\n")


def allowlist(methods, ssh_server, web_target, **extra):
    """Rules for ALLOWED where every port of ALLOWED but 80 maps to the raw TCP recorder, so
    whatever a refused tunnel would carry would be seen there."""
    resolve = {ALLOWED: ssh_server.address, f"{ALLOWED}:80": web_target.address}
    return {
        "mode": "allowlist",
        "domains": (ALLOWED,),
        "methods": methods,
        "allow_private": LOOPBACK,
        "resolve": resolve,
        **extra,
    }


@pytest.fixture(scope="module")
def read_only(egress_proxy, ssh_server, web_target):
    """Methods restricted: TLS is intercepted."""
    return egress_proxy(**allowlist(("GET", "HEAD"), ssh_server, web_target), intercept_tls=True)


@pytest.fixture(scope="module")
def every_method(egress_proxy, ssh_server, web_target):
    """Every method allowed: TLS is passed through, checked by host only."""
    return egress_proxy(**allowlist(tuple(sorted(ALL_METHODS)), ssh_server, web_target))


@pytest.fixture(scope="module")
def on(egress_proxy, ssh_server):
    return egress_proxy(mode="on", allow_private=LOOPBACK, resolve={ALLOWED: ssh_server.address})


@pytest.mark.parametrize("port", [22, 8443])
def test_connect_to_an_allowed_host_on_another_port_is_refused(read_only, ssh_server, port):
    before = ssh_server.connections
    reply = tunnel_reply(read_only, ALLOWED, port)
    assert reply.startswith("HTTP/1.1 403"), reply
    assert (
        f"{REFUSED} CONNECT {ALLOWED}:{port}: port {port} is not allowed (allowed: 80, 443)."
        in reply
    )
    assert ssh_server.connections == before  # not even a connection was opened
    assert any(
        r.method == "CONNECT" and r.port == port and not r.allowed for r in read_only.records()
    )


def test_plain_http_to_another_port_is_refused(read_only, ssh_server):
    before = len(ssh_server.received)
    reply = send_request(
        read_only,
        f"GET http://{ALLOWED}:6379/ HTTP/1.1\r\nHost: {ALLOWED}:6379\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert reply.startswith("HTTP/1.1 403"), reply
    assert "port 6379 is not allowed (allowed: 80, 443)" in reply
    assert ssh_server.received[before:] == []


def test_a_port_the_rules_list_is_reached(egress_proxy, ssh_server, web_target):
    proxy = egress_proxy(
        **allowlist(("GET",), ssh_server, web_target, ports=(443, 8443)), intercept_tls=True
    )
    sock, head = open_tunnel(proxy, ALLOWED, 8443)
    sock.close()
    assert head.startswith("HTTP/1.1 200"), head


@pytest.mark.parametrize("proxy", ["read_only", "every_method"])
def test_raw_tcp_through_an_allowed_tunnel_is_cut(request, ssh_server, proxy):
    proxy = request.getfixturevalue(proxy)
    before = len(ssh_server.received)
    sock, head = open_tunnel(proxy, ALLOWED, 443)
    assert head.startswith("HTTP/1.1 200"), head  # the host and port are allowed...
    with sock:
        sock.sendall(SSH_HELLO + b"secret payload\r\n")
        reply = read_all(sock).decode(errors="replace")
    # ...but what the tunnel carries is neither TLS nor HTTP.
    assert reply == (
        f"{REFUSED} TCP {ALLOWED}:443: the tunnel carries neither TLS nor HTTP; "
        "only HTTP and TLS may pass under an allowlist.\n"
    )
    assert ssh_server.received[before:] == []
    assert any(r.method == "TCP" and not r.allowed for r in proxy.records())


def test_a_server_that_speaks_first_is_cut_too(egress_proxy, banner_server, web_target):
    proxy = egress_proxy(**allowlist(("GET",), banner_server, web_target), intercept_tls=True)
    sock, head = open_tunnel(proxy, ALLOWED, 443)
    assert head.startswith("HTTP/1.1 200"), head
    with sock:
        reply = read_all(sock).decode(errors="replace")
    assert "speaks-first" not in reply
    assert f"{REFUSED} TCP {ALLOWED}:443: the tunnel carries neither TLS nor HTTP" in reply


def test_http_inside_an_allowed_tunnel_still_works(read_only, web_target):
    sock, head = open_tunnel(read_only, ALLOWED, 80)
    assert head.startswith("HTTP/1.1 200"), head
    with sock:
        sock.sendall(
            f"GET /tunnelled HTTP/1.1\r\nHost: {ALLOWED}\r\nConnection: close\r\n\r\n".encode()
        )
        reply = read_all(sock).decode(errors="replace")
    assert "hello from the allowed test domain" in reply
    assert ("GET", ALLOWED, "/tunnelled") in web_target.requests


def test_on_refuses_raw_tcp_to_other_ports(on, ssh_server):
    before = len(ssh_server.received)
    sock, head = open_tunnel(on, ALLOWED, 22)
    assert head.startswith("HTTP/1.1 200"), head  # "on": any host and port may be tunnelled...
    with sock:
        sock.sendall(SSH_HELLO)
        reply = read_all(sock).decode(errors="replace")
    assert reply == (
        f"{REFUSED} TCP {ALLOWED}:22: the tunnel carries neither TLS nor HTTP; "
        "raw TCP may only reach ports 80, 443.\n"
    )
    assert ssh_server.received[before:] == []


def test_on_lets_raw_tcp_reach_the_web_ports(on, ssh_server):
    sock, head = open_tunnel(on, ALLOWED, 443)
    assert head.startswith("HTTP/1.1 200"), head
    with sock:
        sock.sendall(SSH_HELLO)
        echoed = sock.recv(4096)
    assert echoed == b"echo:" + SSH_HELLO
    assert any(r.method == "TCP" and r.port == 443 and r.allowed for r in on.records())
