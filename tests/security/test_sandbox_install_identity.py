"""What the worker tells the sandbox about whose warm image it may use (issue 17, items 4 and 6):
an install id made once per database, the repository's identity, the secrets' versions — never
a secret's value."""

from __future__ import annotations

from repos.environments.services import environment_snapshot, secret_set, secret_versions
from repos.installation.models import Installation
from repos.installation.services import install_id
from tests.support import factories

SECRET = "s3cr3t-value-9f8e7d"


def test_the_install_id_is_made_once_and_kept(db):
    first = install_id()
    assert len(first) == 32 and install_id() == first
    assert Installation.objects.count() == 1


def test_a_fresh_database_gets_another_install_id(db):
    first = install_id()
    Installation.objects.all().delete()  # what a second installation starts from
    assert install_id() != first


def test_the_setting_overrides_the_stored_id(db, settings):
    settings.CODEXWEB_INSTALL_ID = "operator-chosen"
    assert install_id() == "operator-chosen"
    assert not Installation.objects.exists()


def test_repositories_with_the_same_name_in_two_teams_are_different(acme, globex):
    ours = factories.make_repository(acme, owner="python-semver", name="semver")
    theirs = factories.make_repository(globex, owner="python-semver", name="semver")
    identities = {
        environment_snapshot(repository)["repository_identity"] for repository in (ours, theirs)
    }
    assert len(identities) == 2


def test_secret_versions_change_when_a_secret_is_set_again_and_never_hold_it(alice, acme_repo):
    environment = acme_repo.environment
    seen = []
    for _ in range(2):
        secret_set(environment=environment, actor=alice, name="API_TOKEN", value=SECRET)
        seen.append(secret_versions(environment.pk, ["API_TOKEN"]))
    assert seen[0] != seen[1]
    assert all(SECRET not in str(versions) for versions in seen)
