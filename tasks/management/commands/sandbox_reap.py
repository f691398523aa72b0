"""`manage.py sandbox_reap`: remove sandboxes, proxies and warm images crashed workers left."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from tasks.sandbox.engine import docker_client
from tasks.sandbox.reaper import print_report, reap


class Command(BaseCommand):
    help = "Remove orphaned sandbox containers, egress proxies and expired warm images."

    def add_arguments(self, parser):  # noqa: ANN001
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, dry_run: bool = False, **options) -> None:  # noqa: ANN002, ANN003
        report = reap(
            docker_client(),
            runtime_dir=settings.SANDBOX_RUNTIME_DIR,
            grace_seconds=settings.SANDBOX_REAPER_GRACE_SECONDS,
            warm_cache_hours=settings.SANDBOX_WARM_CACHE_HOURS,
            dry_run=dry_run,
        )
        print_report(report, dry_run=dry_run, out=self.stdout)
