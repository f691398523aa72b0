"""Team members page: who sees what, roles, removal, and the last-admin rule."""

from __future__ import annotations

import pytest
from django.urls import reverse

from codexweb.accounts.models import Membership
from codexweb.accounts.team_services import TeamError, membership_remove, membership_role_change
from codexweb.audit.models import AuditEntry
from tests.support import factories


def _membership(team, user) -> Membership:
    return Membership.objects.get(team=team, user=user)


def test_anonymous_is_sent_to_sign_in(client, acme):
    response = client.get(reverse("accounts:team"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_member_sees_members_without_admin_controls(bob_client, acme):
    response = bob_client.get(reverse("accounts:team"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "alice" in body and "bob" in body
    assert "Invite someone" not in body
    assert 'name="role"' not in body


def test_admin_sees_invite_form_and_role_controls(alice_client, acme):
    body = alice_client.get(reverse("accounts:team")).content.decode()
    assert "Invite someone" in body
    assert 'name="role"' in body


def test_other_team_sees_only_its_own_members(carol_client, acme, globex):
    body = carol_client.get(reverse("accounts:team")).content.decode()
    assert "carol" in body
    assert "bob" not in body


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_non_admins_cannot_change_roles(client, acme, globex, alice, bob, carol, who):
    client.force_login({"bob": bob, "carol": carol}[who])
    target = _membership(acme, alice)
    response = client.post(reverse("accounts:member_role", args=[target.pk]), {"role": "member"})
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.role == "admin"


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_non_admins_cannot_remove_others(client, acme, globex, alice, bob, carol, who):
    client.force_login({"bob": bob, "carol": carol}[who])
    target = _membership(acme, alice)
    assert client.get(reverse("accounts:member_remove", args=[target.pk])).status_code == 404
    assert client.post(reverse("accounts:member_remove", args=[target.pk])).status_code == 404
    assert Membership.objects.filter(pk=target.pk).exists()


def test_admin_promotes_and_demotes(alice_client, acme, bob):
    membership = _membership(acme, bob)
    response = alice_client.post(
        reverse("accounts:member_role", args=[membership.pk]), {"role": "admin"}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "admin"
    entry = AuditEntry.objects.get(team=acme, action="member.role_changed")
    assert entry.target == "bob" and entry.changes == {"role": ["member", "admin"]}
    assert entry.actor_name == "alice"


def test_remove_asks_for_confirmation_first(alice_client, acme, bob):
    membership = _membership(acme, bob)
    page = alice_client.get(reverse("accounts:member_remove", args=[membership.pk]))
    assert page.status_code == 200
    assert "Remove bob from Acme?" in page.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    done = alice_client.post(reverse("accounts:member_remove", args=[membership.pk]))
    assert done.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEntry.objects.filter(team=acme, action="member.removed", target="bob").exists()


def test_removed_member_loses_access(client, acme, acme_repo, bob, alice):
    task = factories.make_task(acme_repo, alice)
    client.force_login(bob)
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 200
    membership_remove(membership=_membership(acme, bob), actor=alice)
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 404


def test_member_may_leave(bob_client, acme, bob):
    membership = _membership(acme, bob)
    response = bob_client.post(reverse("accounts:member_remove", args=[membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_last_admin_cannot_be_demoted(acme, alice):
    with pytest.raises(TeamError, match="last admin"):
        membership_role_change(membership=_membership(acme, alice), role="member", actor=alice)
    assert _membership(acme, alice).role == "admin"


def test_last_admin_cannot_be_removed_even_by_themselves(alice_client, acme, alice):
    membership = _membership(acme, alice)
    response = alice_client.post(
        reverse("accounts:member_remove", args=[membership.pk]), follow=True
    )
    assert "last admin" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    with pytest.raises(TeamError):
        membership_remove(membership=membership, actor=alice)


def test_last_admin_cannot_be_demoted_through_the_page(alice_client, acme, alice):
    membership = _membership(acme, alice)
    response = alice_client.post(
        reverse("accounts:member_role", args=[membership.pk]), {"role": "member"}, follow=True
    )
    assert "last admin" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "admin"


def test_an_admin_can_step_down_when_another_admin_exists(acme, alice, bob):
    membership_role_change(membership=_membership(acme, bob), role="admin", actor=alice)
    membership_role_change(membership=_membership(acme, alice), role="member", actor=alice)
    assert _membership(acme, alice).role == "member"
    with pytest.raises(TeamError):
        membership_remove(membership=_membership(acme, bob), actor=bob)


def test_role_change_of_another_teams_membership_is_404(alice_client, acme, globex, carol):
    foreign = _membership(globex, carol)
    response = alice_client.post(
        reverse("accounts:member_role", args=[foreign.pk]), {"role": "member"}
    )
    assert response.status_code == 404
