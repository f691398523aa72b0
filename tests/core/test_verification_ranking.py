"""The order of re-verified attempts and the sentence that says why
(tasks/verification/ranking.py)."""

from __future__ import annotations

from tasks.verification.models import Verification
from tasks.verification.ranking import Candidate, rank, rank_reason

LABELS = dict(Verification.Verdict.choices)
SIX = [
    Candidate(1, 1, "checks_failed", 2),
    Candidate(2, 2, "passed", 40),
    Candidate(3, 3, "no_patch", 0),
    Candidate(4, 4, "passed", 4),
    Candidate(5, 5, "not_applied", 1),
    Candidate(6, 6, "passed", 4),
]


def test_verdict_first_then_the_smaller_patch_then_the_earlier_attempt():
    assert [c.index for c in rank(SIX)] == [4, 6, 2, 1, 5, 3]


def reasons(candidates: list[Candidate]) -> list[str]:
    ordered = rank(candidates)
    return [rank_reason(ordered, position, LABELS) for position in range(1, len(ordered) + 1)]


def test_each_reason_names_what_decided_against_its_neighbour():
    assert reasons([*SIX, Candidate(7, 7, "no_patch", 0)]) == [
        "#1 of 7: all checks pass; the same size as attempt 6's patch (4 changed lines), "
        "and an earlier attempt.",
        "#2 of 7: all checks pass; the same size as attempt 4's patch (4 changed lines), "
        "and a later attempt.",
        "#3 of 7: all checks pass, with a larger patch than attempt 6's (40 against 4 changed "
        "lines).",
        "#4 of 7: some checks fail, behind attempt 2 (all checks pass).",
        "#5 of 7: the patch does not apply, behind attempt 1 (some checks fail).",
        "#6 of 7: no patch, behind attempt 5 (the patch does not apply).",
        "#7 of 7: no patch, like attempt 3; a later attempt.",
    ]


def test_the_first_is_set_against_the_second():
    assert reasons([Candidate(1, 1, "passed", 9), Candidate(2, 2, "checks_failed", 1)])[0] == (
        "#1 of 2: all checks pass, ahead of attempt 2 (some checks fail)."
    )
    assert reasons([Candidate(1, 1, "passed", 9), Candidate(2, 2, "passed", 3)])[0] == (
        "#1 of 2: all checks pass, with a smaller patch than attempt 1's (3 against 9 changed "
        "lines)."
    )
    assert reasons([Candidate(1, 1, "no_patch", 0), Candidate(2, 2, "no_patch", 0)])[0] == (
        "#1 of 2: no patch, like attempt 2; an earlier attempt."
    )


def test_the_same_patch_is_named_as_such():
    twins = [Candidate(1, 1, "passed", 2, patch_id="abc"), Candidate(2, 2, "passed", 2, "abc")]
    assert reasons(twins) == [
        "#1 of 2: all checks pass; the same patch as attempt 2's, and an earlier attempt.",
        "#2 of 2: all checks pass; the same patch as attempt 1's, and a later attempt.",
    ]


def test_a_lone_attempt_says_its_verdict_and_size():
    assert reasons([Candidate(1, 1, "passed", 1)]) == ["#1 of 1: all checks pass; 1 changed line."]
    assert reasons([Candidate(1, 1, "no_patch", 0)]) == ["#1 of 1: no patch."]


def test_a_row_says_its_place_and_verdict_once_and_what_set_it_apart():
    """The row's head shows "#4 of 6" and the verdict's badge; the sentence under it says the
    rest. The API's `rank_reason` stays the whole sentence."""
    ordered = rank(SIX)
    rows = [
        Verification(rank=position, verdict=c.verdict, rank_reason=reason)
        for position, (c, reason) in enumerate(zip(ordered, reasons(SIX), strict=True), 1)
    ]
    assert [(r.rank_place, r.rank_why) for r in rows] == [
        ("#1 of 6", "The same size as attempt 6's patch (4 changed lines), and an earlier "
                    "attempt."),
        ("#2 of 6", "The same size as attempt 4's patch (4 changed lines), and a later attempt."),
        ("#3 of 6", "With a larger patch than attempt 6's (40 against 4 changed lines)."),
        ("#4 of 6", "Behind attempt 2 (all checks pass)."),
        ("#5 of 6", "Behind attempt 1 (some checks fail)."),
        ("#6 of 6", "Behind attempt 5 (the patch does not apply)."),
    ]


def test_a_lone_row_or_one_not_ranked_yet_has_nothing_more_to_say():
    lone = Verification(rank=1, verdict="passed", rank_reason=reasons([SIX[1]])[0])
    assert (lone.rank_place, lone.rank_why) == ("#1 of 1", "")
    assert (Verification(rank=None).rank_place, Verification(rank=None).rank_why) == ("", "")
    worded_otherwise = Verification(rank=1, rank_reason="Ranked first: it passed.")
    assert (worded_otherwise.rank_place, worded_otherwise.rank_why) == (
        "#1", "Ranked first: it passed.")


def test_stored_reasons_name_attempts_that_made_the_same_change(acme_repo, alice):
    """Two attempts of a best-of-2 left the same patch and both pass: each row says so, rather
    than only that their sizes tie."""
    from tasks import services
    from tasks.models import Status
    from tasks.verification import services as verification
    from tests.support import factories
    from tests.support.best_of_n import ADDS

    task = factories.make_task(acme_repo, alice, mode="code", attempts=2)
    for attempt in task.attempts.all():
        services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED, patch=ADDS)
    verification.verifications_start(task_id=task.pk)
    for row in Verification.objects.filter(task=task):
        verification.verification_claim(verification_id=row.pk)
        verification.verification_finish(verification_id=row.pk, verdict="passed",
                                         reason="The check passes.", results=[])

    stored = Verification.objects.filter(task=task).order_by("rank")
    assert [row.rank_reason for row in stored] == [
        "#1 of 2: all checks pass; the same patch as attempt 2's, and an earlier attempt.",
        "#2 of 2: all checks pass; the same patch as attempt 1's, and a later attempt.",
    ]
