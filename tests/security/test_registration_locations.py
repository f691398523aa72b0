"""Attacks on repository registration: a team admin types a location the worker would fetch
with the server's own rights. Each test performs the attack through the Register page (or the
service the page calls) against real git and PostgreSQL, and checks it is refused in plain
words, nothing is registered, and the attempt is in the audit log.

The test settings allow paths under pytest's temporary folders only (GIT_LOCAL_ROOTS) and hosts
`*` plus `127.0.0.1` by name (GIT_ALLOWED_HOSTS); see tests/support/settings.py.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from pathlib import Path

import pytest

from codexweb.audit import actions
from codexweb.audit.models import AuditEntry
from repos.git import mirror
from repos.models import Repository
from repos.services import RepositoryError, repository_register
from tests.support import factories

REGISTER = "/repositories/new/"


def register(client, location: str):
    return client.post(REGISTER, {"location": location, "visibility": "private"})


def refusal(response) -> str:
    """The page's error text for the location field (the form is shown again, status 400)."""
    assert response.status_code == 400
    return html.unescape(response.content.decode())


@pytest.fixture
def outside(tmp_path):
    """A git repository on the server outside every allowed folder (think /etc, /root/.ssh)."""
    folder = Path(tempfile.mkdtemp(prefix="codexweb-outside-"))
    repo = factories.make_git_repository(folder / "ops" / "secrets", {"id_rsa": "PRIVATE KEY\n"})
    yield repo
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def globex_mirror(globex, tmp_path, settings):
    """Another team's repository, fetched into its mirror. The mirror root is placed inside an
    allowed folder on purpose: even then nobody may register a path in it."""
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    source = factories.make_git_repository(tmp_path / "globex-src" / "globex" / "plans",
                                           {"plan.txt": "take over the world\n"})
    repository = repository_register(team=globex, location=str(source))
    return mirror.mirror_update(repository)


def test_another_teams_mirror_cannot_be_registered(alice_client, acme, globex_mirror):
    response = register(alice_client, str(globex_mirror))

    assert f"{globex_mirror} is inside codexweb's own files" in refusal(response)
    assert not Repository.objects.filter(team=acme).exists()
    entry = AuditEntry.objects.get(team=acme)
    assert entry.action == actions.REPOSITORY_REGISTRATION_REFUSED
    assert entry.target == str(globex_mirror) and entry.actor.username == "alice"


def test_the_apps_own_checkout_cannot_be_registered(alice_client, acme, settings):
    settings.GIT_LOCAL_ROOTS = [str(settings.BASE_DIR.parent)]

    text = refusal(register(alice_client, str(settings.BASE_DIR)))

    assert "inside codexweb's own files" in text
    assert not Repository.objects.exists()


def test_default_session_mirror_root_is_outside_the_allowed_folders(alice_client, acme, settings,
                                                                    globex, tmp_path):
    source = factories.make_git_repository(tmp_path / "src" / "globex" / "plans")
    path = mirror.mirror_update(repository_register(team=globex, location=str(source)))

    text = refusal(register(alice_client, str(path)))

    assert f"{path} is not under a folder allowed for repositories" in text


@pytest.mark.parametrize("location", ["file:///srv/git/acme/app.git", "FILE:///etc/x/y.git"])
def test_file_urls_are_refused(alice_client, acme, outside, location):
    text = refusal(register(alice_client, location))
    assert "file:// locations are not accepted" in text
    assert not Repository.objects.exists()
    entry = AuditEntry.objects.get(team=acme)
    assert (entry.action, entry.target) == (actions.REPOSITORY_REGISTRATION_REFUSED, location)


def test_file_url_of_a_real_repository_is_refused(alice_client, acme, outside):
    text = refusal(register(alice_client, f"file://{outside}"))
    assert "file:// locations are not accepted" in text


def test_a_path_outside_the_allowed_folders_is_refused(alice_client, acme, outside, settings):
    page = alice_client.get(REGISTER).content.decode()
    assert f"Paths on this server must lie under {settings.GIT_LOCAL_ROOTS[0]}." in page

    text = refusal(register(alice_client, str(outside)))

    assert f"{outside} is not under a folder allowed for repositories" in text
    assert not Repository.objects.exists()
    # The refusal is the same for a path that does not exist: it is no probe of the disk.
    missing = outside.parent / "missing"
    assert f"{missing} is not under a folder" in refusal(register(alice_client, str(missing)))


def test_dot_dot_cannot_climb_out_of_an_allowed_folder(alice_client, acme, outside, tmp_path):
    climbing = f"{tmp_path}/{'/'.join(['..'] * len(tmp_path.parts))}{outside}"

    text = refusal(register(alice_client, climbing))

    assert "is not under a folder allowed for repositories" in text


def test_a_symlink_inside_an_allowed_folder_pointing_outside_is_refused(alice_client, acme,
                                                                        outside, tmp_path):
    link = tmp_path / "innocent" / "ops" / "secrets"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)

    text = refusal(register(alice_client, str(link)))

    assert f"{link} leads outside the folders allowed for repositories" in text
    assert not Repository.objects.exists()


def test_a_git_file_pointing_outside_is_refused(alice_client, acme, outside, tmp_path):
    """`.git` may be a file naming the real git directory: that is followed and checked too."""
    decoy = tmp_path / "decoy" / "ops" / "secrets"
    decoy.mkdir(parents=True)
    (decoy / ".git").write_text(f"gitdir: {outside / '.git'}\n")

    text = refusal(register(alice_client, str(decoy)))

    assert "leads outside the folders allowed for repositories" in text


