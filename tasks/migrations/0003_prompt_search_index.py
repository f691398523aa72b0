"""A trigram index for the history page's prompt search (PostgreSQL only).

Django's `prompt__icontains` compiles to `UPPER(prompt::text) LIKE UPPER('%word%')`; a GIN
trigram index on that expression lets PostgreSQL answer it without reading every task. Other
databases (the embedded SQLite) skip this; so does a PostgreSQL where the role may not create the
pg_trgm extension (the search still works, only slower).
"""

from django.db import migrations

INDEX = "tasks_task_prompt_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            cursor.execute("SAVEPOINT trgm")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON tasks_task "
                "USING gin ((UPPER(prompt::text)) gin_trgm_ops)"
            )
            cursor.execute("RELEASE SAVEPOINT trgm")
        except Exception as exc:  # no privilege for the extension: keep going without the index
            cursor.execute("ROLLBACK TO SAVEPOINT trgm")
            print(f"\n  skipped the prompt search index: {exc}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0002_history_indexes_attempt_snapshot")]
    operations = [migrations.RunPython(create, drop)]
