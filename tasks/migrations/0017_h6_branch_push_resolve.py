"""A task may start from an open pull request, an attempt records its base commit and may be a
"resolve" attempt, and a pull-request record may be a push to the task's own branch or a
conflict the agent can resolve (issue 15, items 2 and 4)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tasks", "0016_h1_egress_approval"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="pull_number",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="attempt",
            name="kind",
            field=models.CharField(
                choices=[("work", "Work"), ("resolve", "Resolve conflicts")],
                default="work",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="attempt",
            name="base_commit",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="pullrequestrecord",
            name="pushed_to_branch",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="pullrequestrecord",
            name="resolvable",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="pullrequestrecord",
            name="state",
            field=models.CharField(
                choices=[
                    ("creating", "Being created"),
                    ("open", "Open"),
                    ("closed", "Closed"),
                    ("merged", "Merged"),
                    ("failed", "Failed"),
                    ("pushed", "Pushed to the branch"),
                ],
                default="creating",
                max_length=10,
            ),
        ),
    ]
