from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/team/webhooks/", include("tasks.notifications.urls")),
    path("accounts/", include("codexweb.accounts.urls")),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("repositories/", include("repos.urls")),
    path("healthz", healthz),
    path("api/v1/", include("codexweb.api.urls")),
    path("settings/tokens/", include("codexweb.api.urls_tokens")),
    path("audit/", include("codexweb.audit.urls")),
    path("", include("tasks.urls")),
]
