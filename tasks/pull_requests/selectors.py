"""Reading pull-request records (the pages and the API poll the same record)."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.models import Attempt, AttemptKind
from tasks.pull_requests.models import PullRequestRecord


def pull_request_for_attempt(attempt_id: int) -> PullRequestRecord | None:
    """The attempt's pull-request record, if Create PR was ever pressed for it."""
    return PullRequestRecord.objects.filter(attempt_id=attempt_id).first()


def open_parent_pull_request(attempt: Attempt) -> PullRequestRecord | None:
    """The open pull request a follow-up would update: its parent attempt's record when that
    is open on GitHub (as last seen), else None (the attempt opens a PR of its own)."""
    if attempt.parent_id is None:
        return None
    return PullRequestRecord.objects.filter(
        attempt_id=attempt.parent_id, state=PullRequestRecord.State.OPEN, number__isnull=False,
    ).exclude(head_sha="").first()


def pushed_parent_record(attempt: Attempt) -> PullRequestRecord | None:
    """The record of the parent's "Push to branch", when the parent's commit went onto the
    task's branch: a follow-up then starts from the parent's base commit (its patch stays the
    whole change) and its own push goes on top of that commit."""
    if attempt.parent_id is None:
        return None
    return PullRequestRecord.objects.filter(
        attempt_id=attempt.parent_id, pushed_to_branch=True).exclude(head_sha="").first()


def update_conflict_record(attempt_id: int | None) -> PullRequestRecord | None:
    """The attempt's record when it is an Update PR (a follow-up pushing to its parent's PR):
    resolving that attempt rebases onto the PR's branch, not the task's base."""
    if attempt_id is None:
        return None
    return PullRequestRecord.objects.filter(attempt_id=attempt_id, updates__isnull=False).first()


def resolve_onto(attempt: Attempt) -> PullRequestRecord | None:
    """For a resolve attempt of a refused Update PR: that record, whose branch the resolve
    attempt rebased onto and pushes back to (its patch is taken against that branch's head,
    not the task's base, so it can only be pushed there). None for every other attempt."""
    if attempt.kind != AttemptKind.RESOLVE:
        return None
    return update_conflict_record(attempt.parent_id)


@dataclass(frozen=True)
class PushOnly:
    """Create PR cannot work for this attempt; Push to `branch` does, for `reason`."""

    branch: str
    reason: str


def push_only(attempt: Attempt) -> PushOnly | None:
    """Whether the attempt's changes can only be pushed onto a branch, not opened as a new PR:
    a resolve attempt of a refused Update PR (its patch is against the PR's branch), or a
    follow-up of an attempt pushed onto a branch that has no open PR (its patch repeats the
    pushed commit's changes, so it only fits on top of that commit)."""
    onto = resolve_onto(attempt)
    if onto is not None:
        return PushOnly(onto.branch, (
            f"This attempt rebased attempt {onto.attempt.index}'s changes onto branch "
            f"{onto.branch} of pull request #{onto.number}, so they can only be pushed there."))
    pushed = pushed_parent_record(attempt)
    if pushed is not None and pushed.state == PullRequestRecord.State.PUSHED:
        return PushOnly(pushed.branch, (
            f"Attempt {pushed.attempt.index}'s changes were pushed onto {pushed.branch}, which "
            "has no open pull request, and this follow-up builds on them: push it onto "
            f"{pushed.branch} as well (a new pull request would repeat attempt "
            f"{pushed.attempt.index}'s changes)."))
    return None


@dataclass(frozen=True)
class Resolution:
    """The newest resolve attempt of an attempt whose Create PR, Update PR or Push to branch
    was refused on a conflict, with the record of its own push (None until it asks for one)."""

    attempt: Attempt
    record: PullRequestRecord | None

    @property
    def state(self) -> str:
        """"pushed" (its push went through: the refused attempt's offers are done with),
        "running" (it, or its push, is under way) or "failed" (offer the retry again)."""
        record = self.record
        if record is not None and record.state not in (PullRequestRecord.State.FAILED,
                                                       PullRequestRecord.State.CREATING):
            return "pushed"
        if not self.attempt.is_finished or (
                record is not None and record.state == PullRequestRecord.State.CREATING):
            return "running"
        return "failed"


def resolution_of(record: PullRequestRecord | None) -> Resolution | None:
    """For a record refused on a conflict (`resolvable`), its attempt's newest resolve attempt
    and that attempt's record; None when there is none (or the record is not such a refusal)."""
    if record is None or record.state != PullRequestRecord.State.FAILED or not record.resolvable:
        return None
    resolving = (Attempt.objects.filter(parent_id=record.attempt_id, kind=AttemptKind.RESOLVE)
                 .order_by("-index").first())
    if resolving is None:
        return None
    return Resolution(resolving, pull_request_for_attempt(resolving.pk))
