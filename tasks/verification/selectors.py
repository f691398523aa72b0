"""Reads for re-verification: a task's ranking as the page, the API and the CLI show it, and
whether a combined patch may become a pull request yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from tasks.models import Attempt, Task
from tasks.selectors import tasks_visible_to
from tasks.verification.models import Verification
from tasks.verification.services import task_is_best_of_n


@dataclass
class RankingRow:
    verification: Verification
    attempt: Attempt
    failed: dict[str, Any] | None  # the first failing check (command, exit code, output tail)
    card: Any = None  # a combined patch's AttemptCard (its Create PR), set by the page

    @property
    def running_command(self) -> str:
        for result in self.verification.results:
            if result.get("running"):
                return str(result.get("command", ""))
        return ""


@dataclass
class Ranking:
    task: Task
    rows: list[RankingRow] = field(default_factory=list)  # ranked first, then pending
    combined: list[RankingRow] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return any(not r.verification.is_finished for r in [*self.rows, *self.combined])

    @property
    def pending(self) -> bool:
        """Whether the page should look again: a ranking is expected but not complete."""
        return self.running or (self.expected and not self.rows)

    @property
    def nothing_to_combine(self) -> bool:
        """Every attempt was ranked and none left a patch: no hunk to pick (the page hides
        "Combine the picked hunks" and says so)."""
        return (
            bool(self.rows)
            and not self.running
            and not any(row.attempt.patch.strip() for row in self.rows)
        )

    @property
    def expected(self) -> bool:
        """Whether this task gets a ranking (best-of-N Code task), even before it starts."""
        return task_is_best_of_n(self.task)


def _first_failure(verification: Verification) -> dict[str, Any] | None:
    for result in verification.results:
        if not result.get("running") and result.get("exit_code") != 0:
            return dict(result)
    return None


def task_ranking(task: Task) -> Ranking:
    """The task's verifications: its attempts best first (pending ones last, by attempt), and
    the combined patches in the order they were made."""
    ranking = Ranking(task=task)
    rows = Verification.objects.filter(task=task).select_related("attempt")
    for verification in sorted(rows, key=lambda v: (v.rank is None, v.rank or 0, v.attempt.index)):
        row = RankingRow(verification, verification.attempt, _first_failure(verification))
        (ranking.combined if verification.is_combined else ranking.rows).append(row)
    return ranking


def ranking_json(ranking: Ranking) -> dict[str, Any]:
    """The ranking for the API (and the CLI that reads it)."""

    def one(row: RankingRow) -> dict[str, Any]:
        v = row.verification
        return {
            "verification_id": v.pk,
            "attempt_id": row.attempt.pk,
            "attempt_index": row.attempt.index,
            "status": v.status,
            "verdict": v.verdict or None,
            "verdict_text": v.get_verdict_display() if v.verdict else None,
            "rank": v.rank,
            "rank_reason": v.rank_reason,
            "reason": v.reason,
            "patch_lines": v.patch_lines,
            "commands": list(v.commands),
            "commands_source": v.commands_source,
            "results": [dict(r) for r in v.results],
            "hunks": list(v.hunks),
            "runs": v.runs,
            "stopping": v.stop_requested_by_id is not None and not v.is_finished,
        }

    return {
        "task_id": ranking.task.pk,
        "running": ranking.running,
        "attempts": [one(r) for r in ranking.rows],
        "combined": [one(r) for r in ranking.combined],
    }


def combined_patch_blocker(attempt: Attempt) -> str:
    """Why a combined patch may not become a pull request yet ("" when it may, or when the
    attempt is not a combined patch): it must be verified, and its checks must pass."""
    verification = Verification.objects.filter(attempt=attempt).first()
    if verification is None or not verification.is_combined:
        return ""
    if not verification.is_finished:
        return "The combined patch is still being verified; Create PR is enabled once it passes."
    if verification.verdict not in (
        Verification.Verdict.PASSED,
        Verification.Verdict.NO_CHECKS,
    ):
        return f"The combined patch did not pass verification: {verification.reason}"
    return ""


def ranks_of(attempts: list[Attempt]) -> dict[int, int]:
    """Attempt id → its place in the best-of-N ranking, for those of `attempts` that have one."""
    rows = Verification.objects.filter(attempt__in=attempts, rank__isnull=False)
    return {attempt_id: rank for attempt_id, rank in rows.values_list("attempt_id", "rank")
            if rank is not None}


def get_verification_for_user(
    user: User | AnonymousUser, task_pk: int, verification_pk: int
) -> Verification:
    """One verification of a task the person's team sees, or Http404 (never 403)."""
    verification = (
        Verification.objects.select_related("task", "attempt")
        .filter(pk=verification_pk, task_id=task_pk, task__in=tasks_visible_to(user))
        .first()
    )
    if verification is None:
        raise Http404("No such verification.")
    return verification
