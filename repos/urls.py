from django.urls import path

from repos import views
from repos.credentials import views as views_credentials
from repos.environments import views as views_environment
from repos.github import views as views_github
from repos.github import views_connect
from repos.setup_runs import views as views_setup_runs

app_name = "repos"

urlpatterns = [
    path("", views.repository_list, name="list"),
    path("new/", views.repository_new, name="new"),
    path("sync/", views_github.sync_refresh, name="sync"),
    path("sync/status/", views_github.sync_state, name="sync_status"),
    path("connect/", views_connect.connect_page, name="connect"),
    path("connect/add/", views_connect.connect_repositories, name="connect_add"),
    path("connect/organization/", views_connect.connect_organization, name="connect_org"),
    path("connect/organization/<int:pk>/remove/", views_connect.disconnect_organization,
         name="disconnect_org"),
    path("<int:pk>/disconnect/", views_connect.disconnect_repository, name="disconnect"),
    path("<int:pk>/branches/", views_github.repository_branches, name="branches"),
    path("<int:pk>/pulls/", views_github.repository_pulls, name="pulls"),
    path("<int:pk>/environment/", views_environment.environment_page, name="environment"),
    path("<int:pk>/environment/secrets/", views_environment.secret_save, name="secret_save"),
    path("<int:pk>/environment/secrets/<int:secret_id>/delete/", views_environment.secret_remove,
         name="secret_delete"),
    path("<int:pk>/environment/credentials/", views_credentials.credential_save,
         name="credential_save"),
    path("<int:pk>/environment/credentials/<int:credential_id>/delete/",
         views_credentials.credential_remove, name="credential_delete"),
    path("<int:pk>/environment/cache/reset/", views_environment.cache_reset_view,
         name="cache_reset"),
    path("<int:pk>/environment/setup/run/", views_setup_runs.setup_run, name="setup_run"),
    path("<int:pk>/environment/setup/runs/<int:run_id>/", views_setup_runs.setup_run_detail,
         name="setup_run_detail"),
    path("<int:pk>/environment/setup/runs/<int:run_id>/status/",
         views_setup_runs.setup_run_status, name="setup_run_status"),
]
