from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tasks", "0020_review_post_event")]

    operations = [
        migrations.AddField(
            model_name="attempt",
            name="worker",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
    ]
