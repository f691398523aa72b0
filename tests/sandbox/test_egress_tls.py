"""HTTPS under an allowlist that restricts methods: the proxy intercepts TLS with a fresh CA per
attempt, so every request's method and host are checked; elsewhere TLS is passed through."""

from __future__ import annotations

import re

import pytest

from tasks.sandbox.base import NetworkPolicy
from tasks.sandbox.egress.policy import ALL_METHODS
from tasks.sandbox.spec import CODEXWEB_CAS, EGRESS_CA_CERT
from tests.support.egress_target import CERT_NAME
from tests.support.sandbox_fixtures import ALLOWED

pytestmark = pytest.mark.docker

REFUSED = "codexweb egress proxy: refused"
READ_ONLY = NetworkPolicy(
    mode="allowlist", domains=(ALLOWED, "*.also-allowed.test"), methods=("GET", "HEAD", "OPTIONS")
)


@pytest.fixture(scope="module")
def intercepting(module_sandbox_factory):
    return module_sandbox_factory(agent_network=READ_ONLY)


def run(sandbox, command: str, timeout: float = 30):
    return sandbox.exec(command, timeout=timeout)


def ca_key_pem(sandbox) -> str:
    """The host-side private key of the sandbox's current egress CA (mitmproxy's CA file holds
    the key and the certificate)."""
    text = (sandbox.egress_proxy.confdir / "mitmproxy-ca.pem").read_text()
    found = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END", text, re.S)
    assert found, "no private key in the proxy's CA file"
    return found.group(0)


def test_get_works_and_verifies_the_proxys_certificate(intercepting, egress_target):
    # No -k: curl verifies the certificate against the container's system store.
    result = run(intercepting, f"curl -sS -v -m 10 https://{ALLOWED}/secure-get 2>&1")
    assert result.exit_code == 0, result.output
    assert "hello from the allowed test domain" in result.output
    assert "SSL certificate verify ok" in result.output
    assert "issuer: CN=mitmproxy" in result.output  # the per-attempt CA, not the target's
    assert ("GET", ALLOWED, "/secure-get") in egress_target.tls_requests
    assert any(
        r.host == ALLOWED and r.method == "GET" and r.allowed and r.port == 443
        for r in intercepting.egress_records()
    )


@pytest.mark.parametrize("flag", ["-I", "-X OPTIONS"])
def test_other_allowed_methods_work(intercepting, egress_target, flag):
    result = run(
        intercepting,
        f"curl -sS -m 10 -o /dev/null -w '%{{http_code}}' {flag} "
        f"https://{ALLOWED}/secure-{flag[-1]}",
    )
    assert result.output.strip() == "200", result.output


def test_post_is_refused_with_a_readable_message(intercepting, egress_target):
    before = len(egress_target.tls_requests)
    result = run(
        intercepting,
        f"curl -sS -m 10 -w '\\nstatus=%{{http_code}}' -X POST -d x=1 https://{ALLOWED}/upload",
    )
    assert (
        f"{REFUSED} POST https://{ALLOWED}/upload: method POST is not allowed "
        "(allowed: GET, HEAD, OPTIONS)." in result.output
    ), result.output
    assert "status=403" in result.output
    assert all(m != "POST" for m, _, _ in egress_target.tls_requests[before:])
    assert any(
        r.host == ALLOWED and r.method == "POST" and not r.allowed
        for r in intercepting.egress_records()
    )


def test_python_tools_trust_the_ca_too(intercepting):
    script = (
        "import urllib.request; "
        f"print(urllib.request.urlopen('https://{ALLOWED}/py', timeout=10).read().decode())"
    )
    result = run(intercepting, f'python3 -c "{script}"')
    assert "hello from the allowed test domain" in result.output, result.output
    env = run(intercepting, "env").output
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "GIT_SSL_CAINFO"):
        assert f"{name}=/etc/ssl/certs/ca-certificates.crt" in env
    assert f"NODE_EXTRA_CA_CERTS={CODEXWEB_CAS}" in env
    assert (
        run(intercepting, f"cat {CODEXWEB_CAS}").output
        == run(intercepting, f"cat {EGRESS_CA_CERT}").output
    )


@pytest.mark.parametrize("host", [f"{ALLOWED}.evil.test", f"evil{ALLOWED}", "other.test"])
def test_look_alike_and_refused_hosts_fail_at_connect(intercepting, host):
    result = run(intercepting, f"curl -sS -m 10 https://{host}/; echo rc=$?")
    assert "CONNECT tunnel failed, response 403" in result.output, result.output
    assert "rc=0" not in result.output
    assert any(
        r.host == host and r.method == "CONNECT" and not r.allowed
        for r in intercepting.egress_records()
    )


def test_another_host_header_inside_an_allowed_tunnel_is_refused(intercepting, egress_target):
    before = len(egress_target.tls_requests)
    result = run(intercepting, f"curl -sS -m 10 -H 'Host: evil.test' https://{ALLOWED}/h")
    assert REFUSED in result.output
    assert "Host 'evil.test' is not the tunnel's host" in result.output
    assert egress_target.tls_requests[before:] == []


