from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks and attempts"

    def ready(self) -> None:
        from codexweb import static_freshness  # noqa: F401 - registers its `manage.py check`
