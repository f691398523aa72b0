"""Views of the live task page: the page, an attempt's result fragment, file excerpts, the patch
download, the follow-up composer and "Message the agent" while an attempt runs. Each authorizes
through the selectors (404 for other teams)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from codexweb.accounts.current import signed_in_user
from codexweb.accounts.selectors import is_team_admin
from codexweb.query_params import optional_int
from tasks import services
from tasks.attempt_page import attempt_card_and_result, file_excerpt, task_page
from tasks.images.decode import ImageRejected
from tasks.images.forms import image_upload
from tasks.images.services import CheckedImage, images_check
from tasks.models import Attempt
from tasks.selectors import get_attempt_for_user, get_task_for_user
from tasks.steering.services import SteerFinished, steer_send

MAX_PATH = 1000
MAX_FOLLOW_UP = 20_000
MAX_LINE = 10**9 - 1


@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from tasks.verification.views import ranking_context

    task = get_task_for_user(request.user, pk)
    context = {**task_page(task), **ranking_context(task)}
    # Offer "Add to this repository's allowlist" next to a refused request (admins only).
    context["egress_admin"] = is_team_admin(request.user, task.team)
    return render(request, "tasks/detail.html", context)


@require_GET
def attempt_result_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The result section (summary, diff, actions) of one attempt, for the page to swap in."""
    attempt = get_attempt_for_user(request.user, pk)
    card, result = attempt_card_and_result(attempt)
    return render(request, "tasks/_result.html", {"card": card, "result": result})


@require_GET
def attempt_file(request: HttpRequest, pk: int) -> HttpResponse:
    """Lines of a file after the attempt (from the patch), `start..end` highlighted.

    `?partial=1` returns only the excerpt, for the page's viewer; otherwise a whole page."""
    attempt = get_attempt_for_user(request.user, pk)
    path = request.GET.get("path", "")
    if not path or len(path) > MAX_PATH:
        return HttpResponse("Give the file's path.", status=400, content_type="text/plain")
    start = optional_int(request.GET, "start", maximum=MAX_LINE)
    end = optional_int(request.GET, "end", maximum=MAX_LINE) or start
    if start and end and end < start:
        start, end = end, start
    excerpt = file_excerpt(attempt, path, start, end)
    context = {
        "attempt": attempt,
        "task": attempt.task,
        "excerpt": excerpt,
        "start": start,
        "end": end,
    }
    template = "tasks/_file.html" if request.GET.get("partial") else "tasks/file.html"
    return render(request, template, context)


@require_GET
def attempt_patch(request: HttpRequest, pk: int) -> HttpResponse:
    """The attempt's patch as a download, ready for `git apply`."""
    attempt = get_attempt_for_user(request.user, pk)
    if not attempt.patch.strip():
        return HttpResponse("This attempt has no patch.", status=404, content_type="text/plain")
    response = HttpResponse(attempt.patch, content_type="text/x-diff; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{patch_filename(attempt)}"'
    return response


def pr_progress_tag(attempt: Attempt) -> str:
    """Marks a "Creating the pull request…" message so the page removes it once that attempt's
    result no longer says the job is running (static/js/live/panel.js)."""
    return f"pr-progress-{attempt.pk}"


@require_POST
def attempt_create_pr(request: HttpRequest, pk: int) -> HttpResponse:
    """Create PR: claim the attempt's pull request record; a Celery job opens it."""
    from repos.github.client import GitHubError
    from tasks.pull_requests.services import PullRequestError, pull_request_start

    attempt = get_attempt_for_user(request.user, pk)
    try:
        record, started = pull_request_start(attempt=attempt, user=signed_in_user(request),
                                             draft=False if request.POST.get("ready") else None)
    except (PullRequestError, GitHubError) as exc:
        messages.error(request, str(exc))
        return to_attempt(attempt.task_id, attempt.index)
    if started:
        messages.success(request, f"Updating pull request #{record.number}…" if record.updates_id
                         else "Creating the pull request…", extra_tags=pr_progress_tag(attempt))
    return to_attempt(attempt.task_id, attempt.index)


@require_POST
def attempt_push(request: HttpRequest, pk: int) -> HttpResponse:
    """Push to branch: claim the attempt's record for a push onto the task's branch; a job
    pushes (fast-forward only)."""
    from repos.github.client import GitHubError
    from tasks.pull_requests.services import PullRequestError, pull_request_start

    attempt = get_attempt_for_user(request.user, pk)
    try:
        _record, started = pull_request_start(attempt=attempt, user=signed_in_user(request),
                                              push_to_branch=True)
    except (PullRequestError, GitHubError) as exc:
        messages.error(request, str(exc))
        return to_attempt(attempt.task_id, attempt.index)
    if started:
        messages.success(request, f"Pushing to branch {attempt.task.base_branch}…",
                         extra_tags=pr_progress_tag(attempt))
    return to_attempt(attempt.task_id, attempt.index)


@require_POST
def attempt_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve with the agent: a new attempt rebases this one's changes onto the branch."""
    from tasks.pull_requests.resolve import attempt_resolve as resolve

    attempt = get_attempt_for_user(request.user, pk)
    try:
        new = resolve(attempt=attempt, by=signed_in_user(request))
    except services.TaskError as exc:
        messages.error(request, str(exc))
        return to_attempt(attempt.task_id, attempt.index)
    messages.success(request, f"Resolving the conflicts as attempt {new.index}.")
    return to_attempt(attempt.task_id, new.index)


def patch_filename(attempt: Attempt) -> str:
    """Named as the page names the attempt (task #7's attempt 2), not by its database id."""
    name = f"codexweb-task-{attempt.task_id}-attempt-{attempt.index}.patch"
    return re.sub(r"[^A-Za-z0-9._-]", "", name)


@require_POST
def attempt_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a new attempt that continues a finished one with the person's next instruction."""
    attempt = get_attempt_for_user(request.user, pk)
    prompt = request.POST.get("prompt", "")
    if len(prompt) > MAX_FOLLOW_UP:
        messages.error(request, f"Keep the follow-up under {MAX_FOLLOW_UP} characters.")
        return to_attempt(attempt.task_id, attempt.index)
    try:
        images = images_check([image_upload(f) for f in request.FILES.getlist("images")])
    except ImageRejected as exc:
        messages.error(request, f"{exc} Nothing was started.")
        return to_attempt(attempt.task_id, attempt.index)
    return _follow_up(request, attempt, prompt, images)


def _follow_up(
    request: HttpRequest, attempt: Attempt, prompt: str, images: list[CheckedImage] | None = None
) -> HttpResponse:
    return to_new_attempt(
        request,
        attempt,
        lambda: services.attempt_follow_up(
            attempt=attempt, prompt=prompt, by=signed_in_user(request),
            update_pull_request=bool(request.POST.get("update_pr")), images=images or []),
        lambda new: f"Follow-up started as attempt {new.index}.",
    )


@require_POST
def attempt_message(request: HttpRequest, pk: int) -> HttpResponse:
    """"Message the agent" (or "Stop after this step") while the attempt runs; a message to an
    attempt that has finished meanwhile starts a follow-up with it, as the box did before."""
    attempt = get_attempt_for_user(request.user, pk)
    text = request.POST.get("text", "")
    stop = bool(request.POST.get("stop"))
    try:
        steer_send(attempt=attempt, by=signed_in_user(request), text=text, stop=stop)
    except SteerFinished:
        if stop or not text.strip():
            messages.info(request, f"Attempt {attempt.index} has already finished.")
            return to_attempt(attempt.task_id, attempt.index)
        return _follow_up(request, attempt, text)
    except services.TaskError as exc:
        messages.error(request, str(exc))
        return to_attempt(attempt.task_id, attempt.index)
    if stop:
        messages.success(request, "The agent will stop after its current step.")
    else:
        messages.success(request, "Sent: the agent gets your message after its current step.")
    return to_attempt(attempt.task_id, attempt.index)


def to_attempt(task_id: int, index: int) -> HttpResponse:
    """Back to the task page, scrolled to attempt `index` (after a button on its card)."""
    return redirect(reverse("tasks:detail", args=[task_id]) + f"#attempt-{index}")


def to_new_attempt(
    request: HttpRequest,
    attempt: Attempt,
    start: Callable[[], Attempt],
    said: Callable[[Attempt], str],
) -> HttpResponse:
    """After a button that starts a new attempt from `attempt` (retry, follow-up): the new one,
    with what `said` says of it; or back to `attempt` with the service's refusal."""
    try:
        new = start()
    except services.TaskError as exc:
        messages.error(request, str(exc))
        return to_attempt(attempt.task_id, attempt.index)
    messages.success(request, said(new))
    return to_attempt(attempt.task_id, new.index)