def test_another_server_name_inside_an_allowed_tunnel_is_refused(intercepting, egress_target):
    # CONNECT to the allowed host, then a TLS hello naming another one.
    script = f"""
import socket, ssl
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(b"CONNECT {ALLOWED}:443 HTTP/1.1\\r\\nHost: {ALLOWED}:443\\r\\n\\r\\n")
print(s.recv(4096).split(b"\\r\\n")[0].decode())
t = ssl.create_default_context().wrap_socket(s, server_hostname="evil.test")
t.sendall(b"GET /sni HTTP/1.1\\r\\nHost: evil.test\\r\\nConnection: close\\r\\n\\r\\n")
reply = b""
while len(reply) < 100_000:
    chunk = t.recv(4096)
    if not chunk:
        break
    reply += chunk
print(reply.decode(errors="replace"))
"""
    before = len(egress_target.tls_requests)
    intercepting.write_file("sni.py", script)
    result = run(intercepting, "python3 sni.py")
    assert "200" in result.output.splitlines()[0], result.output
    assert "403" in result.output
    assert "TLS server name 'evil.test' is not the tunnel's host" in result.output
    assert egress_target.tls_requests[before:] == []


def test_the_ca_private_key_never_enters_the_container(intercepting):
    key = ca_key_pem(intercepting)
    needle = key.splitlines()[2]  # a line of the key's base64 body
    shell = intercepting._require_shell()
    code, out, err = shell.run(
        [
            "bash",
            "-c",
            'grep -rlF -e "$NEEDLE" --exclude-dir=proc --exclude-dir=sys / 2>/dev/null; true',
        ],
        user="root",
        environment={"NEEDLE": needle},
    )
    assert code == 0, err
    assert out.decode().strip() == ""
    mounted = run(intercepting, "ls -A /run/codexweb-egress").output.split()
    assert mounted == ["proxy.sock"]
    # What is in the container is the public certificate of that same CA.
    installed = run(intercepting, f"cat {EGRESS_CA_CERT}").output
    assert installed.strip() == intercepting.egress_proxy.ca_certificate().decode().strip()
    assert "PRIVATE KEY" not in installed


def test_two_attempts_get_different_cas(make_sandbox, intercepting):
    other = make_sandbox(agent_network=READ_ONLY)
    mine = run(intercepting, f"cat {EGRESS_CA_CERT}").output
    theirs = run(other, f"cat {EGRESS_CA_CERT}").output
    assert "BEGIN CERTIFICATE" in mine and "BEGIN CERTIFICATE" in theirs
    assert mine != theirs
    assert ca_key_pem(intercepting) != ca_key_pem(other)
    # Each trusts only its own: the other attempt's certificate is not in this bundle.
    body = theirs.strip().splitlines()[3]
    assert body not in run(intercepting, "cat /etc/ssl/certs/ca-certificates.crt").output


def test_upstream_certificates_are_still_verified(make_sandbox, egress_target):
    # Without the test's upstream CA the proxy verifies against its default store, where the
    # target's self-signed certificate is not: the request must not reach it.
    sandbox = make_sandbox(agent_network=READ_ONLY, upstream_ca="")
    before = len(egress_target.tls_requests)
    result = run(sandbox, f"curl -sS -m 10 https://{ALLOWED}/unverified; echo rc=$?")
    assert "hello from the allowed test domain" not in result.output
    assert "Certificate verify failed" in result.output, result.output
    assert egress_target.tls_requests[before:] == []


@pytest.mark.parametrize(
    "policy",
    [
        NetworkPolicy(mode="on"),
        NetworkPolicy(mode="allowlist", domains=(ALLOWED,), methods=tuple(sorted(ALL_METHODS))),
    ],
    ids=["on", "allowlist-all-methods"],
)
def test_tls_is_passed_through_when_methods_are_not_restricted(make_sandbox, egress_target, policy):
    sandbox = make_sandbox(agent_network=policy)
    sandbox.write_file("target.pem", egress_target.cert_pem.decode())
    # The container sees the target's own certificate: trusting only that one is enough.
    result = run(
        sandbox, f"curl -sS -v -m 10 --cacert target.pem -X POST https://{ALLOWED}/pass 2>&1"
    )
    assert result.exit_code == 0, result.output
    assert "hello from the allowed test domain" in result.output
    assert f"issuer: CN={CERT_NAME}" in result.output
    assert "mitmproxy" not in result.output
    # ...and no egress CA was installed or pointed at.
    check = run(sandbox, f"test -e {EGRESS_CA_CERT} && echo present; env")
    assert "present" not in check.output
    assert "SSL_CERT_FILE" not in check.output
    assert [r.method for r in sandbox.egress_records() if r.host == ALLOWED] == ["CONNECT"]
