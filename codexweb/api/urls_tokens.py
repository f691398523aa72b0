from django.urls import path

from codexweb.api import views_tokens

app_name = "api_tokens"

urlpatterns = [
    path("", views_tokens.token_list, name="list"),
    path("<int:pk>/revoke/", views_tokens.token_revoke, name="revoke"),
]
