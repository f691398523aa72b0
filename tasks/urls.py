from django.urls import path

from tasks import views

app_name = "tasks"

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/<int:pk>/", views.detail, name="detail"),
    path("tasks/<int:pk>/status/", views.task_status, name="status"),
    path("attempts/<int:pk>/cancel/", views.attempt_cancel, name="attempt_cancel"),
    path("repositories/picker/", views.repository_picker, name="repository_picker"),
]
