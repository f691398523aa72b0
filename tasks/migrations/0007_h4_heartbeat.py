from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0006_event_attempt_kind_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='attempt',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
