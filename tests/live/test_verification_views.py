"""The ranking fragment and "Combine the picked hunks" on the task page
(tasks/verification/views.py): another team's person gets 404; a refused pick says why and
changes nothing; a good one makes the combined attempt and sends the person to it."""

from __future__ import annotations

from tasks.verification.models import Verification
from tasks.verification.services import combined_patch_create, verification_claim
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


def test_stop_ends_a_queued_verification_and_marks_a_running_one(client, acme_repo, alice, carol,
                                                                 empty_queue):
    task, first, second = best_of_two(acme_repo, alice)
    queued = combined_patch_create(task=task, by=alice, hunk_ids=[f"{first.pk}:0:0"])
    running = combined_patch_create(task=task, by=alice, hunk_ids=[f"{second.pk}:1:0"])
    verification_claim(verification_id=running.pk)
    stop = f"/tasks/{task.pk}/verifications/{{}}/stop/"
    client.force_login(carol)
    assert client.post(stop.format(queued.pk)).status_code == 404  # another team's
    client.force_login(alice)
    alice_client = client
    fragment = alice_client.get(f"/tasks/{task.pk}/ranking/").content.decode()
    # Each pending one offers Stop, behind a confirmation.
    assert fragment.count("data-verification-stop") == 2
    assert "Stop verifying attempt 3's patch? It will be ranked as not verified." in fragment
    assert alice_client.get(stop.format(queued.pk)).status_code == 405

    response = alice_client.post(stop.format(queued.pk), follow=True)

    assert response.redirect_chain[-1][0] == f"/tasks/{task.pk}/#ranking"
    assert "Stopped the verification of attempt 3." in response.content.decode()
    assert Verification.objects.get(pk=queued.pk).verdict == "unverified"

    response = alice_client.post(stop.format(running.pk), follow=True)

    assert "Stopping the verification of attempt 4…" in response.content.decode()
    fragment = alice_client.get(f"/tasks/{task.pk}/ranking/").content.decode()
    assert "data-verification-stopping>Stopping…" in fragment
    assert "data-verification-stop>" not in fragment  # nothing left to stop
    assert "Stopped by alice before any check finished" in fragment
    again = alice_client.post(stop.format(queued.pk), follow=True).content.decode()
    assert "The verification of attempt 3 has already ended." in again


def test_with_no_patch_anywhere_there_is_nothing_to_combine(alice_client, acme_repo, alice):
    """Every attempt failed without a patch (the worker died under them, say): the page does not
    offer "Combine the picked hunks" over nothing, and says why; the ranking fragment, which the
    page swaps in live, says it too."""
    from tasks import services
    from tasks.models import Status
    from tasks.verification.services import verifications_start
    from tests.support import factories

    task = factories.make_task(acme_repo, alice, mode="code", attempts=2)
    for attempt in task.attempts.all():
        services.attempt_finish(attempt_id=attempt.pk, status=Status.FAILED, error="lost")
    verifications_start(task_id=task.pk)

    page = alice_client.get(f"/tasks/{task.pk}/").content.decode()
    assert "data-combine hidden" in page
    assert "No attempt left a patch" in page
    fragment = alice_client.get(f"/tasks/{task.pk}/ranking/").content.decode()
    assert "data-nothing-to-combine" in fragment and 'data-ranking-state="done"' in fragment
    # Each row says its place once, without a size for a patch that is not there.
    assert ">#2 of 2</span>" in fragment
    assert ">Like attempt 1; a later attempt.</p>" in fragment
    assert "#2 of 2:" not in fragment
    assert "changed line" not in fragment

    with_patches, _first, _second = best_of_two(acme_repo, alice)
    page = alice_client.get(f"/tasks/{with_patches.pk}/").content.decode()
    assert "data-combine>" in page and "No attempt left a patch" not in page
