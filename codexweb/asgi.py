"""ASGI entry point: Django views over HTTP, Channels consumers over WebSocket."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from codexweb.db_pool import mark_web_process

mark_web_process()  # before the settings load: this process gets the connection pool
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")
django_asgi_app = get_asgi_application()

from codexweb.static_freshness import warn_if_static_stale  # noqa: E402

warn_if_static_stale()  # production serves STATIC_ROOT only: an upgrade must collect them

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from tasks.live_db import live_auth_stack  # noqa: E402
from tasks.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            live_auth_stack(URLRouter(websocket_urlpatterns))
        ),
    }
)
