from django.urls import path

from repos import views

app_name = "repos"

urlpatterns = [
    path("", views.repository_list, name="list"),
    path("new/", views.repository_new, name="new"),
]
