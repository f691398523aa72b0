"""Sign-in, sign-out, first-run setup and switching teams."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from codexweb.accounts.context import sign_in_options_for_settings
from codexweb.accounts.current import current_team_set
from codexweb.accounts.forms import FirstAdminForm, LocalSignInForm
from codexweb.accounts.selectors import teams_for_user
from codexweb.accounts.services import first_admin_create


class SignInView(auth_views.LoginView):
    """Local sign-in; sends a fresh install (no accounts yet) to first-run setup."""

    template_name = "accounts/login.html"
    authentication_form = LocalSignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        throttled = any(e.code == "throttled" for e in form.non_field_errors().as_data())
        return self.render_to_response(
            self.get_context_data(form=form), status=429 if throttled else 400
        )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # With GitHub configured, the first person may simply sign in with it; the page then
        # also offers first-run setup for a local administrator.
        if not get_user_model().objects.exists() and not _github_sign_in_configured():
            return redirect("accounts:setup")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["first_run"] = not get_user_model().objects.exists()
        return context


def _github_sign_in_configured() -> bool:
    options = sign_in_options_for_settings()
    return options["github_enabled"] or options["ghes_enabled"]


def setup(request: HttpRequest) -> HttpResponse:
    """Create the first administrator; only while the install has no accounts."""
    if get_user_model().objects.exists():
        return redirect("accounts:login")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = first_admin_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                team_name=form.cleaned_data["team_name"],
            )
        except PermissionError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:login")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request, "Welcome! Register a repository to give the agent its first task."
        )
        return redirect("tasks:home")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/setup.html", {"form": form}, status=status)


@require_POST
def team_switch(request: HttpRequest, team_id: int) -> HttpResponse:
    """Work in another of the person's teams; a team they are not in is a 404."""
    team = get_object_or_404(teams_for_user(request.user), pk=team_id)
    current_team_set(request, team)
    messages.info(request, f"Now working in {team.name}.")
    return redirect("tasks:home")
