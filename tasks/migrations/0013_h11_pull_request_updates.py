"""A follow-up's pull-request record may update its parent's open PR, and a follow-up may ask
to do so by itself when it succeeds (issue 15, item 2)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tasks", "0012_h9_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="attempt",
            name="update_pull_request",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="pullrequestrecord",
            name="updates",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="updated_by",
                to="tasks.pullrequestrecord",
            ),
        ),
    ]
