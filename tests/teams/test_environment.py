"""The repository environment page: admins edit, members read, other teams get 404; secrets are
write-only; changes reach only attempts that start later."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from codexweb.accounts.models import DomainList
from codexweb.audit.models import AuditEntry
from repos.environments.services import environment_snapshot, secret_set, secret_values_for_setup
from repos.models import Environment, EnvironmentSecret
from tasks import services
from tests.support import factories

SECRET = "s3cr3t-value-that-must-never-show-9f8e7d"


def _form(**overrides) -> dict:
    data = {
        "setup_script": "pip install -e .",
        "variables": "DJANGO_DEBUG=1",
        "internet_policy": "allowlist",
        "allowed_domains": "pypi.org\n*.pythonhosted.org",
        "allowed_methods": ["GET", "HEAD"],
        "setup_internet_policy": "on",
        "setup_allowed_domains": "",
        "cache_ttl_hours": "12",
    }
    data.update(overrides)
    return data


def _url(repo, name="repos:environment", *extra):
    return reverse(name, args=[repo.pk, *extra])


def test_anonymous_is_sent_to_sign_in(client, acme_repo):
    assert client.get(_url(acme_repo)).status_code == 302


def test_other_team_gets_404_everywhere(carol_client, acme_repo, globex):
    secret = secret_set(environment=acme_repo.environment, actor=None, name="TOKEN", value=SECRET)
    assert carol_client.get(_url(acme_repo)).status_code == 404
    assert carol_client.post(_url(acme_repo), _form()).status_code == 404
    assert (
        carol_client.post(
            _url(acme_repo, "repos:secret_save"), {"name": "X", "value": "y"}
        ).status_code
        == 404
    )
    assert carol_client.post(_url(acme_repo, "repos:secret_delete", secret.pk)).status_code == 404
    assert carol_client.post(_url(acme_repo, "repos:cache_reset")).status_code == 404
    assert carol_client.post(_url(acme_repo, "repos:setup_run")).status_code == 404


def test_admin_enables_an_allowlist(alice_client, acme, acme_repo):
    node = DomainList.objects.create(team=acme, name="Node", domains=["registry.npmjs.org"])
    response = alice_client.post(_url(acme_repo), _form(domain_lists=[str(node.pk)]))
    assert response.status_code == 302
    env = Environment.objects.get(repository=acme_repo)
    assert env.internet_policy == "allowlist"
    assert env.allowed_domains == ["pypi.org", "*.pythonhosted.org"]
    assert env.allowed_methods == ["GET", "HEAD"]
    assert list(env.domain_lists.all()) == [node]
    assert env.variables == {"DJANGO_DEBUG": "1"}
    policy = AuditEntry.objects.get(team=acme, action="policy.updated")
    assert policy.changes["internet_policy"] == ["off", "allowlist"]
    assert policy.changes["domain_lists"] == [[], ["Node"]]
    assert policy.actor_name == "alice" and policy.target == "acme/webapp"
    environment = AuditEntry.objects.get(team=acme, action="environment.updated")
    assert environment.changes["variables"] == {
        "added": ["DJANGO_DEBUG"],
        "removed": [],
        "changed": [],
    }


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"allowed_domains": "https://pypi.org"}, "without scheme"),
        ({"allowed_domains": "", "internet_policy": "allowlist"}, "needs domains"),
        ({"allowed_methods": []}, "at least one HTTP method"),
        ({"variables": "1BAD=x"}, "not a usable variable name"),
        ({"variables": "HTTPS_PROXY=http://evil"}, "cannot be overridden"),
        ({"cache_ttl_hours": "9999"}, "less than or equal to 720"),
    ],
)
def test_bad_input_is_explained_and_nothing_saved(alice_client, acme_repo, overrides, message):
    response = alice_client.post(_url(acme_repo), _form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Environment.objects.get(repository=acme_repo).internet_policy == "off"


def test_another_teams_domain_list_cannot_be_chosen(alice_client, acme_repo, globex):
    foreign = DomainList.objects.create(team=globex, name="G", domains=["g.example.com"])
    response = alice_client.post(_url(acme_repo), _form(domain_lists=[str(foreign.pk)]))
    assert response.status_code == 400
    assert not Environment.objects.get(repository=acme_repo).domain_lists.exists()


def test_member_sees_policy_read_only(bob_client, acme_repo, alice):
    env = acme_repo.environment
    env.internet_policy = "allowlist"
    env.allowed_domains = ["pypi.org"]
    env.save()
    response = bob_client.get(_url(acme_repo))
    body = response.content.decode()
    assert response.status_code == 200
    assert "only team admins can change it" in body
    assert "pypi.org" in body
    assert 'value="allowlist"' in body and "disabled" in body
    assert "Save environment" not in body and "Save secret" not in body


def test_member_cannot_change_anything(bob_client, acme_repo):
    secret = secret_set(environment=acme_repo.environment, actor=None, name="TOKEN", value=SECRET)
    assert bob_client.post(_url(acme_repo), _form()).status_code == 404
    assert (
        bob_client.post(
            _url(acme_repo, "repos:secret_save"), {"name": "X", "value": "y"}
        ).status_code
        == 404
    )
    assert bob_client.post(_url(acme_repo, "repos:secret_delete", secret.pk)).status_code == 404
    assert bob_client.post(_url(acme_repo, "repos:cache_reset")).status_code == 404
    assert Environment.objects.get(repository=acme_repo).internet_policy == "off"
    assert EnvironmentSecret.objects.filter(pk=secret.pk).exists()


def test_secret_is_write_only_everywhere(alice_client, acme, acme_repo, bob, caplog):
    caplog.set_level(logging.DEBUG)
    bob_client = Client()
    bob_client.force_login(bob)
    response = alice_client.post(
        _url(acme_repo, "repos:secret_save"), {"name": "PYPI_TOKEN", "value": SECRET}
    )
    assert response.status_code == 302
    stored = EnvironmentSecret.objects.get(environment__repository=acme_repo, name="PYPI_TOKEN")
    assert SECRET not in stored.value_encrypted
    assert stored.reveal() == SECRET
    for page in (alice_client.get(_url(acme_repo)), bob_client.get(_url(acme_repo))):
        body = page.content.decode()
        assert "PYPI_TOKEN" in body
        assert SECRET not in body
    # Replacing it and deleting it are audited by name only.
    alice_client.post(
        _url(acme_repo, "repos:secret_save"), {"name": "PYPI_TOKEN", "value": SECRET + "2"}
    )
    alice_client.post(_url(acme_repo, "repos:secret_delete", stored.pk))
    entries = AuditEntry.objects.filter(team=acme, action__startswith="secret.")
    assert entries.count() == 3
    for entry in entries:
        assert entry.changes["name"] == "PYPI_TOKEN"
        assert SECRET not in str(entry.changes) and SECRET not in entry.target
    export = alice_client.get(reverse("audit:export", args=["jsonl"]))
    assert SECRET not in b"".join(export.streaming_content).decode()
    assert SECRET not in caplog.text


def test_secret_form_never_echoes_the_value_on_error(alice_client, acme_repo):
    response = alice_client.post(
        _url(acme_repo, "repos:secret_save"), {"name": "1BAD", "value": SECRET}, follow=True
    )
    assert "not a usable variable name" in response.content.decode()
    assert SECRET not in response.content.decode()


def test_cache_reset_asks_then_bumps_the_generation(alice_client, acme, acme_repo):
    assert (
        "Reset the cached environment"
        in alice_client.get(_url(acme_repo, "repos:cache_reset")).content.decode()
    )
    assert Environment.objects.get(repository=acme_repo).cache_generation == 0
    alice_client.post(_url(acme_repo, "repos:cache_reset"))
    env = Environment.objects.get(repository=acme_repo)
    assert env.cache_generation == 1 and env.cache_reset_at is not None
    assert environment_snapshot(acme_repo)["cache"]["generation"] == 1
    assert AuditEntry.objects.filter(team=acme, action="environment.cache_reset").exists()


def test_run_setup_is_disabled_without_a_sandbox(alice_client, acme_repo, settings):
    settings.SANDBOX_BACKEND = "none"
    body = alice_client.get(_url(acme_repo)).content.decode()
    assert 'id="run-setup" disabled' in body
    assert "No sandbox is configured" in body
    response = alice_client.post(_url(acme_repo, "repos:setup_run"), follow=True)
    assert "No sandbox is configured" in response.content.decode()


def test_snapshot_has_secret_names_never_values(acme_repo):
    secret_set(environment=acme_repo.environment, actor=None, name="PYPI_TOKEN", value=SECRET)
    snapshot = environment_snapshot(acme_repo)
    assert snapshot["secret_names"] == ["PYPI_TOKEN"]
    assert SECRET not in str(snapshot)
    assert secret_values_for_setup(snapshot["environment_id"], snapshot["secret_names"]) == {
        "PYPI_TOKEN": SECRET
    }


def test_setup_phase_allows_every_method_the_proxy_knows(acme_repo):
    """Setup installs dependencies: its allowlist is method-unrestricted, so no TLS interception."""
    from tasks.sandbox.egress.policy import HTTP_METHODS, needs_tls_interception

    setup = environment_snapshot(acme_repo)["setup_policy"]
    assert setup["methods"] == list(HTTP_METHODS)
    assert not needs_tls_interception("allowlist", setup["methods"])


def test_policy_change_affects_only_attempts_that_start_later(alice_client, acme, acme_repo, alice):
    """An attempt copies the environment when the worker claims it; later edits don't reach it."""
    first = factories.make_task(acme_repo, alice).attempts.get()
    assert services.attempt_claim(attempt_id=first.pk)
    first.refresh_from_db()
    assert first.environment_snapshot["agent_policy"] == {
        "mode": "off",
        "domains": [],
        "domain_lists": [],
        "methods": ["GET", "HEAD", "OPTIONS"],
    }

    alice_client.post(_url(acme_repo), _form(setup_script="make deps"))
    secret_set(environment=acme_repo.environment, actor=alice, name="LATE_SECRET", value=SECRET)

    first.refresh_from_db()
    assert first.environment_snapshot["agent_policy"]["mode"] == "off"
    assert first.environment_snapshot["setup_script"] == ""
    assert first.environment_snapshot["secret_names"] == []
    # The secret added later is not handed to the running attempt's setup either.
    assert (
        secret_values_for_setup(
            first.environment_snapshot["environment_id"], first.environment_snapshot["secret_names"]
        )
        == {}
    )

    second = factories.make_task(acme_repo, alice).attempts.get()
    services.attempt_claim(attempt_id=second.pk)
    second.refresh_from_db()
    assert second.environment_snapshot["agent_policy"]["mode"] == "allowlist"
    assert second.environment_snapshot["agent_policy"]["domains"] == [
        "pypi.org",
        "*.pythonhosted.org",
    ]
    assert second.environment_snapshot["setup_script"] == "make deps"
    assert second.environment_snapshot["secret_names"] == ["LATE_SECRET"]


