"""The ranking fragment and "Combine the picked hunks" on the task page
(tasks/verification/views.py): another team's person gets 404; a refused pick says why and
changes nothing; a good one makes the combined attempt and sends the person to it."""

from __future__ import annotations

from tasks.verification.models import Verification
from tests.support.best_of_n import best_of_two


def test_another_teams_person_gets_404(carol_client, acme_repo, alice):
    task, first, _second = best_of_two(acme_repo, alice)
    assert carol_client.get(f"/tasks/{task.pk}/ranking/").status_code == 404
    response = carol_client.post(f"/tasks/{task.pk}/combine/", {"hunk": [f"{first.pk}:0:0"]})
    assert response.status_code == 404
    assert task.attempts.count() == 2


def test_overlapping_hunks_are_refused_with_the_reason(alice_client, acme_repo, alice):
    task, first, second = best_of_two(acme_repo, alice)

    response = alice_client.post(f"/tasks/{task.pk}/combine/",
                                 {"hunk": [f"{first.pk}:0:0", f"{second.pk}:0:0"]}, follow=True)

    assert response.redirect_chain[-1][0] == f"/tasks/{task.pk}/#ranking"
    assert "overlap: they change the same lines" in response.content.decode()
    assert task.attempts.count() == 2


def test_a_good_pick_makes_a_combined_attempt_being_verified(alice_client, acme_repo, alice):
    task, first, second = best_of_two(acme_repo, alice)

    response = alice_client.post(f"/tasks/{task.pk}/combine/",
                                 {"hunk": [f"{first.pk}:0:0", f"{second.pk}:1:0"]})

    assert response["Location"] == f"/tasks/{task.pk}/#attempt-3"
    combined = Verification.objects.get(task=task, attempt__index=3)
    assert (combined.status, combined.hunks) == ("queued", [f"{first.pk}:0:0", f"{second.pk}:1:0"])
    fragment = alice_client.get(f"/tasks/{task.pk}/ranking/").content.decode()
    assert 'data-ranking-state="running"' in fragment and "Waiting to verify…" in fragment
    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    # Its tab and its header say what it is, and which attempts its hunks came from.
    assert page.count("data-attempt-kind>Combined from attempts 1, 2<") == 2
