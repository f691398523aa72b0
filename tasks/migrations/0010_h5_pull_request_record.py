"""The tasks app takes over PullRequestRecord from repos (its owner is the Attempt).

State only: the model keeps its table `repos_pullrequestrecord` (Meta.db_table), so no row,
constraint or sequence is touched. The content type row is relabelled so admin permissions and
anything else pointing at it follow the model.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODEL = "pullrequestrecord"


def _relabel(apps, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=new, model=MODEL).exists():
        content_type.objects.filter(app_label=old, model=MODEL).update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _relabel(apps, "repos", "tasks")


def backwards(apps, schema_editor) -> None:
    _relabel(apps, "tasks", "repos")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("repos", "0009_h5_pull_request_record_to_tasks"),
        ("tasks", "0009_prompt_trgm_fastupdate_off"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PullRequestRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("branch", models.CharField(max_length=255)),
                        ("state", models.CharField(
                            choices=[("creating", "Being created"), ("open", "Open"),
                                     ("closed", "Closed"), ("merged", "Merged"),
                                     ("failed", "Failed")],
                            default="creating", max_length=10)),
                        ("draft", models.BooleanField(default=False)),
                        ("number", models.PositiveIntegerField(blank=True, null=True)),
                        ("html_url", models.URLField(blank=True, default="", max_length=1000)),
                        ("head_sha", models.CharField(blank=True, default="", max_length=64)),
                        ("error", models.TextField(blank=True, default="")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("attempt", models.OneToOneField(
                            on_delete=django.db.models.deletion.CASCADE,
                            related_name="pull_request", to="tasks.attempt")),
                        ("requested_by", models.ForeignKey(
                            null=True, on_delete=django.db.models.deletion.SET_NULL,
                            related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "repos_pullrequestrecord"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
