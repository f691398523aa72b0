"""The ranking on the task page (a fragment the page polls while verification runs) and "Combine
the picked hunks". Thin: authorize through the selectors (404 for other teams), call, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from codexweb.accounts.current import signed_in_user
from tasks.attempt_page import attempt_card
from tasks.models import Task
from tasks.selectors import get_task_for_user
from tasks.verification.selectors import get_verification_for_user, task_ranking
from tasks.verification.services import (
    VerificationError,
    combined_patch_create,
    verification_stop,
)
from tasks.views_live import to_attempt


def ranking_context(task: Task) -> dict[str, Any]:
    """What `tasks/_ranking.html` needs: the ranking, each combined patch with its PR card."""
    ranking = task_ranking(task)
    for row in ranking.combined:
        row.card = attempt_card(row.attempt)
    return {"task": task, "ranking": ranking}


@require_GET
def task_ranking_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_user(request.user, pk)
    return render(request, "tasks/_ranking_body.html", ranking_context(task))


@require_POST
def task_verification_stop(request: HttpRequest, pk: int, verification_pk: int) -> HttpResponse:
    """Stop one patch's re-verification (after the page's confirmation); it ranks as unverified."""
    verification = get_verification_for_user(request.user, pk, verification_pk)
    try:
        stopped = verification_stop(verification=verification, by=signed_in_user(request))
    except VerificationError as exc:
        messages.error(request, str(exc))
    else:
        index = stopped.attempt.index
        messages.success(
            request,
            f"Stopped the verification of attempt {index}."
            if stopped.is_finished
            else f"Stopping the verification of attempt {index}…",
        )
    return redirect(reverse("tasks:detail", args=[pk]) + "#ranking")


@require_POST
def task_combine(request: HttpRequest, pk: int) -> HttpResponse:
    """Combine the hunks ticked in the attempts' diffs into one patch, verified before Create PR."""
    task = get_task_for_user(request.user, pk)
    hunks = request.POST.getlist("hunk")
    try:
        verification = combined_patch_create(task=task, by=signed_in_user(request), hunk_ids=hunks)
    except VerificationError as exc:
        messages.error(request, str(exc))
        return redirect(reverse("tasks:detail", args=[task.pk]) + "#ranking")
    index = verification.attempt.index
    messages.success(
        request, f"Combined as attempt {index}; it is being verified before Create PR is enabled."
    )
    return to_attempt(task.pk, index)
