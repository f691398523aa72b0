from django.urls import path

from codexweb.api import stream, views, views_review

app_name = "api"

urlpatterns = [
    path("openapi.json", views.openapi_json, name="openapi"),
    path("me", views.me, name="me"),
    path("repositories", views.repository_list, name="repositories"),
    path("tasks", views.tasks_collection, name="tasks"),
    path("tasks/<int:pk>", views.task_detail, name="task"),
    path("tasks/<int:pk>/cancel", views.task_cancel, name="task_cancel"),
    path("tasks/<int:pk>/pr", views.task_pull_request, name="task_pr"),
    path("attempts/<int:pk>", views.attempt_detail, name="attempt"),
    path("attempts/<int:pk>/cancel", views.attempt_cancel, name="attempt_cancel"),
    path("attempts/<int:pk>/pr", views.attempt_pull_request, name="attempt_pr"),
    path("attempts/<int:pk>/retry", views.attempt_retry, name="attempt_retry"),
    path("attempts/<int:pk>/messages", views.attempt_messages, name="attempt_messages"),
    path("attempts/<int:pk>/events", views.attempt_events, name="attempt_events"),
    path("attempts/<int:pk>/events/stream", stream.attempt_events_stream, name="attempt_stream"),
    path("attempts/<int:pk>/patch", views.attempt_patch, name="attempt_patch"),
    path("attempts/<int:pk>/review", views_review.attempt_review, name="attempt_review"),
    path("attempts/<int:pk>/review/post", views_review.attempt_post_review,
         name="attempt_review_post"),
]
urlpatterns.append(path("<path:rest>", views.not_found, name="not_found"))
