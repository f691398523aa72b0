"""The "run setup now" pages: queue a run (team admins), follow its log (team members).

A run of another team's repository is a 404, as on the environment page it belongs to.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from codexweb.accounts.http import AuthedRequest
from codexweb.accounts.middleware import json_endpoint
from repos.environments.views import admin_repository_for_user
from repos.selectors import get_repository_for_user
from repos.setup_runs.models import SetupRun
from repos.setup_runs.services import SetupRunError, setup_run_request
from tasks.rendering.terminal import plain_terminal_text


@require_POST
def setup_run(request: AuthedRequest, pk: int) -> HttpResponse:
    """Queue a run of the setup script (admins only) and show it."""
    repository = admin_repository_for_user(request, pk)
    try:
        run = setup_run_request(repository=repository, actor=request.user)
    except SetupRunError as exc:
        messages.error(request, str(exc))
        return redirect("repos:environment", pk=repository.pk)
    return redirect("repos:setup_run_detail", pk=repository.pk, run_id=run.pk)


def _setup_run_for_user(request: AuthedRequest, pk: int, run_id: int) -> SetupRun:
    """A run of a repository of the person's team (members may read it), else 404."""
    repository = get_repository_for_user(request.user, pk)
    return get_object_or_404(
        SetupRun.objects.select_related("environment__repository", "requested_by"),
        pk=run_id,
        environment__repository=repository,
    )


def setup_run_detail(request: AuthedRequest, pk: int, run_id: int) -> HttpResponse:
    run = _setup_run_for_user(request, pk, run_id)
    return render(
        request,
        "repos/setup_run.html",
        {
            "repository": run.environment.repository,
            "run": run,
            "log": plain_terminal_text(run.log),
            "offset": len(run.log),
        },
    )


@json_endpoint
def setup_run_status(request: AuthedRequest, pk: int, run_id: int) -> JsonResponse:
    """The run's state and its log from `?offset=` (characters already shown) on; ANSI
    escapes and control characters are stripped, the page sets the text as text."""
    run = _setup_run_for_user(request, pk, run_id)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        return JsonResponse({"error": "offset must be a whole number."}, status=400)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "commit": run.commit[:12],  # known once the checkout is done
            "active": run.is_active,
            "log": plain_terminal_text(run.log[offset:]),
            "offset": len(run.log),
            "error": run.error,
            "exit_code": run.exit_code,
            "warm_hit": run.warm_hit,
            "warm_made": run.warm_made,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
    )
