"""How tasks, attempts, events, repositories and pull requests look in API responses (see
openapi.py for the schema)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from codexweb.api.fields import fields_of, queued_for_attempt, times_of
from repos.models import Repository
from tasks.events import event_message
from tasks.images.models import TaskImage
from tasks.images.selectors import images_shown
from tasks.models import Attempt, Event, Task
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.selectors import resolution_of
from tasks.steering.models import SteerMessage


def attempt_repr(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.pk,
        "task": attempt.task_id,
        "parent": attempt.parent_id,
        **fields_of(attempt, "kind", "base_commit"),
        "finished": attempt.is_finished,
        "has_patch": bool(attempt.patch),
        **fields_of(attempt, "index", "status", "error", "summary", "input_tokens", "output_tokens",
                "last_seq"),
        **times_of(attempt, "created_at", "started_at", "finished_at"),
    }


def steer_repr(message: SteerMessage) -> dict[str, Any]:
    return {
        **queued_for_attempt(message, by=message.author, taken_as="taken_at"),
        **fields_of(message, "text", "stop"),
    }


def task_repr(task: Task, *, attempts: list[Attempt] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": task.pk,
        "team": task.team.slug,
        "repository": task.repository.full_name,
        "author": task.author.get_username(),
        "branch": task.base_branch,
        "pull_request": task.pull_number,
        "model": task.model_tier,
        "finished": task.is_finished,
        **fields_of(task, "mode", "title", "prompt", "status", "attempt_count"),
        **times_of(task, "created_at", "finished_at"),
        "web_url": reverse("tasks:detail", args=[task.pk]),
    }
    if attempts is not None:
        data["attempts"] = [attempt_repr(a) for a in attempts]
        data["images"] = [image_repr(i) for i in images_shown(task.pk, None)]
    return data


def image_repr(image: TaskImage) -> dict[str, Any]:
    """An attached image's facts (its bytes: the task page's `web_url`, for team members)."""
    return {
        "id": image.pk,
        **fields_of(image, "name", "media_type", "width", "height", "size"),
        "web_url": reverse("tasks:image", args=[image.pk]),
    }


def event_repr(event: Event) -> dict[str, Any]:
    return event_message(event)


def repository_repr(repository: Repository) -> dict[str, Any]:
    return {
        "id": repository.pk,
        "team": repository.team.slug,
        **fields_of(repository, "full_name", "default_branch", "visibility"),
    }


def pull_request_repr(record: PullRequestRecord) -> dict[str, Any]:
    """`url` is the pull request's page once open; `poll_url` the API's view of the record."""
    return {
        "attempt": record.attempt_id,
        "url": record.html_url,
        # pushed_to_branch: "Push to branch" put the commit onto the task's own branch (a
        # fast-forward); resolvable: the failure is a conflict with the branch, which POST
        # /attempts/{id}/resolve can help with.
        **fields_of(record, "state", "number", "branch", "error", "pushed_to_branch",
                    "resolvable", "head_sha"),
        # A follow-up's record that pushes to its parent's open PR: the parent attempt's id.
        "updates_attempt": record.updates.attempt_id if record.updates else None,
        "poll_url": reverse("api:attempt_pr", args=[record.attempt_id]),
        "resolution": _resolution_repr(record),
    }


def _resolution_repr(record: PullRequestRecord) -> dict[str, Any] | None:
    """A conflict refusal's newest resolve attempt and how far it got (the page's card says the
    same), so a client does not offer the retry or another resolve while one runs or pushed."""
    resolution = resolution_of(record)
    if resolution is None:
        return None
    attempt = resolution.attempt
    return {"attempt": attempt.pk, "index": attempt.index, "state": resolution.state}
