"""The team's named domain lists: defined on a team page by admins, read by members."""

from __future__ import annotations

from django.urls import reverse

from codexweb.accounts.models import DomainList
from codexweb.audit.models import AuditEntry


def test_a_new_team_has_no_lists(alice_client, acme):
    assert not DomainList.objects.filter(team=acme).exists()
    assert (
        "No domain lists yet" in alice_client.get(reverse("accounts:domain_lists")).content.decode()
    )


def test_admin_creates_and_edits_a_list(alice_client, acme):
    response = alice_client.post(
        reverse("accounts:domain_lists"),
        {"name": "Python", "domains": "pypi.org\n*.pythonhosted.org"},
    )
    assert response.status_code == 302
    dl = DomainList.objects.get(team=acme, name="Python")
    assert dl.domains == ["pypi.org", "*.pythonhosted.org"]
    alice_client.post(
        reverse("accounts:domain_list_edit", args=[dl.pk]),
        {"name": "Python", "domains": "pypi.org"},
    )
    dl.refresh_from_db()
    assert dl.domains == ["pypi.org"]
    actions = list(AuditEntry.objects.filter(team=acme).values_list("action", flat=True))
    assert "domain_list.created" in actions and "domain_list.updated" in actions


def test_invalid_domains_are_explained(alice_client, acme):
    response = alice_client.post(
        reverse("accounts:domain_lists"), {"name": "Bad", "domains": "http://x.com"}
    )
    assert response.status_code == 400
    assert "without scheme" in response.content.decode()
    assert not DomainList.objects.exists()


def test_member_reads_but_cannot_change(bob_client, acme):
    dl = DomainList.objects.create(team=acme, name="Node", domains=["registry.npmjs.org"])
    page = bob_client.get(reverse("accounts:domain_lists")).content.decode()
    assert "registry.npmjs.org" in page and "New list" not in page
    assert (
        bob_client.post(
            reverse("accounts:domain_lists"), {"name": "x", "domains": "a.com"}
        ).status_code
        == 404
    )
    assert (
        bob_client.post(
            reverse("accounts:domain_list_edit", args=[dl.pk]), {"name": "x"}
        ).status_code
        == 404
    )
    assert bob_client.post(reverse("accounts:domain_list_delete", args=[dl.pk])).status_code == 404
    assert DomainList.objects.filter(pk=dl.pk, name="Node").exists()


def test_other_team_cannot_see_or_touch(carol_client, acme, globex):
    dl = DomainList.objects.create(team=acme, name="Node", domains=["registry.npmjs.org"])
    assert (
        "registry.npmjs.org"
        not in carol_client.get(reverse("accounts:domain_lists")).content.decode()
    )
    assert carol_client.get(reverse("accounts:domain_list_edit", args=[dl.pk])).status_code == 404
    assert (
        carol_client.post(reverse("accounts:domain_list_delete", args=[dl.pk])).status_code == 404
    )


def test_delete_asks_first(alice_client, acme):
    dl = DomainList.objects.create(team=acme, name="Node", domains=[])
    assert (
        "Delete the domain list Node?"
        in alice_client.get(reverse("accounts:domain_list_delete", args=[dl.pk])).content.decode()
    )
    assert DomainList.objects.filter(pk=dl.pk).exists()
    alice_client.post(reverse("accounts:domain_list_delete", args=[dl.pk]))
    assert not DomainList.objects.filter(pk=dl.pk).exists()
