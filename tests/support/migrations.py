"""Move the test database to given migrations, for tests of a data-carrying migration."""

from __future__ import annotations

from typing import Any

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


def historical_task(apps: Apps, *, name: str, mode: str = "ask") -> tuple[Any, Any]:
    """(user, task): a person, their team, a repository and a task, written through the
    historical models of `apps` (the schema of that moment, not today's models)."""
    user = apps.get_model("auth", "User").objects.create(username=f"alice-{name}")
    team = apps.get_model("accounts", "Team").objects.create(name=f"Acme {name}",
                                                             slug=f"acme-{name}")
    repository = apps.get_model("repos", "Repository").objects.create(
        team=team, owner="acme", name=name, provider="github", default_branch="main",
        clone_url=f"https://github.com/acme/{name}.git")
    task = apps.get_model("tasks", "Task").objects.create(
        team=team, repository=repository, author=user, mode=mode, prompt="Fix it",
        base_branch="main", model_tier="fast")
    return user, task
