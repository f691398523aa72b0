from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('repos', '0010_h2_environment_credentials'),
    ]

    operations = [
        migrations.AddField(
            model_name='githubcredential',
            name='expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='githubcredential',
            name='refresh_encrypted',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='githubcredential',
            name='refresh_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
