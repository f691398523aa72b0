"""The order of re-verified attempts (tasks/verification/ranking.py)."""

from __future__ import annotations

from tasks.verification.ranking import Candidate, rank, rank_reason


def test_verdict_first_then_the_smaller_patch_then_the_earlier_attempt():
    candidates = [
        Candidate(1, 1, "checks_failed", 2),
        Candidate(2, 2, "passed", 40),
        Candidate(3, 3, "no_patch", 0),
        Candidate(4, 4, "passed", 4),
        Candidate(5, 5, "not_applied", 1),
        Candidate(6, 6, "passed", 4),
    ]
    assert [c.index for c in rank(candidates)] == [4, 6, 2, 1, 5, 3]


def test_the_reason_says_the_place_the_verdict_and_the_size():
    passed = Candidate(1, 1, "passed", 2)
    assert rank_reason(passed, 1, 3, "All checks pass") == (
        "#1 of 3: all checks pass; 2 changed lines."
    )
    lost = Candidate(2, 2, "not_applied", 9)
    assert rank_reason(lost, 3, 3, "The patch does not apply") == (
        "#3 of 3: the patch does not apply."
    )
