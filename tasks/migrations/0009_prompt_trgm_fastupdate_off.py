"""Keep the prompt search's trigram index usable right after many tasks are written.

A GIN index buffers new entries in a "pending list" (fastupdate) until VACUUM merges them; the
planner prices a scan of that list high, so after a burst of inserts (an import, bench/history.py)
it chose a sequential scan for `?q=zzzz`: 27.7 ms instead of 0.08 ms (EXPLAIN ANALYZE, 10,000
tasks). Tasks are written at the pace people type, so buffering gains nothing: write straight
into the index, and merge what is pending now. PostgreSQL only; nothing to do without the index
(0003 skips it where pg_trgm is not allowed).
"""

from django.db import migrations

INDEX = "tasks_task_prompt_trgm"


def _index_exists(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [INDEX])
    return bool(cursor.fetchone()[0])


def fastupdate_off(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _index_exists(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = off)")
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [INDEX])


def fastupdate_on(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if _index_exists(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0008_attempt_heartbeat")]
    operations = [migrations.RunPython(fastupdate_off, fastupdate_on)]
