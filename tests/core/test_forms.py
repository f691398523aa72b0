"""Form validation: every bad input gets a clear, specific message."""

from __future__ import annotations

import pytest

from codexweb.accounts.forms import FirstAdminForm
from repos.forms import RegisterRepositoryForm
from repos.git.refnames import is_valid_branch_name
from repos.models import Repository
from tasks.forms import ComposerForm

GOOD_COMPOSER = {
    "prompt": "Explain how the build works",
    "base_branch": "",
    "attempts": "1",
    "model_tier": "fast",
    "mode": "ask",
}

PRESS_A_MODE = "Press Ask (answer a question), Code (change the code) or Review."


def composer(repo, **changes):
    data = {**GOOD_COMPOSER, "repository": str(repo.pk), **changes}
    return ComposerForm(data, repositories=Repository.objects.filter(team=repo.team))


def test_composer_accepts_good_input(acme_repo):
    form = composer(acme_repo, base_branch=" release/2.0 ", attempts="4")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["repository"] == acme_repo
    assert form.cleaned_data["base_branch"] == "release/2.0"
    assert form.cleaned_data["attempts"] == 4


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"prompt": ""}, "prompt", "Describe what you want the agent to do."),
        ({"prompt": "   \n  "}, "prompt", "Describe what you want the agent to do."),
        ({"prompt": "x" * 20001}, "prompt", "Keep the prompt under 20000 characters"),
        ({"repository": ""}, "repository", "Choose a repository."),
        ({"repository": "999999"}, "repository", "Choose one of your team's repositories."),
        ({"repository": "abc"}, "repository", "Choose one of your team's repositories."),
        ({"base_branch": "feature branch"}, "base_branch", "cannot contain spaces"),
        ({"base_branch": "-rf"}, "base_branch", "cannot start with '-'"),
        ({"base_branch": "a..b"}, "base_branch", "contain '..'"),
        ({"base_branch": "a~1^2"}, "base_branch", "cannot contain ^ ~"),
        ({"attempts": "0"}, "attempts", "Choose between 1 and 4 attempts."),
        ({"attempts": "5"}, "attempts", "Choose between 1 and 4 attempts."),
        ({"attempts": "two"}, "attempts", "Choose between 1 and 4 attempts."),
        ({"model_tier": "huge"}, "model_tier", "Choose one of the listed models."),
        ({"mode": ""}, "mode", PRESS_A_MODE),
        ({"mode": "deploy"}, "mode", PRESS_A_MODE),
    ],
)
def test_composer_rejects_bad_input(acme_repo, changes, field, message):
    form = composer(acme_repo, **changes)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])
    assert set(form.errors) == {field}, "one bad field must not blame the others"


def test_composer_rejects_another_teams_repository(acme_repo, globex_repo):
    form = ComposerForm(
        {**GOOD_COMPOSER, "repository": str(globex_repo.pk)},
        repositories=Repository.objects.filter(team=acme_repo.team),
    )
    assert not form.is_valid()
    assert form.errors["repository"] == ["Choose one of your team's repositories."]


def test_composer_options_carry_the_default_branch(acme, acme_repo):
    other = Repository.objects.create(
        team=acme, provider="git", owner="acme", name="api", default_branch="trunk", clone_url="/x"
    )
    html = str(composer(acme_repo)["repository"])
    assert f'value="{other.pk}" data-default-branch="trunk"' in html


@pytest.mark.parametrize(
    "name", ["main", "release/2.0", "feature/x-y_z", "v1.2.3", "user@host"]
)
def test_valid_branch_names(name):
    assert is_valid_branch_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "-x", "/x", "x/", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b",
     "x.lock", "x.", "@", "a@{1}", "a//b", ".hidden", "a/.b", "a\x01b", "x" * 256],
)
def test_invalid_branch_names(name):
    assert not is_valid_branch_name(name)


GOOD_SETUP = {
    "username": "admin",
    "email": "admin@example.test",
    "password": "a sturdy passphrase 42",
    "password_again": "a sturdy passphrase 42",
    "team_name": "Platform",
}


def test_setup_form_accepts_good_input(db):
    form = FirstAdminForm(GOOD_SETUP)
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": ""}, "username", "Choose a username."),
        ({"username": "bad name!"}, "username", "Enter a valid username"),
        ({"email": "not-an-email"}, "email", "Enter an email like name@example.com"),
        ({"password": "", "password_again": ""}, "password", "Choose a password."),
        ({"password_again": "something else"}, "password_again", "The two passwords differ."),
        ({"password": "short", "password_again": "short"}, "password", "too short"),
        ({"password": "12345678901", "password_again": "12345678901"}, "password", "numeric"),
        ({"password": "password123", "password_again": "password123"}, "password", "too common"),
        ({"team_name": "   "}, "team_name", "Name your team."),
    ],
)
def test_setup_form_rejects_bad_input(db, changes, field, message):
    form = FirstAdminForm({**GOOD_SETUP, **changes})
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"location": "", "visibility": "private"}, "location", "Enter a git URL or an absolute"),
        ({"location": "relative/path", "visibility": "private"}, "location", "Use a full URL"),
        ({"location": "ftp://h/x.git", "visibility": "private"}, "location", "Unsupported URL"),
        ({"location": "https://u:pw@h/o/x.git", "visibility": "private"}, "location",
         "Do not put credentials in the URL"),
        ({"location": "--upload-pack=x", "visibility": "private"}, "location", "cannot start"),
        ({"location": "https://h/o/x.git", "visibility": "secret"}, "visibility",
         "Choose public, private or internal."),
        ({"location": "https://h/o/x.git", "visibility": "private", "default_branch": "a b"},
         "default_branch", "Branch names cannot contain spaces."),
    ],
)
def test_register_repository_form_rejects_bad_input(data, field, message):
    form = RegisterRepositoryForm(data)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


def test_register_repository_form_accepts_a_url():
    form = RegisterRepositoryForm(
        {"location": " https://git.example.com/team/app.git ", "visibility": "private"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["location"] == "https://git.example.com/team/app.git"
