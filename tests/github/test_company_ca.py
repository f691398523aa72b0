"""GitHub Enterprise behind a company CA: once the CA is in the host's certificate store, sign-in
(requests), the REST client (httpx) and git all trust it, as git alone did before.

The host's store is played by OpenSSL's SSL_CERT_FILE (the machine's own store is shared and not
ours to change): a bundle of certifi's roots plus the company CA, as `update-ca-certificates`
makes. requests ignores that variable, so sign-in failed here until it used the host's store.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from codexweb import host_trust
from repos.git.mirror import mirror_update, run_git
from repos.github.credentials import client_for
from repos.github.models import GitHubCredential
from tests.support import github_git
from tests.support.connected_github import connected_repository, serve
from tests.support.egress_target import company_ca, issued_certificate
from tests.support.github_double import GitHubDouble
from tests.support.github_fixtures import point_django_at
from tests.support.oauth_flow import sign_in


@pytest.fixture
def ghes(tmp_path, monkeypatch, settings) -> Iterator[GitHubDouble]:
    ca = company_ca()
    cert, key = issued_certificate("localhost", ca)
    (tmp_path / "server.pem").write_bytes(cert)
    (tmp_path / "server.key").write_bytes(key)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    store = tmp_path / "host-store.pem"
    store.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca[0])
    monkeypatch.setenv("SSL_CERT_FILE", str(store))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    host_trust.ssl_context.cache_clear()
    double = GitHubDouble(tls=server).start()
    github_git.install(double)
    point_django_at(settings, double, "ghes")
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    settings.SIGNIN_POLICY = "open"
    yield double
    double.stop()
    host_trust.ssl_context.cache_clear()
    assert double.state.take_violations() == []


@pytest.mark.django_db
def test_sign_in_api_and_git_trust_the_company_ca(client, ghes, acme, tmp_path):
    assert ghes.ghes_url.startswith("https://localhost:")
    ghes.state.add_user("octocat", sign_in=True)
    ghes.state.add_org("acme", members={"octocat": "write"})
    repo = serve(ghes, tmp_path, "acme", "webapp", {"app.py": "print('v1')\n"})

    sign_in(client, ghes, "ghes", verify=os.environ["SSL_CERT_FILE"])  # the person's browser

    credential = GitHubCredential.objects.get(login="octocat")
    assert client_for(credential).repository("acme", "webapp").can_push
    mirror = mirror_update(connected_repository(acme, repo, "ghes"),
                           token=credential.reveal())
    assert run_git(["-C", str(mirror), "rev-parse", "refs/heads/main"]).strip()


def test_a_server_the_store_does_not_vouch_for_is_still_refused(monkeypatch):
    """Trusting the host's store is not trusting everything."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    host_trust.ssl_context.cache_clear()
    context = host_trust.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    host_trust.ssl_context.cache_clear()
