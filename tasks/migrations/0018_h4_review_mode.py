"""Review tasks (issue 15, item 3): the mode, what a review looks at, and each review's record."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("tasks", "0017_h6_branch_push_resolve"),
    ]

    operations = [
        migrations.AlterField(
            model_name="task",
            name="mode",
            field=models.CharField(
                choices=[("ask", "Ask"), ("code", "Code"), ("review", "Review")], max_length=6
            ),
        ),
        migrations.CreateModel(
            name="ReviewTarget",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("kind", models.CharField(choices=[("branch", "Branch"),
                                                   ("pull", "Pull request"),
                                                   ("attempt", "Attempt")], max_length=8)),
                ("branch", models.CharField(blank=True, default="", max_length=255)),
                ("pull_number", models.PositiveIntegerField(blank=True, null=True)),
                ("source_attempt", models.ForeignKey(
                    blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+", to="tasks.attempt")),
                ("task", models.OneToOneField(
                    on_delete=django.db.models.deletion.CASCADE, related_name="review_target",
                    to="tasks.task")),
            ],
        ),
        migrations.CreateModel(
            name="ReviewRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("base_sha", models.CharField(blank=True, default="", max_length=64)),
                ("head_sha", models.CharField(blank=True, default="", max_length=64)),
                ("diff", models.TextField(blank=True, default="")),
                ("pull_number", models.PositiveIntegerField(blank=True, null=True)),
                ("post_state", models.CharField(
                    blank=True, choices=[("", "Not posted"), ("posting", "Being posted"),
                                         ("posted", "Posted"), ("failed", "Failed")],
                    default="", max_length=8)),
                ("review_id", models.BigIntegerField(blank=True, null=True)),
                ("html_url", models.URLField(blank=True, default="", max_length=1000)),
                ("post_error", models.TextField(blank=True, default="")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("attempt", models.OneToOneField(
                    on_delete=django.db.models.deletion.CASCADE, related_name="review",
                    to="tasks.attempt")),
                ("posted_by", models.ForeignKey(
                    blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
