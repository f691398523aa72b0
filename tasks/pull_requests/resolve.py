"""Resolve with the agent (issue 15, item 4): when Create PR or Push to branch finds that the
patch no longer applies to the branch, or the branch moved (or a follow-up's Update PR finds
someone else's commits on the PR's branch: then that branch is the one), a new attempt of kind
"resolve" starts from the earlier attempt's commit on its old base with the branch's new head
next to it, rebases (or merges) in the sandbox, resolves the conflicts, runs the checks and
leaves a patch against the new head. The workspace is made by tasks/worker/resolve.py; nothing
of the tree runs on the host.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from tasks.models import Attempt, AttemptKind, Mode, Status
from tasks.pull_requests.selectors import update_conflict_record
from tasks.services import TaskError, attempt_append, task_access_require

# The instruction a resolve attempt starts with; the worker appends what conflicted.
RESOLVE_PROMPT = (
    "The branch {branch} moved since attempt {index} ran, and its changes no longer apply to "
    "it. The workspace is on branch {work_branch}: attempt {index}'s changes committed on the "
    "commit it started from. The current {branch} is the local branch {branch}. Bring these "
    "changes onto the current {branch}: run `git rebase {branch}` (or `git merge {branch}`), "
    "resolve every conflict keeping both sides' intent, finish the rebase or merge "
    "(`git add` the files, then `GIT_EDITOR=true git rebase --continue`), run the checks "
    "AGENTS.md asks for and fix what fails. Leave no conflict markers. Finishing the rebase or "
    "merge is this task, so the rule against making commits yourself does not apply to it. In "
    "your final answer, say how you resolved each conflicting file."
)


def work_branch_name(index: int) -> str:
    """The workspace branch holding attempt `index`'s commit on its old base."""
    return f"codexweb/attempt-{index}"


def resolve_branch(attempt: Attempt) -> str:
    """The branch a resolve attempt of `attempt` rebases onto: the pull request's branch when
    its Update PR was refused (someone else pushed to it), else the task's base branch."""
    record = update_conflict_record(attempt.pk)
    return record.branch if record is not None else attempt.task.base_branch


def resolve_prompt(*, branch: str, index: int, conflicts: list[str]) -> str:
    """The resolve attempt's instruction; `conflicts` are the files whose changes did not
    apply to the branch's new head (the host's `git apply --check`)."""
    text = RESOLVE_PROMPT.format(branch=branch, index=index, work_branch=work_branch_name(index))
    if conflicts:
        listed = "\n".join(f"- {path}" for path in conflicts[:50])
        more = f"\n- … and {len(conflicts) - 50} more" if len(conflicts) > 50 else ""
        text += (f"\n\nThe changes to these files conflict with the current {branch}:\n"
                 f"{listed}{more}")
    return text


def attempt_resolve(*, attempt: Attempt, by: User) -> Attempt:
    """Queue a resolve attempt for `attempt` (a succeeded Code attempt with a patch and a
    recorded base commit), run with `by`'s credential like a follow-up; when it succeeds, what
    found the conflict (Create PR or Push to branch) runs again by itself for `by`.

    Raises TaskError when `by` may not push, the attempt has nothing to resolve, or the task has
    too many attempts."""
    current = Attempt.objects.select_related("task__repository").get(pk=attempt.pk)
    if current.task.mode != Mode.CODE:
        raise TaskError("Ask tasks change nothing, so there is nothing to resolve.")
    if current.status != Status.SUCCEEDED or not current.patch.strip():
        raise TaskError(f"Attempt {current.index} has no finished changes to resolve.")
    if not current.base_commit:
        raise TaskError(
            f"Attempt {current.index} does not record the commit it started from (it ran "
            "before codexweb kept it), so the agent cannot rebase it; follow up on it instead.")
    task_access_require(user=by, task=current.task)
    branch = resolve_branch(current)
    with transaction.atomic():
        return attempt_append(
            task_id=current.task_id,
            parent_id=current.pk,
            prompt=resolve_prompt(branch=branch, index=current.index, conflicts=[]),
            by=by,
            message=(f"Queued: resolve attempt {current.index}'s conflicts with the current "
                     f"{branch}, by {by.get_username()}."),
            kind=AttemptKind.RESOLVE,
            # When it succeeds, Create PR or Push to branch is pressed again for `by`.
            update_pull_request=True,
        )
