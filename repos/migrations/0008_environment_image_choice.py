from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("repos", "0007_installation"),
    ]

    operations = [
        migrations.AddField(
            model_name="environment",
            name="image",
            field=models.CharField(
                choices=[("universal", "Universal"), ("slim", "Slim"), ("custom", "Custom image")],
                default="universal",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="environment",
            name="custom_image",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="environment",
            name="maintenance_script",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="environment",
            name="path_prefix",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
