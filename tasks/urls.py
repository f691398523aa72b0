from django.urls import path

from tasks import views, views_egress, views_history, views_live
from tasks.images import views as views_images
from tasks.reviews import views as views_review
from tasks.verification import views as verification_views

app_name = "tasks"

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/<int:pk>/", views_live.task_detail, name="detail"),
    path("attempts/<int:pk>/result/", views_live.attempt_result_fragment, name="attempt_result"),
    path("attempts/<int:pk>/file/", views_live.attempt_file, name="attempt_file"),
    path("attempts/<int:pk>/patch/", views_live.attempt_patch, name="attempt_patch"),
    path("attempts/<int:pk>/follow-up/", views_live.attempt_follow_up, name="attempt_follow_up"),
    path("attempts/<int:pk>/messages/", views_live.attempt_message, name="attempt_message"),
    path("attempts/<int:pk>/pull-request/", views_live.attempt_create_pr, name="attempt_create_pr"),
    path("attempts/<int:pk>/egress/", views_egress.attempt_egress, name="attempt_egress"),
    path("attempts/<int:pk>/egress/approvals/", views_egress.attempt_egress_approve,
         name="attempt_egress_approve"),
    path("attempts/<int:pk>/push/", views_live.attempt_push, name="attempt_push"),
    path("attempts/<int:pk>/resolve/", views_live.attempt_resolve, name="attempt_resolve"),
    path("attempts/<int:pk>/review/", views_review.attempt_review, name="attempt_review"),
    path("attempts/<int:pk>/post-review/", views_review.attempt_post_review,
         name="attempt_post_review"),
    path("tasks/<int:pk>/status/", views.task_status, name="status"),
    path("attempts/<int:pk>/cancel/", views.attempt_cancel, name="attempt_cancel"),
    path("attempts/<int:pk>/retry/", views.attempt_retry, name="attempt_retry"),
    path("repositories/picker/", views.repository_picker, name="repository_picker"),
    path("history/", views_history.history, name="history"),
    path("history/sidebar/", views_history.sidebar_history, name="sidebar_history"),
    path("images/<int:pk>/", views_images.image_file, name="image"),
    path("tasks/<int:pk>/ranking/", verification_views.task_ranking_fragment, name="task_ranking"),
    path("tasks/<int:pk>/combine/", verification_views.task_combine, name="task_combine"),
    path("tasks/<int:pk>/verifications/<int:verification_pk>/stop/",
         verification_views.task_verification_stop, name="verification_stop"),
]