def test_snapshot_resolves_domain_lists_at_start(acme, acme_repo, alice):
    node = DomainList.objects.create(team=acme, name="Node", domains=["registry.npmjs.org"])
    env = acme_repo.environment
    env.internet_policy = "allowlist"
    env.allowed_domains = ["pypi.org"]
    env.save()
    env.domain_lists.add(node)
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    node.domains = ["registry.npmjs.org", "evil.example.com"]
    node.save()
    attempt.refresh_from_db()
    assert attempt.environment_snapshot["agent_policy"]["domains"] == [
        "pypi.org",
        "registry.npmjs.org",
    ]


# -- image, maintenance script, PATH prefix -------------------------------------------------------


def test_admin_chooses_image_maintenance_and_path_prefix(alice_client, acme, acme_repo):
    response = alice_client.post(
        _url(acme_repo),
        _form(
            image="slim",
            maintenance_script="git fetch -q\r\npip install -e .",
            path_prefix="/workspace/node_modules/.bin\n# comment\n\n/opt/tools/bin",
        ),
    )
    assert response.status_code == 302
    env = Environment.objects.get(repository=acme_repo)
    assert (env.image, env.custom_image) == ("slim", "")
    assert env.maintenance_script == "git fetch -q\npip install -e ."
    assert env.path_prefix == ["/workspace/node_modules/.bin", "/opt/tools/bin"]
    changes = AuditEntry.objects.get(team=acme, action="environment.updated").changes
    assert changes["image"] == [["universal", ""], ["slim", ""]]
    assert changes["maintenance_script"] == "changed"
    assert changes["path_prefix"] == [[], ["/workspace/node_modules/.bin", "/opt/tools/bin"]]
    snapshot = environment_snapshot(acme_repo)
    assert snapshot["image"] == {"choice": "slim", "custom": ""}
    assert snapshot["maintenance_script"] == "git fetch -q\npip install -e ."
    assert snapshot["path_prefix"] == ["/workspace/node_modules/.bin", "/opt/tools/bin"]


