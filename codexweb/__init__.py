"""codexweb: a self-hosted cloud software-engineering agent for teams."""

from __future__ import annotations

from .celery import app as celery_app

__all__ = ["celery_app"]
