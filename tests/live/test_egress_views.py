"""The task page's side of egress approval and the egress record (issue 14 item 3): the button
posts here and gets a sentence back; a finished attempt shows its Network section (requests,
refusals, who approved what) linking to the full record page, which the pull request links."""

from __future__ import annotations

from django.test import Client

from tasks import services
from tasks.approvals.services import egress_approve
from tasks.models import Status
from tasks.pull_requests.egress_section import egress_section
from tests.support.egress_approvals import BLOCKED, refused_attempt


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_allow_once_from_the_page_answers_with_a_sentence(acme_repo, alice, bob):
    attempt = refused_attempt(acme_repo, alice)
    response = signed_in(bob).post(f"/attempts/{attempt.pk}/egress/approvals/",
                                   {"host": BLOCKED, "scope": "attempt"})
    assert response.status_code == 201
    assert response.json() == {
        "message": f"{BLOCKED} allowed: the agent is told after its next command."}


def test_off_says_approval_is_not_possible(acme_repo, alice):
    attempt = refused_attempt(acme_repo, alice, policy="off")
    response = signed_in(alice).post(f"/attempts/{attempt.pk}/egress/approvals/",
                                     {"host": BLOCKED})
    assert response.status_code == 409
    assert "no network and no proxy" in response.json()["error"]


def test_the_result_and_the_record_page_show_every_request_and_who_approved(
    acme_repo, alice, bob
):
    attempt = refused_attempt(acme_repo, alice)
    egress_approve(attempt=attempt, by=bob, host=BLOCKED)
    services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED)
    client = signed_in(alice)

    result = client.get(f"/attempts/{attempt.pk}/result/").content.decode()
    assert "1 request through the egress proxy, 1 refused." in result
    assert f'href="/attempts/{attempt.pk}/egress/"' in result
    assert f"<strong>{BLOCKED}</strong> allowed once for this attempt by bob" in result

    page = client.get(f"/attempts/{attempt.pk}/egress/").content.decode()
    assert f"<code>GET https://{BLOCKED}/left-pad</code>" in page
    assert "not on this repository&#x27;s allowlist" in page

    body = egress_section(attempt)
    assert body.startswith("## Network\n\n1 request through the egress proxy, 1 refused.")
    assert f"/attempts/{attempt.pk}/egress/)" in body
    assert f"- `{BLOCKED}` allowed once for this attempt by bob" in body


def test_another_team_gets_404(acme_repo, alice, carol, globex):
    attempt = refused_attempt(acme_repo, alice)
    client = signed_in(carol)
    assert client.get(f"/attempts/{attempt.pk}/egress/").status_code == 404
    assert client.post(f"/attempts/{attempt.pk}/egress/approvals/",
                       {"host": BLOCKED}).status_code == 404