def test_page_shows_the_choices_with_help(alice_client, acme_repo, settings):
    settings.SANDBOX_ALLOWED_IMAGES = []
    body = alice_client.get(_url(acme_repo)).content.decode()
    assert 'value="universal"' in body and 'value="slim"' in body and "checked" in body
    assert 'value="custom"' not in body  # nothing allowed, nothing offered
    assert "Maintenance script" in body and "PATH prefix" in body
    assert "no other versions to choose from" in body
    settings.SANDBOX_ALLOWED_IMAGES = ["corp/python:3.12"]
    body = alice_client.get(_url(acme_repo)).content.decode()
    assert 'value="custom"' in body and "corp/python:3.12" in body


def test_an_allowed_custom_image_is_saved(alice_client, acme_repo, settings):
    settings.SANDBOX_ALLOWED_IMAGES = ["corp/python:3.12"]
    response = alice_client.post(
        _url(acme_repo), _form(image="custom", custom_image="corp/python:3.12")
    )
    assert response.status_code == 302
    env = Environment.objects.get(repository=acme_repo)
    assert (env.image, env.custom_image) == ("custom", "corp/python:3.12")


def test_an_image_the_operator_no_longer_allows_is_refused_at_start(acme_repo, settings, tmp_path):
    from tasks.sandbox.base import SandboxError, SandboxOwner
    from tasks.sandbox.snapshot import EnvironmentSnapshot
    from tasks.worker.sandbox_settings import spec_from_snapshot

    env = acme_repo.environment
    env.image, env.custom_image = "custom", "corp/python:3.12"
    env.save()
    snapshot = environment_snapshot(acme_repo)
    settings.SANDBOX_ALLOWED_IMAGES = []
    with pytest.raises(SandboxError, match="not one this installation allows"):
        spec_from_snapshot(
            EnvironmentSnapshot.from_json(snapshot),
            owner=SandboxOwner.attempt(1),
            workspace=tmp_path,
            read_only=True,
            secrets={},
            install_id="i",
            commit="c" * 40,
            secret_versions={},
        )


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"image": "custom", "custom_image": "evil/miner:latest"}, "Select a valid choice"),
        ({"image": "custom", "custom_image": ""}, "Choose which custom image to use."),
        ({"image": "debian:latest"}, "Select a valid choice"),
        ({"path_prefix": "node_modules/.bin"}, "Line 1: PATH prefix"),
        ({"path_prefix": "/opt/bin\n/usr/bin:/tmp/evil"}, "Line 2: PATH prefix"),
        ({"path_prefix": "/opt/../etc"}, "may not contain"),
        ({"maintenance_script": "x" * 100_001}, "maintenance script is too long"),
    ],
)
def test_bad_image_or_path_input_is_explained(
    alice_client, acme_repo, settings, overrides, message
):
    settings.SANDBOX_ALLOWED_IMAGES = ["corp/python:3.12"]
    response = alice_client.post(_url(acme_repo), _form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    env = Environment.objects.get(repository=acme_repo)
    assert (env.image, env.path_prefix, env.maintenance_script) == ("universal", [], "")


def test_a_path_variable_is_refused_and_says_where_to_go(alice_client, acme_repo):
    response = alice_client.post(_url(acme_repo), _form(variables="PATH=/opt/bin:$PATH"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "PATH is set by the sandbox and cannot be replaced" in body
    assert "PATH prefix" in body
    assert Environment.objects.get(repository=acme_repo).variables == {}
