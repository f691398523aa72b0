"""Corporate-network settings checked at the edge, the variables tools read, and the sentence a
person gets when setup fails on TLS verification (no Docker needed)."""

from __future__ import annotations

import pytest

from tasks.sandbox.base import (
    NetworkPolicy,
    SandboxError,
    SandboxOwner,
    SandboxSpec,
    TlsFailure,
)
from tasks.sandbox.spec import exec_environment, java_tool_options
from tasks.sandbox.tls_hint import setup_tls_hint
from tasks.sandbox.trust import (
    check_upstream_proxy,
    read_extra_ca,
    split_certificates,
    upstream_parts,
)
from tests.support.egress_target import company_ca, issued_certificate

OFF = NetworkPolicy(mode="off")


@pytest.fixture(scope="module")
def ca_pem() -> str:
    return company_ca()[0].decode()


def test_extra_ca_file_is_read_and_each_certificate_kept(tmp_path, ca_pem):
    other = issued_certificate("proxy.acme.test", company_ca())[0].decode()
    path = tmp_path / "company.pem"
    path.write_text(f"# Acme root and intermediate\n{ca_pem}\n{other}")
    text = read_extra_ca(str(path))
    assert split_certificates(text) == [ca_pem.strip(), other.strip()]
    assert "# Acme" not in text
    assert read_extra_ca("") == ""


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot be read"),
        ("not a certificate\n", "holds no PEM certificate"),
        (
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
            "holds a private key",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
            "certificate 1 in SANDBOX_EXTRA_CA_FILE",
        ),
    ],
    ids=["missing", "no-pem", "private-key", "garbled"],
)
def test_a_bad_extra_ca_file_gets_a_sentence_naming_it(tmp_path, content, says):
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SandboxError) as failed:
        read_extra_ca(str(path))
    assert says in str(failed.value)
    assert f"SANDBOX_EXTRA_CA_FILE={path}" in str(failed.value)


@pytest.mark.parametrize(
    "url", ["proxy.acme.test:3128", "socks5://proxy:1080", "http://proxy", "http://p:1/x"]
)
def test_a_bad_upstream_proxy_is_refused(url):
    with pytest.raises(SandboxError, match="SANDBOX_UPSTREAM_PROXY"):
        check_upstream_proxy(url)


def test_upstream_proxy_credentials_are_split_off():
    url = check_upstream_proxy("http://svc%40acme:p%3Ass@proxy.acme.test:3128/")
    assert upstream_parts(url) == ("http://proxy.acme.test:3128", "svc@acme:p:ss")
    assert upstream_parts("http://[fd00::1]:8080") == ("http://[fd00::1]:8080", "")
    assert check_upstream_proxy("") == ""


def test_the_extra_ca_variables_are_set_in_every_phase():
    env = exec_environment(user="sandbox", policy=OFF, extra_ca=True)
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "GIT_SSL_CAINFO"):
        assert env[name] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["CURL_CA_BUNDLE"] == env["npm_config_cafile"] == env["SSL_CERT_FILE"]
    assert env["NODE_EXTRA_CA_CERTS"] == "/usr/local/share/codexweb/cas.pem"
    assert "JAVA_TOOL_OPTIONS" not in env
    assert "SSL_CERT_FILE" not in exec_environment(user="sandbox", policy=OFF)


def test_java_options_keep_the_repositorys_own():
    options = java_tool_options({"JAVA_TOOL_OPTIONS": "-Xmx512m"})
    assert options.startswith("-Xmx512m -Djavax.net.ssl.trustStore=")
    assert "-Djavax.net.ssl.trustStoreType=PKCS12" in options
    env = exec_environment(user="sandbox", policy=OFF, extra_ca=True, java_options=options)
    assert env["JAVA_TOOL_OPTIONS"] == options


def test_the_proxys_record_names_the_host_and_the_setting():
    failures = [TlsFailure(1.0, "pypi.org", 443, "unable to get local issuer certificate")]
    hint = setup_tls_hint(failures, "pip: network error", extra_ca_set=False)
    assert hint == (
        "TLS verification of pypi.org failed: the certificate is signed by an unknown authority "
        "(unable to get local issuer certificate). If your network intercepts TLS, set "
        "SANDBOX_EXTRA_CA_FILE to your company's CA certificate (PEM); sandboxes and the egress "
        "proxy then trust it."
    )
    configured = setup_tls_hint(failures, "", extra_ca_set=True)
    assert "SANDBOX_EXTRA_CA_FILE is set, but its certificates do not verify this one" in configured


def test_tool_output_is_the_fallback():
    pip = (
        "WARNING: Retrying ... SSLError(SSLCertVerificationError(1, '[SSL: "
        "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
        "certificate (_ssl.c:1006)'))"
    )
    hint = setup_tls_hint([], pip, extra_ca_set=False, hosts_reached=["pypi.org", "pypi.org"])
    assert hint.startswith("A TLS certificate check failed during setup (hosts reached: pypi.org).")
    assert "set SANDBOX_EXTRA_CA_FILE" in hint
    assert setup_tls_hint([], "npm ERR! 404 Not Found", extra_ca_set=False) == ""


def test_the_settings_reach_the_spec_as_plain_data(settings, tmp_path, ca_pem):
    from tasks.worker.sandbox_settings import spec_from_settings

    path = tmp_path / "company.pem"
    path.write_text(ca_pem)
    settings.SANDBOX_EXTRA_CA_FILE = str(path)
    settings.SANDBOX_UPSTREAM_PROXY = "http://proxy.acme.test:3128"
    bare = SandboxSpec(owner=SandboxOwner.attempt(1), image="", workspace=tmp_path,
                       read_only=False)
    made = spec_from_settings(bare)
    assert made.extra_ca_pem.strip() == ca_pem.strip()
    assert made.upstream_proxy == "http://proxy.acme.test:3128"
    settings.SANDBOX_EXTRA_CA_FILE = str(tmp_path / "gone.pem")
    with pytest.raises(SandboxError, match="cannot be read"):
        spec_from_settings(bare)
