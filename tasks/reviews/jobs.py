"""The Celery job that posts a claimed review to GitHub (too slow for a request).

Found by `app.autodiscover_tasks([..., "tasks.reviews"], related_name="jobs")` in
codexweb/celery.py.
"""

from __future__ import annotations

from celery import shared_task

from tasks.reviews.services import review_post


@shared_task(name="tasks.post_review", acks_late=True)
def post_review(record_id: int) -> None:
    """Post a ReviewRecord claimed for posting (idempotent: a posted one is left alone)."""
    review_post(record_id=record_id)
