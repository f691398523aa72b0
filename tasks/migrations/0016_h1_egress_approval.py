import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tasks", "0015_h5_verification"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EgressApproval",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("host", models.CharField(max_length=253)),
                ("scope", models.CharField(choices=[("attempt", "Allowed once for this attempt"), ("repository", "Added to the repository's allowlist")], max_length=10)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("taken_at", models.DateTimeField(blank=True, null=True)),
                ("approved_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("attempt", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="egress_approvals", to="tasks.attempt")),
            ],
            options={
                "ordering": ["attempt", "id"],
                "indexes": [models.Index(fields=["attempt", "taken_at"], name="egress_approval_pending")],
            },
        ),
    ]
