from django.urls import path

from codexweb.api import (
    approvals,
    stream,
    views,
    views_credentials,
    views_review,
    views_verification,
    views_webhooks,
)

app_name = "api"

urlpatterns = [
    path("openapi.json", views.openapi_json, name="openapi"),
    path("me", views.me, name="me"),
    path("repositories", views.repository_list, name="repositories"),
    path("repositories/<int:pk>/credentials", views_credentials.credentials_collection,
         name="credentials"),
    path("repositories/<int:pk>/credentials/<int:credential_id>",
         views_credentials.credential_detail, name="credential"),
    path("teams/<slug:slug>/webhooks", views_webhooks.webhooks_collection, name="webhooks"),
    path("teams/<slug:slug>/webhooks/<int:webhook_id>", views_webhooks.webhook_detail,
         name="webhook"),
    path("teams/<slug:slug>/webhooks/<int:webhook_id>/deliveries",
         views_webhooks.webhook_deliveries, name="webhook_deliveries"),
    path("teams/<slug:slug>/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
         views_webhooks.delivery_redeliver_view, name="webhook_redeliver"),
    path("tasks", views.tasks_collection, name="tasks"),
    path("tasks/<int:pk>", views.task_detail, name="task"),
    path("tasks/<int:pk>/cancel", views.task_cancel, name="task_cancel"),
    path("tasks/<int:pk>/pr", views.task_pull_request, name="task_pr"),
    path("tasks/<int:pk>/ranking", views_verification.task_ranking_detail, name="task_ranking"),
    path("tasks/<int:pk>/combine", views_verification.task_combine, name="task_combine"),
    path("attempts/<int:pk>", views.attempt_detail, name="attempt"),
    path("attempts/<int:pk>/cancel", views.attempt_cancel, name="attempt_cancel"),
    path("attempts/<int:pk>/pr", views.attempt_pull_request, name="attempt_pr"),
    path("attempts/<int:pk>/push", views.attempt_push, name="attempt_push"),
    path("attempts/<int:pk>/resolve", views.attempt_resolve, name="attempt_resolve"),
    path("attempts/<int:pk>/retry", views.attempt_retry, name="attempt_retry"),
    path("attempts/<int:pk>/messages", views.attempt_messages, name="attempt_messages"),
    path("attempts/<int:pk>/follow-up", views.attempt_follow_up, name="attempt_follow_up"),
    path("attempts/<int:pk>/egress-approvals", approvals.attempt_egress_approvals,
         name="attempt_egress_approvals"),
    path("attempts/<int:pk>/egress", approvals.attempt_egress, name="attempt_egress"),
    path("attempts/<int:pk>/events", views.attempt_events, name="attempt_events"),
    path("attempts/<int:pk>/events/stream", stream.attempt_events_stream, name="attempt_stream"),
    path("attempts/<int:pk>/patch", views.attempt_patch, name="attempt_patch"),
    path("attempts/<int:pk>/review", views_review.attempt_review, name="attempt_review"),
    path("attempts/<int:pk>/review/post", views_review.attempt_post_review,
         name="attempt_review_post"),
]
urlpatterns.append(path("<path:rest>", views.not_found, name="not_found"))
