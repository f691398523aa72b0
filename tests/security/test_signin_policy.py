"""Issue 17 item 5: who may sign in with GitHub is the operator's decision (SIGNIN_POLICY).

End to end against the GitHub stand-in over real HTTP, like tests/core/test_oauth.py: the test
client plays the browser at our side, `requests` at GitHub's. alice's install already exists.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from social_django.models import UserSocialAuth

from codexweb.accounts.invites import invite_create
from codexweb.accounts.models import Invite, Membership, Team
from codexweb.accounts.signin_policy import NOT_IN_ORGS, NOT_INVITED
from repos.github.models import GitHubCredential
from tests.support.github_fixtures import point_django_at
from tests.support.oauth_flow import land, sign_in, visit_github

pytestmark = pytest.mark.django_db


@pytest.fixture
def github(settings, github_double):
    point_django_at(settings, github_double, "github")
    return github_double


@pytest.fixture
def stranger(github):
    return github.state.add_user("octocat", sign_in=True)


def nothing_created_for_octocat() -> bool:
    return (not get_user_model().objects.filter(username="octocat").exists()
            and not Team.objects.filter(name__startswith="octocat").exists()
            and not UserSocialAuth.objects.exists()
            and not GitHubCredential.objects.exists())


def assert_refused(client, response, sentence: str) -> None:
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="signin-refused"' in html
    assert sentence.replace("'", "&#x27;") in html
    assert "_auth_user_id" not in client.session


class TestInviteOnly:
    """The default: a new person needs an invitation; people with an account sign in."""

    def test_it_is_the_default(self, settings):
        assert settings.SIGNIN_POLICY == "invite-only"

    def test_a_stranger_is_refused_with_a_page_and_nothing_is_created(
        self, client, alice, github, stranger
    ):
        response = sign_in(client, github, "github")

        assert_refused(client, response, NOT_INVITED.format(login="octocat"))
        assert nothing_created_for_octocat()

    def test_an_invitation_by_github_login_admits_into_the_inviting_team(
        self, client, alice, acme, github, stranger
    ):
        invite_create(team=acme, actor=alice, kind="github", invitee="@OctoCat")

        response = sign_in(client, github, "github")

        assert response.status_code == 302
        octocat = get_user_model().objects.get(username="octocat")
        assert int(client.session["_auth_user_id"]) == octocat.pk
        # The invitation is accepted at sign-in: no team (and budget) of their own.
        assert list(Membership.objects.filter(user=octocat).values_list("team__name", "role")) == [
            ("Acme", "member")]
        assert Invite.objects.get().accepted_by == octocat

    def test_an_invitation_to_a_verified_address_admits(self, client, alice, acme, github):
        github.state.add_user("octocat", sign_in=True)  # octocat@example.test, verified
        invite_create(team=acme, actor=alice, kind="email", invitee="octocat@example.test")
        assert sign_in(client, github, "github").status_code == 302
        assert Membership.objects.filter(user__username="octocat", team=acme).exists()

    def test_an_unverified_address_does_not_match_an_invitation(self, client, alice, acme,
                                                                github):
        github.state.add_user("octocat", sign_in=True, emails=[
            {"email": "ceo@example.test", "primary": True, "verified": False,
             "visibility": "private"}])
        invite_create(team=acme, actor=alice, kind="email", invitee="ceo@example.test")

        response = sign_in(client, github, "github")

        assert_refused(client, response, NOT_INVITED.format(login="octocat"))
        assert nothing_created_for_octocat()

    def test_the_invitation_link_admits_whoever_follows_it(self, client, alice, acme, github,
                                                           stranger):
        created = invite_create(team=acme, actor=alice, kind="link")
        link = f"/accounts/invite/{created.token}/"
        assert client.get(link)["Location"] == f"/accounts/login/?next={link}"

        begin = client.post("/oauth/login/github/", {"next": link})  # as the page's form does
        response = land(client, visit_github(begin["Location"]))

        assert response["Location"] == link
        landing = client.get(link)
        assert landing.status_code == 302 and landing["Location"] == "/"
        assert Membership.objects.filter(user__username="octocat", team=acme).exists()
        assert Membership.objects.filter(user__username="octocat").count() == 1

    @pytest.mark.parametrize("how", ["expired", "revoked", "used"])
    def test_a_closed_invitation_does_not_admit(self, client, alice, acme, github, stranger,
                                                how):
        created = invite_create(team=acme, actor=alice, kind="github", invitee="octocat")
        changes = {"expired": {"expires_at": timezone.now() - timedelta(minutes=1)},
                   "revoked": {"revoked_at": timezone.now()},
                   "used": {"accepted_at": timezone.now(), "accepted_by": alice}}[how]
        Invite.objects.filter(pk=created.invite.pk).update(**changes)

        assert_refused(client, sign_in(client, github, "github"),
                       NOT_INVITED.format(login="octocat"))
        assert nothing_created_for_octocat()

    def test_people_with_an_account_still_sign_in(self, client, alice, acme, github, stranger,
                                                  settings):
        settings.SIGNIN_POLICY = "open"
        sign_in(client, github, "github")
        client.logout()
        settings.SIGNIN_POLICY = "invite-only"

        response = sign_in(client, github, "github")

        assert response.status_code == 302
        assert client.session["_auth_user_id"]

    def test_the_first_account_of_an_empty_install_is_admitted(self, client, github, stranger):
        """Like the first-run setup page, which is open until an account exists."""
        assert not get_user_model().objects.exists()
        assert sign_in(client, github, "github").status_code == 302
        assert Membership.objects.get(user__username="octocat").role == "admin"

    def test_the_first_administrator_signs_in_locally_whatever_the_policy(self, client, alice):
        alice.set_password("a-long-password-1")
        alice.save()
        response = client.post("/accounts/login/", {"username": "alice",
                                                    "password": "a-long-password-1"})
        assert response.status_code == 302
        assert int(client.session["_auth_user_id"]) == alice.pk


class TestOrganizations:
    @pytest.fixture(autouse=True)
    def orgs_policy(self, settings):
        settings.SIGNIN_POLICY = "orgs"
        settings.SIGNIN_GITHUB_ALLOWED_ORGS = ["acme-corp", "acme-labs"]

    def test_a_member_of_an_allowed_organization_is_admitted(self, client, alice, github,
                                                             stranger):
        github.state.add_org("Acme-Labs", members={"octocat": "read"})

        response = sign_in(client, github, "github")

        assert response.status_code == 302
        assert get_user_model().objects.filter(username="octocat").exists()
        # Asked of GitHub with octocat's own token.
        (issued,) = github.state.tokens
        asks = [r for r in github.state.requests if r.path == "/user/orgs"]
        assert asks and all(r.headers["Authorization"].endswith(issued) for r in asks)

    def test_others_are_refused_and_nothing_is_created(self, client, alice, github, stranger):
        github.state.add_org("acme-corp", members={"someone-else": "admin"})
        github.state.add_org("octo-friends", members={"octocat": "admin"})

        response = sign_in(client, github, "github")

        assert_refused(client, response,
                       NOT_IN_ORGS.format(login="octocat", orgs="acme-corp, acme-labs"))
        assert nothing_created_for_octocat()

    def test_a_person_who_left_the_organization_is_refused_next_time(self, client, alice, github,
                                                                     stranger):
        org = github.state.add_org("acme-corp", members={"octocat": "read"})
        sign_in(client, github, "github")
        client.logout()
        del org.members["octocat"]

        response = sign_in(client, github, "github")

        assert response.status_code == 403
        assert "_auth_user_id" not in client.session

    def test_an_invitation_does_not_bypass_the_organizations(self, client, alice, acme, github,
                                                            stranger):
        invite_create(team=acme, actor=alice, kind="github", invitee="octocat")
        assert sign_in(client, github, "github").status_code == 403
        assert nothing_created_for_octocat()

    def test_github_unable_to_answer_stops_the_sign_in(self, client, alice, github, stranger):
        github.state.rate_limit.remaining = 2  # enough for /user and /user/emails, not orgs
        response = sign_in(client, github, "github")
        assert response.status_code == 403
        assert "could not tell us which organizations octocat belongs to" in (
            response.content.decode())
        assert nothing_created_for_octocat()


def test_open_admits_anyone(client, alice, github, stranger, settings):
    settings.SIGNIN_POLICY = "open"
    assert sign_in(client, github, "github").status_code == 302
    assert Membership.objects.get(user__username="octocat").team.name == "octocat's team"


def test_someone_removed_from_every_team_gets_no_new_team_under_invite_only(
    client, alice, acme, github, stranger, settings
):
    """Otherwise removal would be undone by signing in again: a team, budget and containers."""
    settings.SIGNIN_POLICY = "open"
    sign_in(client, github, "github")
    client.logout()
    Membership.objects.filter(user__username="octocat").delete()
    settings.SIGNIN_POLICY = "invite-only"

    response = sign_in(client, github, "github")

    assert response.status_code == 302  # they may sign in (and accept a new invitation)
    assert not Membership.objects.filter(user__username="octocat").exists()
    assert client.get("/accounts/team/").status_code == 200
    assert client.get("/").status_code == 200
