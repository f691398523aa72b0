"""PullRequestRecord leaves the repos app for tasks (tasks/pull_requests/models.py).

State only: the table `repos_pullrequestrecord` and its rows stay as they are; the tasks app
takes the model over in tasks/migrations/0010_h5_pull_request_record.py, which runs after this.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("repos", "0008_environment_image_choice"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PullRequestRecord")],
            database_operations=[],
        ),
    ]
