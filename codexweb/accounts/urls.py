from django.contrib.auth import views as auth_views
from django.urls import path

from codexweb.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("setup/", views.setup, name="setup"),
    path("switch-team/<int:team_id>/", views.team_switch, name="team_switch"),
]
