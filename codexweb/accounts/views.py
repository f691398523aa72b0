"""Sign-in, sign-out, first-run setup and switching teams."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from codexweb.accounts.current import current_team_set
from codexweb.accounts.forms import FirstAdminForm
from codexweb.accounts.selectors import teams_for_user
from codexweb.accounts.services import first_admin_create


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not get_user_model().objects.exists():
            return redirect("accounts:setup")
        return super().dispatch(request, *args, **kwargs)


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
        messages.success(request, "Welcome! Register a repository to give the agent its first task.")
        return redirect("tasks:home")
    return render(request, "accounts/setup.html", {"form": form})


@require_POST
def team_switch(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_object_or_404(teams_for_user(request.user), pk=team_id)
    current_team_set(request, team)
    return redirect("tasks:home")
