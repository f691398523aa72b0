"""The worker side of an attempt (and of a setup run): the steps a Celery job runs."""
