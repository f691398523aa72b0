"""Credentials on the environment page: only team admins add, replace and delete them; values
are write-only (encrypted at rest, never shown, never audited, never in a snapshot); a domain
the agent's policy does not allow is flagged, because a credential never opens egress."""

from __future__ import annotations

import base64
import logging

from django.test import Client
from django.urls import reverse

from codexweb.audit.models import AuditEntry
from repos.credentials.models import EnvironmentCredential
from repos.credentials.services import CredentialInput, credential_set, credentials_for_proxy
from repos.environments.services import environment_snapshot

TOKEN = "cred-token-that-must-never-show-6c5b4a"
PASSWORD = "basic-pass-never-shown-0f1e"


def _url(repo, name="repos:environment", *extra):
    return reverse(name, args=[repo.pk, *extra])


def _bearer(**overrides) -> dict:
    data = {"name": "index", "domain": "pypi.acme.example", "kind": "bearer", "value": TOKEN,
            "path_prefix": "/simple/"}
    data.update(overrides)
    return data


def test_admin_adds_replaces_and_deletes_with_audit(alice_client, acme, acme_repo, bob, caplog):
    caplog.set_level(logging.DEBUG)
    response = alice_client.post(_url(acme_repo, "repos:credential_save"), _bearer(), follow=True)
    body = response.content.decode()
    assert "Credential index saved for pypi.acme.example" in body
    assert "does not allow pypi.acme.example" in body  # the policy is off: say so
    stored = EnvironmentCredential.objects.get(environment__repository=acme_repo)
    assert TOKEN not in stored.value_encrypted
    assert stored.reveal() == f"Bearer {TOKEN}"
    assert (stored.header_name, stored.path_prefix) == ("Authorization", "/simple/")

    bob_client = Client()
    bob_client.force_login(bob)
    for page in (alice_client.get(_url(acme_repo)), bob_client.get(_url(acme_repo))):
        text = page.content.decode()
        assert "pypi.acme.example" in text and "index" in text and "never" in text
        assert "not allowed by the internet policy" in text
        assert TOKEN not in text

    alice_client.post(
        _url(acme_repo, "repos:credential_save"),
        _bearer(kind="basic", username="ci", password=PASSWORD, value=""),
    )
    stored.refresh_from_db()
    assert stored.kind == "basic"
    assert stored.reveal() == "Basic " + base64.b64encode(f"ci:{PASSWORD}".encode()).decode()

    confirm = alice_client.get(_url(acme_repo, "repos:credential_delete", stored.pk))
    assert "Delete the credential index (pypi.acme.example)" in confirm.content.decode()
    assert EnvironmentCredential.objects.filter(pk=stored.pk).exists()  # asking deletes nothing
    alice_client.post(_url(acme_repo, "repos:credential_delete", stored.pk))
    assert not EnvironmentCredential.objects.filter(pk=stored.pk).exists()

    entries = list(
        AuditEntry.objects.filter(team=acme, action__startswith="credential.").order_by("pk")
    )
    assert [e.action for e in entries] == [
        "credential.added",
        "credential.replaced",
        "credential.deleted",
    ]
    for entry in entries:
        assert entry.changes["domain"] == "pypi.acme.example"
        for value in (TOKEN, PASSWORD):
            assert value not in str(entry.changes) and value not in entry.target
    assert TOKEN not in caplog.text and PASSWORD not in caplog.text


def test_members_and_other_teams_get_404(bob, carol, globex, acme_repo, alice):
    bob_client, carol_client = Client(), Client()
    bob_client.force_login(bob)
    carol_client.force_login(carol)
    credential = credential_set(
        environment=acme_repo.environment, actor=alice,
        data=CredentialInput(name="k", domain="api.example.org", kind="bearer", value=TOKEN),
    )
    for client in (bob_client, carol_client):
        assert client.post(_url(acme_repo, "repos:credential_save"), _bearer()).status_code == 404
        url = _url(acme_repo, "repos:credential_delete", credential.pk)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert carol_client.get(_url(acme_repo)).status_code == 404
    assert EnvironmentCredential.objects.filter(environment__repository=acme_repo).count() == 1


def test_bad_input_is_explained_and_never_echoes_the_value(alice_client, acme_repo):
    for data, message in (
        (_bearer(domain="https://pypi.acme.example/simple"), "enter a domain name only"),
        (_bearer(kind="header", name="h", header_name="Host"), "cannot carry a credential"),
        (_bearer(path_prefix="simple"), "A path prefix starts with"),
        (_bearer(kind="basic", value=TOKEN), "needs a user name and a password"),
    ):
        response = alice_client.post(_url(acme_repo, "repos:credential_save"), data, follow=True)
        text = response.content.decode()
        assert message in text, text
        assert TOKEN not in text
    assert not EnvironmentCredential.objects.exists()


def test_allowed_domain_is_not_flagged_and_worker_gets_values_snapshot_does_not(
    alice_client, acme_repo, alice
):
    environment = acme_repo.environment
    environment.internet_policy = "allowlist"
    environment.allowed_domains = ["*.acme.example"]
    environment.save()
    response = alice_client.post(_url(acme_repo, "repos:credential_save"), _bearer(), follow=True)
    text = response.content.decode()
    assert "Credential index saved" in text
    assert "not allowed by the internet policy" not in text
    assert TOKEN not in str(environment_snapshot(acme_repo))
    [given] = credentials_for_proxy(environment.pk)
    assert (given.domain, given.header, given.value) == (
        "pypi.acme.example", "Authorization", f"Bearer {TOKEN}"
    )
    assert TOKEN not in repr(given)


def test_the_input_never_shows_its_secrets_in_a_repr():
    given = CredentialInput(name="k", domain="api.example.org", kind="basic",
                            username="ci-user", password="hunter2-pass", value=TOKEN)
    shown = repr(given)
    assert "api.example.org" in shown and "'k'" in shown
    assert not any(secret in shown for secret in (TOKEN, "hunter2-pass", "ci-user"))
