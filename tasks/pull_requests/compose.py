"""What a pull request of an attempt says: title, summary, warnings, flags, changes by file.

Reads the attempt's final answer and its "summary" event (the citation verdict), the patch and
the repository's recent commit subjects in the mirror (for Conventional Commits); the wording is
decided by the Django-free modules title.py, review_flags.py and
sections.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from repos.git import mirror
from repos.github.client import web_base_url
from repos.models import Repository
from tasks.agent.records import TerminalChunk
from tasks.models import Attempt
from tasks.pull_requests.body import pull_body
from tasks.pull_requests.egress_section import egress_section
from tasks.pull_requests.review_flags import FileChange, ReviewFlag, file_changes, review_flags
from tasks.pull_requests.sections import (
    changes_section,
    flags_notice,
    summary_warnings,
    warning_notice,
)
from tasks.pull_requests.title import choose_title, split_title, uses_conventional_commits
from tasks.recorded import attempt_summary, chunks_with_earlier, stored_citations

HISTORY_SUBJECTS = 30


@dataclass(frozen=True)
class PullText:
    title: str
    summary: str  # the final answer without its `Title:` line
    warnings: list[str] = field(default_factory=list)
    flags: list[ReviewFlag] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)

    @property
    def needs_draft(self) -> bool:
        """Opened as a draft unless the person says otherwise: the answer did not check out."""
        return bool(self.warnings)

    def notices(self, *, draft: bool) -> list[str]:
        """Alerts for the top of the body (`draft`: whether the PR is opened as one)."""
        return [n for n in (warning_notice(self.warnings, draft=draft), flags_notice(self.flags))
                if n]

    def sections(self) -> list[str]:
        """Sections after the summary."""
        return [s for s in (changes_section(self.changes),) if s]


def recent_subjects(repository: Repository, ref: str, limit: int = HISTORY_SUBJECTS) -> list[str]:
    """Subjects of the last commits on `ref` in the mirror ([] when it has none yet)."""
    path = mirror.mirror_path(repository)
    if not (path / "HEAD").exists() or ref.startswith("-"):
        return []
    try:
        out = mirror.run_git(["-C", str(path), "log", f"-n{limit}", "--no-merges",
                              "--format=%s", ref, "--"])
    except mirror.GitError:
        return []
    return out.splitlines()


def pull_text(attempt: Attempt) -> PullText:
    """The title and body parts of `attempt`'s pull request."""
    task = attempt.task
    verdict = attempt_summary(attempt)
    changes = file_changes(attempt.patch)
    conventional = uses_conventional_commits(recent_subjects(task.repository, task.base_branch))
    title = choose_title(final=attempt.summary, prompt=task.prompt,
                         files=[c.path for c in changes], conventional=conventional)
    return PullText(title=title, summary=split_title(attempt.summary)[1],
                    warnings=summary_warnings(verdict), flags=review_flags(attempt.patch),
                    changes=changes)


def pull_body_of(attempt: Attempt, text: PullText, *, head_sha: str, draft: bool) -> str:
    """The body of `attempt`'s pull request, its file citations linked on commit `head_sha`."""
    repository = attempt.task.repository
    web = f"{web_base_url(repository.provider)}/{repository.owner}/{repository.name}"
    return pull_body(summary=text.summary, blob_base=f"{web}/blob/{head_sha}",
                     chunks=_citable_chunks(attempt),
                     citations=stored_citations(attempt_summary(attempt)),
                     task_url=f"{settings.PUBLIC_URL}/tasks/{attempt.task_id}/",
                     notices=text.notices(draft=draft),
                     after_summary=[*text.sections(), *filter(None, [egress_section(attempt)])])


def _citable_chunks(attempt: Attempt) -> dict[str, TerminalChunk]:
    """The chunks `attempt`'s summary may cite: its own, and a follow-up's earlier attempts'."""
    own, earlier = chunks_with_earlier(attempt)
    return {**earlier, **own}
