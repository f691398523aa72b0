"""The app's URLs plus one view that talks to GitHub with the signed-in person's token."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from codexweb.urls import urlpatterns as app_urlpatterns
from repos.github.client import GitHubAuthError
from repos.github.credentials import client_for, credential_for


def whoami(request: HttpRequest) -> HttpResponse:
    credential = credential_for(request.user, "github")
    if credential is None:
        raise GitHubAuthError()
    return JsonResponse(client_for(credential).user())


urlpatterns = [path("test-github-whoami/", whoami), *app_urlpatterns]
