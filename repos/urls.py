from django.urls import path

from repos import views, views_environment

app_name = "repos"

urlpatterns = [
    path("", views.repository_list, name="list"),
    path("new/", views.repository_new, name="new"),
    path("<int:pk>/environment/", views_environment.environment_page, name="environment"),
    path("<int:pk>/environment/secrets/", views_environment.secret_save, name="secret_save"),
    path("<int:pk>/environment/secrets/<int:secret_id>/delete/", views_environment.secret_remove,
         name="secret_delete"),
    path("<int:pk>/environment/cache/reset/", views_environment.cache_reset_view,
         name="cache_reset"),
    path("<int:pk>/environment/setup/run/", views_environment.setup_run, name="setup_run"),
]
