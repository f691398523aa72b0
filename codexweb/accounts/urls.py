from django.contrib.auth import views as auth_views
from django.urls import path

from codexweb.accounts import views, views_team

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("setup/", views.setup, name="setup"),
    path("switch-team/<int:team_id>/", views.team_switch, name="team_switch"),
    path("team/", views_team.team_members, name="team"),
    path("team/invites/", views_team.invite_new, name="invite_new"),
    path("team/invites/<int:pk>/withdraw/", views_team.invite_withdraw, name="invite_withdraw"),
    path("team/invites/<int:pk>/accept/", views_team.invite_accept_mine, name="invite_accept_mine"),
    path("team/members/<int:pk>/role/", views_team.member_role, name="member_role"),
    path("team/members/<int:pk>/remove/", views_team.member_remove, name="member_remove"),
    path("team/domain-lists/", views_team.domain_lists, name="domain_lists"),
    path("team/domain-lists/<int:pk>/", views_team.domain_list_edit, name="domain_list_edit"),
    path("team/domain-lists/<int:pk>/delete/", views_team.domain_list_remove,
         name="domain_list_delete"),
    path("invite/<str:token>/", views_team.invite_open, name="invite_accept"),
]
