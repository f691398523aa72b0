"""How tasks, attempts, events, repositories and pull requests look in API responses (see
openapi.py for the schema)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from repos.models import Repository
from tasks.events import event_message
from tasks.models import Attempt, Event, Task
from tasks.pull_requests.models import PullRequestRecord
from tasks.steering.models import SteerMessage


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def attempt_repr(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.pk,
        "task": attempt.task_id,
        "index": attempt.index,
        "parent": attempt.parent_id,
        "kind": attempt.kind,
        "base_commit": attempt.base_commit,
        "status": attempt.status,
        "finished": attempt.is_finished,
        "error": attempt.error,
        "summary": attempt.summary,
        "has_patch": bool(attempt.patch),
        "input_tokens": attempt.input_tokens,
        "output_tokens": attempt.output_tokens,
        "last_seq": attempt.last_seq,
        "created_at": _iso(attempt.created_at),
        "started_at": _iso(attempt.started_at),
        "finished_at": _iso(attempt.finished_at),
    }


def steer_repr(message: SteerMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "attempt": message.attempt_id,
        "text": message.text,
        "stop": message.stop,
        "by": message.author.get_username(),
        "created_at": _iso(message.created_at),
        "taken_at": _iso(message.taken_at),
    }


def task_repr(task: Task, *, attempts: list[Attempt] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": task.pk,
        "team": task.team.slug,
        "repository": task.repository.full_name,
        "author": task.author.get_username(),
        "mode": task.mode,
        "title": task.title,
        "prompt": task.prompt,
        "branch": task.base_branch,
        "pull_request": task.pull_number,
        "model": task.model_tier,
        "status": task.status,
        "finished": task.is_finished,
        "attempt_count": task.attempt_count,
        "created_at": _iso(task.created_at),
        "finished_at": _iso(task.finished_at),
        "web_url": reverse("tasks:detail", args=[task.pk]),
    }
    if attempts is not None:
        data["attempts"] = [attempt_repr(a) for a in attempts]
    return data


def event_repr(event: Event) -> dict[str, Any]:
    return event_message(event)


def repository_repr(repository: Repository) -> dict[str, Any]:
    return {
        "id": repository.pk,
        "full_name": repository.full_name,
        "team": repository.team.slug,
        "default_branch": repository.default_branch,
        "visibility": repository.visibility,
    }


def pull_request_repr(record: PullRequestRecord) -> dict[str, Any]:
    """`url` is the pull request's page once open; `poll_url` the API's view of the record."""
    return {
        "attempt": record.attempt_id,
        "state": record.state,
        "url": record.html_url,
        "number": record.number,
        "branch": record.branch,
        "error": record.error,
        # "Push to branch": the commit went onto the task's own branch (a fast-forward).
        "pushed_to_branch": record.pushed_to_branch,
        # The failure is a conflict with the branch: POST /attempts/{id}/resolve can help.
        "resolvable": record.resolvable,
        "head_sha": record.head_sha,
        # A follow-up's record that pushes to its parent's open PR: the parent attempt's id.
        "updates_attempt": record.updates.attempt_id if record.updates else None,
        "poll_url": reverse("api:attempt_pr", args=[record.attempt_id]),
    }
