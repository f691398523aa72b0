"""Thin views: "Review this diff" on a finished Code attempt, and "Post as PR review"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from codexweb.accounts.current import signed_in_user
from repos.access import task_access_check
from repos.github.client import GitHubError
from tasks.reviews.models import ReviewRecord
from tasks.reviews.services import ReviewPostError, review_post_start, review_task_create
from tasks.selectors import get_attempt_for_user
from tasks.services import TaskError
from tasks.views_live import to_attempt


@require_POST
def attempt_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a Review task on this attempt's own diff."""
    attempt = get_attempt_for_user(request.user, pk)
    try:
        task = review_task_create(
            author=signed_in_user(request), repository=attempt.task.repository,
            prompt=request.POST.get("prompt", ""), source_attempt=attempt,
            model_tier=attempt.task.model_tier, access_check=task_access_check)
    except (TaskError, GitHubError) as exc:
        messages.error(request, str(exc))
        return to_attempt(attempt.task_id, attempt.index)
    return redirect("tasks:detail", pk=task.pk)


@require_POST
def attempt_post_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Post as PR review (Comment, Approve or Request changes, as chosen): claim the attempt's
    review; a Celery job posts it."""
    attempt = get_attempt_for_user(request.user, pk)
    try:
        _record, started = review_post_start(
            attempt=attempt, user=signed_in_user(request),
            event=request.POST.get("event", ReviewRecord.Event.COMMENT))
    except (ReviewPostError, GitHubError) as exc:
        messages.error(request, str(exc))
        return to_attempt(attempt.task_id, attempt.index)
    if started:
        messages.success(request, "Posting the review…")
    return to_attempt(attempt.task_id, attempt.index)
