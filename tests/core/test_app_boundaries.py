"""`repos` sits below `tasks`: tasks use repositories, environments and GitHub, never the other
way round. The pull-request record, which hangs off an Attempt, lives in tasks/pull_requests/.

repos may use plain library code kept under tasks/ (today the sandbox and the terminal text
cleaner), as long as everything it reaches there imports neither Django (settings aside) nor
repos: then repos does not depend on the tasks app, and no import cycle can form. The scan reads
every module of repos (lazy imports inside functions included) and follows imports transitively,
so a new module or a new import is checked without being listed here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> Iterator[str]:
    """Every absolute module name `path` imports, with `from a import b` giving `a` and `a.b`."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _source(module: str) -> Path | None:
    """The file of a module of this project, or None (third-party, or a name, not a module)."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _with_parents(module: str) -> list[str]:
    """Importing `a.b.c` runs `a` and `a.b` first."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def _tasks_modules_reached_from_repos() -> dict[str, str]:
    """{tasks module: the repos module whose imports led there}, following imports transitively."""
    reached: dict[str, str] = {}
    todo: list[tuple[Path, str]] = [(path, str(path.relative_to(ROOT)))
                                    for path in sorted((ROOT / "repos").rglob("*.py"))]
    while todo:
        path, origin = todo.pop()
        for name in _imports(path):
            for module in _with_parents(name):
                source = _source(module)
                if module.split(".")[0] != "tasks" or module in reached or source is None:
                    continue
                reached[module] = origin
                todo.append((source, origin))
    return reached


def _app_imports(module: str) -> list[str]:
    """What in `module` makes it app code: imports of repos or of Django (reading
    `django.conf.settings` aside: that is configuration, not the tasks app's models or pages)."""
    source = _source(module)
    assert source is not None
    return sorted({name for name in _imports(source)
                   if name.split(".")[0] == "repos"
                   or (name.split(".")[0] == "django" and not _under(name, "django.conf"))})


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_scan_sees_imports_of_every_form(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import tasks.models\nfrom tasks import services\n"
                      "def f():\n    from tasks.pull_requests.models import PullRequestRecord\n")
    assert {"tasks.models", "tasks.services", "tasks.pull_requests.models"} <= set(
        _imports(sample))
    assert _app_imports("tasks.models")  # the tasks app itself would be caught
    assert _app_imports("tasks.pull_requests.services")


def test_repos_reaches_only_django_free_library_code_under_tasks():
    reached = _tasks_modules_reached_from_repos()
    assert "tasks.sandbox.base" in reached  # the scan does follow repos into tasks
    app_code = {f"{module} (reached from {origin}) imports {_app_imports(module)}"
                for module, origin in reached.items() if _app_imports(module)}
    assert sorted(app_code) == []


def test_no_repos_model_points_at_a_tasks_model():
    pointing = [
        f"{model.__name__}.{field.name} -> {field.related_model._meta.label}"
        for model in apps.get_app_config("repos").get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model is not None
        and field.related_model._meta.app_label == "tasks"
    ]
    assert pointing == []


def test_jobs_keep_their_names_after_the_move():
    """Jobs already queued in Redis carry these names; the worker must still find them."""
    from codexweb.celery import app

    app.loader.import_default_modules()
    assert app.tasks["repos.open_pull_request"].__module__ == "tasks.pull_requests.jobs"
    for name in ("repos.sync_repositories", "repos.refresh_mirror", "repos.run_setup",
                 "repos.mirrors_gc"):
        assert app.tasks[name].__module__ == "repos.jobs"


def test_no_test_imports_another_test_module_or_another_suites_conftest():
    """What several suites share lives in tests/support/ (README "Tests"), so each area's suite
    runs on its own and a test module can be moved without breaking another."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        area = path.relative_to(ROOT / "tests").parts[0]
        for name in set(_imports(path)):
            parts = name.split(".")
            if parts[0] != "tests" or len(parts) < 3 or parts[1] == "support":
                continue
            if parts[2].startswith("test_") or (parts[2] == "conftest" and parts[1] != area):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []
