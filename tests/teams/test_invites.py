"""Invitations: by link, GitHub login or e-mail; expiry, single use, withdrawal, who may accept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from social_django.models import UserSocialAuth

from codexweb.accounts.invites import InviteError, invite_accept, invite_create, token_hash
from codexweb.accounts.models import Invite, Membership
from codexweb.audit.models import AuditEntry
from tests.support import factories


def _link_from(response) -> str:
    match = re.search(r'value="(http[^"]+/accounts/invite/[^"]+/)"', response.content.decode())
    assert match, "the page shows the invitation link"
    return match.group(1).split("testserver", 1)[1]


def test_admin_creates_link_invite_shown_once_and_stored_hashed(alice_client, acme):
    response = alice_client.post(
        reverse("accounts:invite_new"), {"kind": "link", "invitee": "", "role": "member"}
    )
    assert response.status_code == 200
    path = _link_from(response)
    token = path.rstrip("/").rsplit("/", 1)[1]
    invite = Invite.objects.get(team=acme)
    assert invite.token_hash == token_hash(token)
    assert token not in str(Invite.objects.filter(pk=invite.pk).values().get())
    # The team page lists the invitation but never the link again.
    assert token not in alice_client.get(reverse("accounts:team")).content.decode()
    entry = AuditEntry.objects.get(team=acme, action="member.invited")
    assert token not in str(entry.changes)


def test_link_invite_is_accepted_once(client, acme, alice):
    created = invite_create(team=acme, actor=alice, kind="link")
    dave, erin = factories.make_user("dave"), factories.make_user("erin")
    client.force_login(dave)
    url = reverse("accounts:invite_accept", args=[created.token])
    assert "Join Acme" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    assert Membership.objects.get(team=acme, user=dave).role == "member"
    client.force_login(erin)
    page = client.get(url).content.decode()
    assert "already been used" in page
    client.post(url)
    assert not Membership.objects.filter(team=acme, user=erin).exists()


def test_expired_invite_cannot_be_used(client, acme, alice):
    created = invite_create(team=acme, actor=alice, kind="link")
    Invite.objects.filter(pk=created.invite.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    dave = factories.make_user("dave")
    client.force_login(dave)
    url = reverse("accounts:invite_accept", args=[created.token])
    assert "expired" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    assert "expired" in response.content.decode()
    assert not Membership.objects.filter(team=acme, user=dave).exists()


def test_invite_expires_after_the_configured_lifetime(acme, alice, settings):
    settings.INVITE_EXPIRY_HOURS = 5
    created = invite_create(team=acme, actor=alice, kind="link")
    lifetime = created.invite.expires_at - created.invite.created_at
    assert timedelta(hours=4, minutes=59) < lifetime <= timedelta(hours=5, seconds=1)


def test_withdrawn_invite_cannot_be_used(alice_client, acme, alice):
    created = invite_create(team=acme, actor=alice, kind="link")
    alice_client.post(reverse("accounts:invite_withdraw", args=[created.invite.pk]))
    with pytest.raises(InviteError, match="withdrawn"):
        invite_accept(invite=created.invite, user=factories.make_user("dave"))
    assert AuditEntry.objects.filter(team=acme, action="invite.revoked").exists()


def test_unknown_token_is_404(alice_client):
    assert alice_client.get(reverse("accounts:invite_accept", args=["nope"])).status_code == 404


def test_anonymous_invite_link_goes_to_sign_in_first(client, acme, alice):
    created = invite_create(team=acme, actor=alice, kind="link")
    response = client.get(reverse("accounts:invite_accept", args=[created.token]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_email_invite_only_for_that_address(client, acme, alice):
    created = invite_create(team=acme, actor=alice, kind="email", invitee="Dave@Example.test")
    mallory = factories.make_user("mallory")
    with pytest.raises(InviteError, match="not for you"):
        invite_accept(invite=created.invite, user=mallory)
    dave = factories.make_user("dave")  # dave@example.test
    invite_accept(invite=created.invite, user=dave)
    assert Membership.objects.filter(team=acme, user=dave).exists()


def test_github_invite_shows_on_the_invitees_team_page(client, acme, alice):
    invite_create(team=acme, actor=alice, kind="github", invitee="@Octo-Cat", role="admin")
    octo = factories.make_user("octo1")
    UserSocialAuth.objects.create(
        user=octo, provider="github", uid="42", extra_data={"login": "octo-cat"}
    )
    client.force_login(octo)
    page = client.get(reverse("accounts:team")).content.decode()
    assert "Acme invites you as admin" in page
    invite = Invite.objects.get(team=acme)
    client.post(reverse("accounts:invite_accept_mine", args=[invite.pk]))
    assert Membership.objects.get(team=acme, user=octo).role == "admin"
    assert AuditEntry.objects.filter(team=acme, action="member.joined", target="octo1").exists()


def test_github_invite_cannot_be_taken_by_someone_else(client, acme, alice):
    created = invite_create(team=acme, actor=alice, kind="github", invitee="octo-cat")
    mallory = factories.make_user("mallory")
    client.force_login(mallory)
    assert (
        client.post(reverse("accounts:invite_accept_mine", args=[created.invite.pk])).status_code
        == 404
    )
    client.post(reverse("accounts:invite_accept", args=[created.token]))
    assert not Membership.objects.filter(team=acme, user=mallory).exists()


@pytest.mark.parametrize(
    "kind,invitee,message",
    [
        ("email", "not-an-address", "not an e-mail address"),
        ("github", "bad login!", "not a GitHub login"),
        ("github", "bob", "already a member"),
    ],
)
def test_bad_invitations_are_refused(acme, alice, kind, invitee, message):
    with pytest.raises(InviteError, match=message):
        invite_create(team=acme, actor=alice, kind=kind, invitee=invitee)


def test_members_cannot_invite(bob_client, acme):
    response = bob_client.post(reverse("accounts:invite_new"), {"kind": "link", "role": "admin"})
    assert response.status_code == 404
    assert not Invite.objects.exists()


def test_another_teams_admin_invites_only_into_their_own_team(carol_client, acme, globex):
    carol_client.post(reverse("accounts:invite_new"), {"kind": "link", "role": "admin"})
    assert not Invite.objects.filter(team=acme).exists()
    assert Invite.objects.filter(team=globex).count() == 1


def test_other_team_admin_cannot_withdraw(carol_client, acme, globex, alice):
    created = invite_create(team=acme, actor=alice, kind="link")
    assert (
        carol_client.post(reverse("accounts:invite_withdraw", args=[created.invite.pk])).status_code
        == 404
    )
