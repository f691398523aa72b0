"""POST /api/v1/attempts/{id}/egress-approvals and GET /api/v1/attempts/{id}/egress (issue 14
item 3): approve a refused host for a running attempt, read its egress record. Every response
is checked against the OpenAPI doc."""

from __future__ import annotations

from codexweb.audit.models import AuditEntry
from repos.environments.services import environment_for
from tasks import event_kinds as kinds
from tasks import services
from tasks.approvals.models import EgressApproval
from tasks.approvals.services import egress_approvals_take
from tasks.models import Status
from tests.support.egress_approvals import BLOCKED, refused_attempt


def test_a_teammate_allows_a_refused_host_once(bob_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice)

    response = bob_api.post(f"/attempts/{attempt.pk}/egress-approvals", {"host": BLOCKED})

    assert response.status_code == 201
    body = response.json()
    assert (body["attempt"], body["host"], body["scope"], body["by"], body["applied_at"]) == (
        attempt.pk, BLOCKED, "attempt", "bob", None)
    event = attempt.events.get(kind=kinds.EGRESS_APPROVAL)
    assert event.payload == {"host": BLOCKED, "scope": "attempt", "by": "bob"}
    entry = AuditEntry.objects.get(action="egress.approved")
    assert entry.actor_name == "bob" and BLOCKED in entry.target
    assert environment_for(acme_repo).allowed_domains == ["pypi.org"]  # the repository is untouched
    taken = egress_approvals_take(attempt_id=attempt.pk)
    assert [(t.host, t.scope, t.by) for t in taken] == [(BLOCKED, "attempt", "bob")]
    assert egress_approvals_take(attempt_id=attempt.pk) == []  # applied once


def test_an_admin_adds_it_to_the_repositorys_allowlist(alice_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice)

    response = alice_api.post(f"/attempts/{attempt.pk}/egress-approvals",
                              {"host": BLOCKED.upper(), "scope": "repository"})

    assert response.status_code == 201
    assert response.json()["scope"] == "repository"
    assert environment_for(acme_repo).allowed_domains == ["pypi.org", BLOCKED]
    policy = AuditEntry.objects.get(action="policy.updated")
    assert policy.changes["allowed_domains"] == [["pypi.org"], ["pypi.org", BLOCKED]]
    assert f"task #{attempt.task_id} attempt 1" in policy.changes["reason"]
    assert AuditEntry.objects.filter(action="egress.approved").count() == 1


def test_only_a_refused_host_can_be_approved(alice_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice)
    response = alice_api.post(f"/attempts/{attempt.pk}/egress-approvals",
                              {"host": "evil.example.net"})
    assert response.status_code == 400
    assert "was not refused evil.example.net" in response.json()["error"]
    assert not EgressApproval.objects.exists()


def test_with_internet_off_it_says_approval_is_not_possible(alice_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice, policy="off")
    response = alice_api.post(f"/attempts/{attempt.pk}/egress-approvals", {"host": BLOCKED})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "not_possible"
    assert "Internet access is off for this attempt" in body["error"]
    assert not EgressApproval.objects.exists()


def test_a_finished_attempt_answers_409(alice_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice)
    services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED)
    response = alice_api.post(f"/attempts/{attempt.pk}/egress-approvals", {"host": BLOCKED})
    assert response.status_code == 409
    assert "already finished" in response.json()["error"]


def test_unknown_fields_and_scopes_are_refused(alice_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice)
    path = f"/attempts/{attempt.pk}/egress-approvals"
    assert alice_api.post(path, {"host": BLOCKED, "scope": "everything"}).status_code == 400
    assert alice_api.post(path, {"host": BLOCKED, "methods": ["POST"]}).status_code == 400
    assert alice_api.post(path, {}).status_code == 400
    assert not EgressApproval.objects.exists()


def test_the_egress_record_lists_requests_and_approvals(alice_api, bob_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice)
    bob_api.post(f"/attempts/{attempt.pk}/egress-approvals", {"host": BLOCKED})

    body = alice_api.get(f"/attempts/{attempt.pk}/egress").json()

    assert [(r["method"], r["url"], r["allowed"], r["approvable"]) for r in body["requests"]] == [
        ("GET", f"https://{BLOCKED}/left-pad", False, True)]
    assert [(a["host"], a["by"]) for a in body["approvals"]] == [(BLOCKED, "bob")]


def test_another_teams_attempt_is_404(carol_api, acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice)
    assert carol_api.post(f"/attempts/{attempt.pk}/egress-approvals",
                          {"host": BLOCKED}).status_code == 404
    assert carol_api.get(f"/attempts/{attempt.pk}/egress").status_code == 404
    assert not EgressApproval.objects.exists()
