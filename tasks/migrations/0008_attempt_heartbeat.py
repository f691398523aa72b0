from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0007_attempt_requested_by'),
    ]

    operations = [
        migrations.AddField(
            model_name='attempt',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
