from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("codexweb.accounts.urls")),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("repositories/", include("repos.urls")),
    path("healthz", healthz),
    path("", include("tasks.urls")),
]
