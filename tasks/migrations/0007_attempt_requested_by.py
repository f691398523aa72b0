"""Attempt.requested_by: who started the attempt; existing rows get their task's author."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_from_task_author(apps, schema_editor):
    Attempt = apps.get_model("tasks", "Attempt")
    Task = apps.get_model("tasks", "Task")
    author = Task.objects.filter(pk=OuterRef("task_id")).values("author_id")[:1]
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now, so the ALTER below finds no pending trigger events.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Attempt.objects.filter(requested_by__isnull=True).update(requested_by_id=Subquery(author))
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("tasks", "0006_event_attempt_kind_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="attempt",
            name="requested_by",
            field=models.ForeignKey(
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="requested_attempts",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(fill_from_task_author, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="attempt",
            name="requested_by",
            field=models.ForeignKey(
                on_delete=models.deletion.PROTECT,
                related_name="requested_attempts",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