def test_a_root_the_operator_names_through_a_symlink_still_works(alice_client, acme, tmp_path,
                                                                 settings):
    real = tmp_path / "data" / "repos"
    repo = factories.make_git_repository(real / "tools" / "linter")
    named = tmp_path / "srv-git"
    named.symlink_to(real)
    settings.GIT_LOCAL_ROOTS = [str(named)]

    for location in (named / "tools" / "linter", repo):
        Repository.objects.all().delete()
        assert register(alice_client, str(location)).status_code == 302


def test_no_path_is_accepted_when_the_operator_lists_no_folder(alice_client, acme, tmp_path,
                                                               settings):
    settings.GIT_LOCAL_ROOTS = []
    repo = factories.make_git_repository(tmp_path / "tools" / "linter")

    text = refusal(register(alice_client, str(repo)))

    assert "Paths on the server are not accepted here; use a git URL." in text
    assert "Paths on this server are not accepted here; use an https URL." in text


def test_a_path_swapped_for_a_symlink_after_registration_is_not_fetched(acme, alice, outside,
                                                                        tmp_path):
    """The rules are checked again on every fetch: files change after registration."""
    repo = factories.make_git_repository(tmp_path / "later" / "ops" / "secrets")
    repository = repository_register(team=acme, location=str(repo), actor=alice)
    shutil.rmtree(repo)
    repo.symlink_to(outside)

    with pytest.raises(mirror.GitError, match="leads outside the folders allowed"):
        mirror.mirror_update(repository)
    assert not (mirror.mirror_path(repository) / "HEAD").exists()


@pytest.mark.parametrize("location", [
    "ssh://git@git.example.com/acme/app.git",
    "git+ssh://git.example.com/acme/app.git",
    "git@github.com:acme/app.git",
    "deploy@10.0.0.5:srv/acme/app.git",
    "build-host:acme/app.git",
])
def test_ssh_locations_are_refused(alice_client, acme, location):
    text = refusal(register(alice_client, location))
    assert "SSH locations need a deploy key" in text and "use an https URL" in text
    assert not Repository.objects.exists()


@pytest.mark.parametrize("location", [
    "http://localhost:8000/acme/app.git",
    "https://169.254.169.254/latest/meta-data.git",
    "http://10.1.2.3/acme/app.git",
    "http://[::1]:3000/acme/app.git",
    "http://2130706433/acme/app.git",  # 127.0.0.1 as one number
    "git://192.168.1.20/acme/app.git",
])
def test_urls_to_local_or_private_addresses_are_refused(alice_client, acme, location):
    text = refusal(register(alice_client, location))

    assert "is a local or private network address, which codexweb does not fetch from" in text
    assert not Repository.objects.exists()
    assert AuditEntry.objects.get(team=acme).action == actions.REPOSITORY_REGISTRATION_REFUSED


@pytest.mark.parametrize(("location", "problem"), [
    ("https://[::1/acme/app.git", "is not a URL codexweb can read"),
    ("https://127.0.0.1:0/acme/app.git", "has an unusable port"),
    ("https://127.0.0.1:99999/acme/app.git", "has an unusable port"),
    ("http://git_host/acme/app.git", "is not a host name codexweb can fetch from"),
    ("ext::sh -c touch% /tmp/x #://h/acme/app", "Unsupported URL scheme 'ext'"),
])
def test_malformed_urls_are_refused_in_words(alice_client, acme, location, problem):
    assert problem in refusal(register(alice_client, location))


def test_a_private_address_listed_by_name_is_allowed(alice_client, acme, settings):
    settings.GIT_ALLOWED_HOSTS = ["localhost"]

    assert register(alice_client, "http://localhost:9/acme/app.git").status_code == 302
    assert Repository.objects.get(team=acme).clone_url == "http://localhost:9/acme/app.git"


def test_hosts_the_operator_did_not_allow_are_refused(alice_client, acme, settings):
    settings.GIT_ALLOWED_HOSTS = ["*.corp.example"]

    text = refusal(register(alice_client, "https://127.0.0.1/acme/app.git"))

    assert "Fetching from 127.0.0.1 is not allowed here" in text


def test_credentials_in_a_url_are_refused_and_not_logged(alice, acme):
    with pytest.raises(RepositoryError, match="Do not put credentials in the URL"):
        repository_register(team=acme, actor=alice,
                            location="https://bob:hunter2@127.0.0.1/acme/app.git")
    entry = AuditEntry.objects.get(team=acme)
    assert "hunter2" not in entry.target + str(entry.changes)


def test_every_registration_is_in_the_audit_log(alice_client, acme, tmp_path):
    repo = factories.make_git_repository(tmp_path / "tools" / "linter", branch="trunk")

    assert register(alice_client, str(repo)).status_code == 302
    assert register(alice_client, "http://127.0.0.1:9/acme/app.git").status_code == 302

    entries = AuditEntry.objects.filter(team=acme, action=actions.REPOSITORY_REGISTERED)
    assert sorted((e.target, e.changes["location"], e.actor.username) for e in entries) == [
        ("acme/app", "http://127.0.0.1:9/acme/app.git", "alice"),
        ("tools/linter", str(repo), "alice"),
    ]


def test_the_url_host_is_pinned_for_the_fetch(settings):
    """DNS may answer differently at fetch time: the fetch connects to the checked addresses,
    and follows no redirect (which would skip the host check)."""
    from repos.git.locations import check_location, rules_from_settings

    settings.GIT_ALLOWED_HOSTS = ["git.example.test"]
    source = check_location("https://git.example.test/acme/app.git", rules_from_settings(),
                            resolve=lambda host, port: ["203.0.113.7", "2001:db8::7"])

    assert source.git_options() == [
        "-c", "http.followRedirects=false",
        "-c", "http.curloptResolve=git.example.test:443:203.0.113.7,[2001:db8::7]",
    ]
