"""Move the test database to given migrations, for tests of a data-carrying migration."""

from __future__ import annotations

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets: list[tuple[str, str]]) -> Apps:
    """Apply or unapply migrations until exactly `targets` are the latest; the historical
    models of that state (for rows written the way that schema wants them)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest() -> Apps:
    """Back to every app's newest migration (what the rest of the suite expects)."""
    return migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
