from django.urls import path

from tasks.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.webhooks, name="webhooks"),
    path("<int:pk>/", views.webhook_log, name="webhook_log"),
    path("<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
    path("<int:pk>/deliveries/<int:delivery_id>/redeliver/", views.webhook_redeliver,
         name="webhook_redeliver"),
]
