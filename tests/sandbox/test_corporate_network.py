"""Behind a TLS-intercepting company proxy (issue 13, item 5).

The loopback target here serves a certificate issued by a made-up company CA, as every server
looks from inside such a network. SANDBOX_EXTRA_CA_FILE (the spec's `extra_ca_pem`) makes the
sandbox and the egress proxy trust that CA; without it, a setup that fails on TLS says which host
and which setting. SANDBOX_UPSTREAM_PROXY (`upstream_proxy`) chains the egress proxy to a
company proxy (a loopback CONNECT proxy that records what passed), with allow/deny still decided
by ours.
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tasks.sandbox.base import NetworkPolicy, OutputChunk, SandboxError
from tasks.sandbox.container import ContainerShell
from tasks.sandbox.egress.policy import ALL_METHODS
from tasks.sandbox.spec import (
    CODEXWEB_CAS,
    EXTRA_CA_PREFIX,
    JAVA_TRUSTSTORE,
    LABEL_DEADLINE,
    LABEL_SANDBOX,
    SYSTEM_CA_BUNDLE,
    java_tool_options,
)
from tests.support.connect_proxy import PLAIN_BODY, CompanyProxy, start_company_proxy
from tests.support.egress_target import (
    BODY,
    company_ca,
    issued_certificate,
    start_egress_target,
)
from tests.support.sandbox_fixtures import ALLOWED, IMAGE

pytestmark = pytest.mark.docker

HELLO = BODY.decode().strip()
# Setup never intercepts TLS; its allowlist is decided by host at CONNECT.
SETUP_ALLOWLIST = NetworkPolicy(mode="allowlist", domains=(ALLOWED,), methods=tuple(ALL_METHODS))
# The agent phase intercepts TLS under a method-restricting allowlist: the proxy itself then
# verifies the upstream certificate.
READ_ONLY = NetworkPolicy(mode="allowlist", domains=(ALLOWED,), methods=("GET", "HEAD"))
PY_FETCH = (
    'python3 -c "import urllib.request; print(urllib.request.urlopen('
    f"'https://{ALLOWED}/setup-python', timeout=10).read().decode())\""
)


@pytest.fixture(scope="module")
def company() -> Iterator[SimpleNamespace]:
    """The company CA (PEM) and a target whose certificate it issued."""
    ca = company_ca()
    running = start_egress_target(ALLOWED, certificate=issued_certificate(ALLOWED, ca))
    yield SimpleNamespace(ca_pem=ca[0].decode(), target=running.target)
    running.shutdown()


@pytest.fixture
def company_proxy(company) -> Iterator[CompanyProxy]:
    proxy = start_company_proxy({f"{ALLOWED}:443": company.target.tls_address})
    yield proxy
    proxy.shutdown()


def ca_body_line(pem: str) -> str:
    return pem.strip().splitlines()[2]


def test_setup_without_the_company_ca_names_the_host_and_the_setting(make_sandbox, company):
    sandbox = make_sandbox(
        start=False,
        target=company.target,
        upstream_ca="",
        setup_script=f"curl -sS -m 10 https://{ALLOWED}/simple/",
        setup_network=SETUP_ALLOWLIST,
    )
    log: list[OutputChunk] = []
    sandbox.on_setup_output = log.append
    with pytest.raises(SandboxError) as failed:
        sandbox.start()
    message = str(failed.value)
    assert "SSL certificate problem" in message  # curl's own words, which name no host
    assert (
        f"TLS verification of {ALLOWED} failed: the certificate is signed by an unknown "
        "authority (unable to get local issuer certificate)." in message
    ), message
    assert "If your network intercepts TLS, set SANDBOX_EXTRA_CA_FILE" in message
    # The setup log says it too, where the person reads curl's error.
    assert "set SANDBOX_EXTRA_CA_FILE" in "".join(chunk.text for chunk in log)
    assert [f.host for f in sandbox.tls_failures()] == [ALLOWED]


def test_setup_with_the_company_ca_reaches_the_server_from_curl_and_python(make_sandbox, company):
    before = len(company.target.tls_requests)
    sandbox = make_sandbox(
        target=company.target,
        upstream_ca="",  # the proxy trusts this host's store plus the extra CA, nothing test-only
        extra_ca_pem=company.ca_pem,
        setup_script=f"curl -sS -m 10 https://{ALLOWED}/setup-curl && {PY_FETCH}",
        setup_network=SETUP_ALLOWLIST,
        agent_network=READ_ONLY,
    )
    assert sandbox.setup_result is not None
    assert sandbox.setup_result.exit_code == 0, sandbox.setup_result.output
    assert sandbox.setup_result.output.count(HELLO) == 2
    assert sandbox.tls_failures() == []
    assert [p for _, _, p in company.target.tls_requests[before:]] == [
        "/setup-curl",
        "/setup-python",
    ]
    # Agent phase: the proxy intercepts, so it verified the company-signed certificate itself.
    result = sandbox.exec(f"curl -sS -v -m 10 https://{ALLOWED}/agent 2>&1")
    assert HELLO in result.output, result.output
    assert "issuer: CN=mitmproxy" in result.output
    assert ("GET", ALLOWED, "/agent") in company.target.tls_requests
    # Where the tools look: the system bundle, the variables, the file for Node.
    env = sandbox.exec("env").output
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "GIT_SSL_CAINFO"):
        assert f"{name}={SYSTEM_CA_BUNDLE}" in env
    assert f"CURL_CA_BUNDLE={SYSTEM_CA_BUNDLE}" in env
    assert f"NODE_EXTRA_CA_CERTS={CODEXWEB_CAS}" in env
    line = ca_body_line(company.ca_pem)
    assert line in sandbox.exec(f"cat {SYSTEM_CA_BUNDLE}").output
    assert line in sandbox.exec(f"cat {CODEXWEB_CAS}").output
    assert sandbox.exec(f"cat {EXTRA_CA_PREFIX}1.crt").output.strip() == company.ca_pem.strip()
    # The command user can read the CA, not replace it.
    assert sandbox.exec(f"echo x > {EXTRA_CA_PREFIX}1.crt").exit_code != 0


def test_two_company_cas_make_a_bundle_node_can_read(make_sandbox, company):
    """SANDBOX_EXTRA_CA_FILE with two certificates (or the host's two added CAs): the bundle
    for Node holds both, each END line on its own; Node ignores the whole file when one runs
    into the next BEGIN ("bad end line"), and npm then fails on every intercepted host."""
    second = issued_certificate("mirror.test", company_ca())[0].decode()
    sandbox = make_sandbox(target=company.target, extra_ca_pem=company.ca_pem + second,
                           agent_network=READ_ONLY)
    bundle = sandbox.exec(f"cat {CODEXWEB_CAS}").output
    # The two company CAs and the egress proxy's (the agent phase intercepts).
    assert bundle.count("-----BEGIN CERTIFICATE-----") == 3, bundle
    assert "-----END CERTIFICATE----------BEGIN" not in bundle


def test_without_egress_the_company_ca_is_not_installed(make_sandbox, company):
    """No phase may reach the network, so no TLS can happen: the ~5 s of
    update-ca-certificates and keytool per start are skipped (every attempt on a host with
    added CAs paid them, SANDBOX_TRUST_HOST_CAS)."""
    sandbox = make_sandbox(extra_ca_pem=company.ca_pem)  # no setup script, agent offline
    assert sandbox.exec(f"test -e {EXTRA_CA_PREFIX}1.crt").exit_code == 1
    assert sandbox.exec("echo ok").output.strip() == "ok"


def test_the_proxy_without_the_company_ca_refuses_and_records_the_host(make_sandbox, company):
    sandbox = make_sandbox(target=company.target, upstream_ca="", agent_network=READ_ONLY)
    before = len(company.target.tls_requests)
    result = sandbox.exec(f"curl -sS -m 10 https://{ALLOWED}/unverified; echo rc=$?")
    assert "Certificate verify failed" in result.output, result.output
    assert company.target.tls_requests[before:] == []
    failures = sandbox.tls_failures()
    assert [(f.host, f.port) for f in failures] == [(ALLOWED, 443)]
    assert "unable to get local issuer certificate" in failures[0].error


def test_a_dropped_company_ca_does_not_live_on_in_a_warm_image(
    make_sandbox, company, docker_engine
):
    spec = {"setup_script": "true", "setup_network": NetworkPolicy(mode="off")}
    spec["cache_scope"] = f"corporate-{id(company)}"
    # Warm images are only made for an installation, a repository and a commit.
    spec.update(
        install_id=f"test-{uuid.uuid4().hex}", repository="1:git:acme/demo", commit="c" * 40
    )
    first = make_sandbox(warm_cache_hours=1.0, extra_ca_pem=company.ca_pem, **spec)
    second = None
    try:
        assert first.warm_image and not first.warm_hit
        second = make_sandbox(warm_cache_hours=1.0, **spec)
        assert not second.warm_hit, "another CA set is another warm image"
        found = second.exec(f"ls {EXTRA_CA_PREFIX}* 2>&1; cat {SYSTEM_CA_BUNDLE} {CODEXWEB_CAS}")
        assert "No such file" in found.output
        assert ca_body_line(company.ca_pem) not in found.output
        assert "SSL_CERT_FILE" not in second.exec("env").output
    finally:
        for sandbox in (first, second):
            if sandbox is not None:
                sandbox.stop()
        if first.warm_image:
            docker_engine.images.remove(first.warm_image, force=True)


def test_the_egress_proxy_chains_to_the_company_proxy(make_sandbox, company, company_proxy):
    url = company_proxy.url.replace("http://", "http://acme:s3cret@")
    sandbox = make_sandbox(
        target=company.target,
        upstream_ca="",
        extra_ca_pem=company.ca_pem,
        upstream_proxy=url,
        setup_script=f"curl -sS -m 10 https://{ALLOWED}/setup-chained",
        setup_network=SETUP_ALLOWLIST,
        agent_network=READ_ONLY,
    )
    assert sandbox.setup_result is not None
    assert HELLO in sandbox.setup_result.output, sandbox.setup_result.output
    ok = sandbox.exec(f"curl -sS -m 10 https://{ALLOWED}/chained")
    assert HELLO in ok.output, ok.output
    assert ("GET", ALLOWED, "/chained") in company.target.tls_requests
    assert ("CONNECT", f"{ALLOWED}:443") in company_proxy.requests
    # Our proxy still decides: a refused host and a refused method never reach the company's.
    refused = sandbox.exec("curl -sS -m 10 https://refused.test/; echo rc=$?")
    assert "CONNECT tunnel failed, response 403" in refused.output, refused.output
    post = sandbox.exec(f"curl -sS -m 10 -X POST -d x=1 https://{ALLOWED}/upload")
    assert "method POST is not allowed" in post.output, post.output
    assert not any("refused.test" in target for _, target in company_proxy.requests)
    assert ("POST", ALLOWED, "/upload") not in company.target.tls_requests
    # Plain HTTP goes through the company proxy as well.
    plain = sandbox.exec(f"curl -sS -m 10 http://{ALLOWED}/plain")
    assert plain.output == PLAIN_BODY.decode(), plain.output
    assert ("GET", f"http://{ALLOWED}/plain") in company_proxy.requests
    # The credentials reach the company proxy, and not the egress proxy's command line.
    expected = "Basic " + base64.b64encode(b"acme:s3cret").decode()
    assert set(company_proxy.authorizations) == {expected}
    assert sandbox.egress_proxy is not None
    assert not any("s3cret" in " ".join(map(str, p.args)) for p in sandbox.egress_proxy._procs)


def test_chained_mode_still_refuses_private_addresses(make_sandbox, company_proxy):
    sandbox = make_sandbox(
        upstream_proxy=company_proxy.url, agent_network=NetworkPolicy("on"), allow_private=()
    )
    # --noproxy '': past NO_PROXY (loopback), so these go to the egress proxy like any name that
    # resolves to a private address would.
    plain = sandbox.exec("curl -sS -m 10 --noproxy '' http://localhost:8000/secret")
    assert "localhost resolves to" in plain.output, plain.output
    assert "a loopback address" in plain.output, plain.output
    tunnel = sandbox.exec("curl -sS -m 10 --noproxy '' https://127.0.0.1:8443/; echo rc=$?")
    assert "CONNECT tunnel failed, response 403" in tunnel.output, tunnel.output
    assert any(
        r.host == "127.0.0.1" and not r.allowed and "loopback address" in r.reason
        for r in sandbox.egress_records()
    )
    assert company_proxy.requests == []


def reapable_labels() -> dict[str, str]:
    """Left to a reaper (another test's, running at the same time) only after its deadline,
    counted from the container's start: a deadline fixed when the module was imported had
    passed by the time a slow run reached these tests, and a reaper removed a container in use."""
    return {
        "org.codexweb.test": "1",
        LABEL_SANDBOX: "1",
        LABEL_DEADLINE: str(int(time.time()) + 900),
    }


HOST_JDK = Path("/usr/lib/jvm/java-17-openjdk-amd64")
JAVA_ROOTS = "/etc/ssl/certs/java"  # where Debian's JDK keeps its cacerts...
JAVA_CONF = "/etc/java-17-openjdk"  # ...and its security settings


@contextlib.contextmanager
def root_shell(docker_engine, image: str, **options) -> Iterator[ContainerShell]:  # noqa: ANN001, ANN003
    """A container of `image` that only sleeps (no network, labelled for the reapers), as a
    shell to run the trust step in; removed after. `options`: more of containers.run's."""
    container = docker_engine.containers.run(
        image, ["sleep", "infinity"], detach=True, user="root", network_mode="none",
        labels=reapable_labels(), **options,
    )
    try:
        yield ContainerShell(docker_engine, container.id)
    finally:
        container.remove(force=True)


def trust_company_ca(shell: ContainerShell, pem: str) -> bool:
    """The sandbox start's trust step for one extra CA (SANDBOX_EXTRA_CA_FILE's first)."""
    return shell.trust_cas(
        {f"{EXTRA_CA_PREFIX}1.crt": pem.encode()},
        what="the company CA",
        replace=f"{EXTRA_CA_PREFIX}*.crt",
    )


def test_a_jdk_in_the_image_gets_a_trust_store_with_the_company_ca(docker_engine, company):
    """The sandbox image has no JDK yet, so this lends it the host's (Debian's OpenJDK, whose
    roots live in /etc/ssl/certs/java) and runs the same trust step a sandbox start runs."""
    if not all(Path(p).exists() for p in (HOST_JDK / "bin" / "keytool", JAVA_ROOTS, JAVA_CONF)):
        pytest.skip(f"no Debian JDK at {HOST_JDK} ({JAVA_ROOTS}, {JAVA_CONF}) to lend the image")
    lent = {path: {"bind": path, "mode": "ro"} for path in (str(HOST_JDK), JAVA_ROOTS, JAVA_CONF)}
    with root_shell(docker_engine, IMAGE, volumes=lent) as shell:
        code, _, err = shell.run(
            ["ln", "-s", f"{HOST_JDK}/bin/keytool", "/usr/local/bin/"], user="root"
        )
        assert code == 0, err
        assert trust_company_ca(shell, company.ca_pem)
        listing = ["keytool", "-list", "-keystore", JAVA_TRUSTSTORE, "-storepass", "changeit"]
        code, out, err = shell.run(listing, user="sandbox")  # readable by the command user
        assert code == 0, err
        text = out.decode()
        assert "codexweb-extra-ca-1," in text  # the company CA...
        entries = int(re.search(r"Your keystore contains (\d+) entries", text).group(1))
        assert entries > 50  # ...next to the JDK's own roots, not instead of them
        options = java_tool_options({})
        assert f"-Djavax.net.ssl.trustStore={JAVA_TRUSTSTORE}" in options


def test_the_universal_images_jdk_trusts_the_ca_and_trusting_it_again_costs_nothing(
    docker_engine, universal_image, company
):
    """Each JVM start costs seconds (≈ 2 under load): the trust step makes codexweb's store
    from the JDK's roots (Debian's hook rewriting the JDK's own store is skipped: Java is
    pointed at codexweb's), and a container that trusts exactly these CAs already (a warm image
    whose setup trusted them) keeps what it has. Another CA set is trusted anew."""
    with root_shell(docker_engine, universal_image) as shell:

        def trust(pem: str) -> bool:
            return trust_company_ca(shell, pem)

        def run(script: str) -> str:
            code, out, err = shell.run(["bash", "-c", script], user="sandbox")
            assert code == 0, err
            return out.decode()

        def store() -> str:
            return run(f"keytool -list -rfc -keystore {JAVA_TRUSTSTORE} -storepass changeit")

        def made() -> str:  # the files' identities: rewritten files get new inodes
            return run(f"stat -c '%i %Y' {JAVA_TRUSTSTORE} {CODEXWEB_CAS}")

        def signature_line(pem: str) -> str:  # the issuer's name is in both certificates
            return pem.strip().splitlines()[-2]

        assert trust(company.ca_pem)
        listing = store()
        assert "Alias name: codexweb-extra-ca-1" in listing
        assert signature_line(company.ca_pem) in listing
        assert int(re.search(r"Your keystore contains (\d+) entries", listing).group(1)) > 50
        own = run("keytool -list -cacerts -storepass changeit")
        assert "codexweb" not in own  # the JDK's own store was left alone
        assert signature_line(company.ca_pem) in run(f"cat {SYSTEM_CA_BUNDLE}")

        before = made()
        assert trust(company.ca_pem)  # the same CA again: the store is there, nothing redone
        assert made() == before

        other = issued_certificate("other.acme.test", company_ca())[0].decode()
        assert trust(other)
        assert made() != before
        listing = store()
        assert signature_line(other) in listing
        assert signature_line(company.ca_pem) not in listing
        bundle = run(f"cat {SYSTEM_CA_BUNDLE} {CODEXWEB_CAS}")
        assert signature_line(company.ca_pem) not in bundle
        assert signature_line(other) in bundle


def test_a_first_trust_adds_the_ca_without_rehashing_every_root(docker_engine, company):
    """`update-ca-certificates` rebuilds the bundle and re-links every root by hash (1.3–1.8 s,
    paid by each cold start with egress on a host with a company CA); a container's first trust
    adds the CA to the bundle and links it by hash itself: the stock links stay as they were,
    and openssl finds the CA both ways (the bundle file, the hashed folder)."""
    with root_shell(docker_engine, IMAGE) as shell:

        def run(script: str) -> str:
            code, out, err = shell.run(["bash", "-c", script], user="root")
            assert code == 0, err
            return out.decode()

        # The identities (inodes) of the bundle and the stock roots' hash links: a rebuild
        # writes the bundle anew (a new file renamed over it).
        stock_links = (
            "find /etc/ssl/certs -maxdepth 1 \\( -name '*.0' -o -name ca-certificates.crt \\)"
            " -printf '%f %i\\n' | sort"
        )
        before = run(stock_links)
        assert before.count("\n") > 50 and "ca-certificates.crt" in before

        trust_company_ca(shell, company.ca_pem)

        after = run(stock_links)
        # One link added, none redone, the bundle appended to in place.
        assert set(before.splitlines()) < set(after.splitlines())
        run(f"echo '{company.ca_pem}' > /tmp/ca.pem")
        run("openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt /tmp/ca.pem")
        run("openssl verify -no-CAfile -CApath /etc/ssl/certs /tmp/ca.pem")


def test_the_java_store_is_made_once_per_image_and_given_to_its_next_containers(
    docker_engine, universal_image, company
):
    """Making the Java store is a JVM start per CA plus one (seconds under load), paid by every
    cold start with egress on a host with a company CA. The first container of an image makes
    it; the next one of the same image is given that very file (a store made again differs:
    PKCS12 salts are random), readable by the command user and holding the company CA."""
    from tasks.sandbox import java_trust_cache
    from tasks.sandbox.setup_checks import trust_extra_ca

    java_trust_cache.forget_all()
    stores: list[bytes] = []
    for _ in range(2):
        with root_shell(docker_engine, universal_image) as shell:
            assert trust_extra_ca(shell, company.ca_pem) == (True, True)
            listing = ["keytool", "-list", "-keystore", JAVA_TRUSTSTORE, "-storepass", "changeit"]
            code, out, err = shell.run(listing, user="sandbox")
            assert code == 0, err
            assert "codexweb-extra-ca-1," in out.decode()
            code, out, err = shell.run(["cat", JAVA_TRUSTSTORE], user="sandbox")
            assert code == 0, err
            stores.append(out)
            code, out, _ = shell.run(
                ["bash", "-c", "ls -A /usr/local/share/ca-certificates"], user="root"
            )
            assert b".given" not in out  # the handed-in copy does not linger
    assert stores[0] == stores[1]
    java_trust_cache.forget_all()
