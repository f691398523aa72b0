from django.urls import path

from tasks import consumers

websocket_urlpatterns = [
    path("ws/attempts/<int:attempt_id>/", consumers.AttemptConsumer.as_asgi()),
    path("ws/team/", consumers.TeamConsumer.as_asgi()),
]
