"""Who may lift an egress refusal (issue 14 item 3). Opening the internet for an attempt is a
change to the sandbox's boundary, so: someone outside the team cannot approve anything (the
attempt is not found, nothing is stored), and a member who is not a team admin may allow a host
once for the attempt but cannot add it to the repository's allowlist — through the page or the
API. Each test performs the request the attacker would send."""

from __future__ import annotations

from django.test import Client

from codexweb.api.tokens import api_token_create
from codexweb.audit.models import AuditEntry
from repos.environments.services import environment_for
from tasks import event_kinds as kinds
from tasks.approvals.models import EgressApproval
from tests.support.egress_approvals import BLOCKED, refused_attempt


def page_post(user, attempt, scope: str = "attempt"):
    client = Client()
    client.force_login(user)
    return client.post(f"/attempts/{attempt.pk}/egress/approvals/",
                       {"host": BLOCKED, "scope": scope})


def api_post(user, attempt, scope: str = "attempt"):
    token = api_token_create(user=user, name="t").secret
    return Client().post(f"/api/v1/attempts/{attempt.pk}/egress-approvals",
                         {"host": BLOCKED, "scope": scope}, content_type="application/json",
                         headers={"Authorization": f"Bearer {token}"})


def nothing_changed(attempt, repository) -> None:
    assert not EgressApproval.objects.exists()
    assert not attempt.events.filter(kind=kinds.EGRESS_APPROVAL).exists()
    assert not AuditEntry.objects.filter(action__in=["egress.approved", "policy.updated"]).exists()
    assert environment_for(repository).allowed_domains == ["pypi.org"]


def test_someone_outside_the_team_cannot_approve(acme_repo, alice, carol, globex):
    attempt = refused_attempt(acme_repo, alice)
    for scope in ("attempt", "repository"):
        assert page_post(carol, attempt, scope).status_code == 404
        assert api_post(carol, attempt, scope).status_code == 404
    nothing_changed(attempt, acme_repo)


def test_a_member_who_is_not_admin_cannot_add_to_the_allowlist(acme_repo, alice, bob):
    attempt = refused_attempt(acme_repo, alice)

    page = page_post(bob, attempt, "repository")
    api = api_post(bob, attempt, "repository")

    assert page.status_code == 403 and api.status_code == 403
    assert "Only a team admin" in page.json()["error"]
    assert "Only a team admin" in api.json()["error"]
    nothing_changed(attempt, acme_repo)
    # Allowing it once for this attempt is theirs to do; the repository stays as it was.
    assert page_post(bob, attempt, "attempt").status_code == 201
    assert environment_for(acme_repo).allowed_domains == ["pypi.org"]


def test_the_page_offers_the_allowlist_button_to_admins_only(acme_repo, alice, bob):
    attempt = refused_attempt(acme_repo, alice)
    for user, admin in ((alice, "true"), (bob, "false")):
        client = Client()
        client.force_login(user)
        html = client.get(f"/tasks/{attempt.task_id}/").content.decode()
        assert f'data-egress-admin="{admin}"' in html
