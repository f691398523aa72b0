"""First-run setup, local sign-in, sign-out and team switching, through real requests."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from codexweb.accounts.current import SESSION_KEY
from codexweb.accounts.models import Membership
from tests.support import factories

SETUP = {
    "username": "admin",
    "email": "admin@example.test",
    "password": "a sturdy passphrase 42",
    "password_again": "a sturdy passphrase 42",
    "team_name": "Platform",
}


def test_fresh_install_sends_sign_in_to_setup(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/setup/"


def test_setup_creates_the_first_admin_and_team_and_signs_in(client, db):
    page = client.get("/accounts/setup/")
    assert page.status_code == 200
    assert b"Create the first administrator" in page.content

    response = client.post("/accounts/setup/", SETUP)
    assert response.status_code == 302 and response["Location"] == "/"
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(SETUP["password"])
    membership = Membership.objects.get(user=admin)
    assert membership.team.name == "Platform" and membership.is_admin
    home = client.get("/")
    assert home.status_code == 200 and home.wsgi_request.user == admin
    assert b"Welcome! Register a repository" in home.content


def test_setup_bad_input_keeps_what_was_typed(client, db):
    response = client.post(
        "/accounts/setup/",
        {**SETUP, "username": "bad name!", "password_again": "different", "email": "a@b.example"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid username" in html
    assert "The two passwords differ." in html
    assert 'value="bad name!"' in html
    assert 'value="a@b.example"' in html
    assert 'value="Platform"' in html
    assert 'id="error-summary"' in html and 'aria-invalid="true"' in html
    assert not get_user_model().objects.exists()


def test_setup_is_closed_once_an_account_exists(client, alice):
    assert client.get("/accounts/setup/")["Location"] == "/accounts/login/"
    response = client.post("/accounts/setup/", SETUP)
    assert response["Location"] == "/accounts/login/"
    assert not User.objects.filter(username="admin").exists()


def test_local_sign_in_and_sign_out(client, alice, acme):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b"Sign in to codexweb" in page.content
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": factories.PASSWORD, "next": "/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200

    assert client.get("/accounts/logout/").status_code == 405, "sign-out is a POST only"
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_sign_in_with_a_wrong_password_keeps_the_username(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That username and password do not match an account." in html
    assert 'value="alice"' in html
    assert "nope" not in html, "a password is never echoed back"


def test_sign_in_with_empty_fields_says_which(client, alice):
    response = client.post("/accounts/login/", {"username": "", "password": ""})
    assert response.status_code == 400
    assert b"Enter your username." in response.content
    assert b"Enter your password." in response.content


def test_local_sign_in_refused_when_local_accounts_are_off(client, alice, settings):
    settings.LOCAL_ACCOUNTS_ENABLED = False
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert b"Local accounts are turned off" in response.content
    assert "_auth_user_id" not in client.session


def test_sign_in_keeps_the_page_asked_for(client, alice, acme, acme_repo):
    task = factories.make_task(acme_repo, alice)
    response = client.get(f"/tasks/{task.pk}/")
    assert response["Location"] == f"/accounts/login/?next=/tasks/{task.pk}/"
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": factories.PASSWORD, "next": f"/tasks/{task.pk}/"},
    )
    assert response["Location"] == f"/tasks/{task.pk}/"


def test_sign_in_never_redirects_off_site(client, alice):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": factories.PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


@pytest.fixture
def alice_in_two_teams(alice, acme, globex):
    factories.add_member(globex, alice)
    return alice


def test_team_switching(alice_in_two_teams, alice_client, acme, globex, acme_repo, globex_repo):
    factories.make_task(globex_repo, alice_in_two_teams, prompt="Globex thing")
    factories.make_task(acme_repo, alice_in_two_teams, prompt="Acme thing")
    home = alice_client.get("/").content.decode()
    assert "Acme thing" in home and "Globex thing" not in home
    assert "/accounts/switch-team/" in home, "a person in two teams sees the switcher"

    response = alice_client.post(f"/accounts/switch-team/{globex.pk}/")
    assert response["Location"] == "/"
    assert alice_client.session[SESSION_KEY] == globex.pk
    home = alice_client.get("/").content.decode()
    assert "Globex thing" in home and "Acme thing" not in home
    assert "Now working in Globex." in home
    picker = alice_client.get("/repositories/picker/").json()
    assert [r["full_name"] for r in picker["results"]] == ["globex/secret-plans"]


def test_switching_to_a_team_you_are_not_in_is_404(bob_client, acme, globex):
    assert bob_client.post(f"/accounts/switch-team/{globex.pk}/").status_code == 404
    assert SESSION_KEY not in bob_client.session
    assert bob_client.get(f"/accounts/switch-team/{acme.pk}/").status_code == 405


def test_leaving_a_team_falls_back_to_another(alice_in_two_teams, alice_client, acme, globex):
    alice_client.post(f"/accounts/switch-team/{globex.pk}/")
    Membership.objects.filter(team=globex, user=alice_in_two_teams).delete()
    assert alice_client.get("/").context["team"] == acme
