"""Benchmark: the team history page, its filters, and the repository picker's filter.

Fills a fresh PostgreSQL database with 10,000 tasks and 5,000 repositories (one team of 20 people,
plus another team as noise), then times real requests through Django's full stack (middleware,
views, templates, the sidebar) and prints p50/p95 per scenario. Target: p95 <= 100 ms. Deep pages
are reached the way the pager links reach them, by a cursor (`?before=`); old `?page=N` links
are timed as the redirect they now get. The load average is printed with the figures: on a busy
machine they are not comparable with a quiet one.

    .venv/bin/python bench/history.py [--tasks 10000] [--repositories 5000] [--runs 40]

"cpu ms" is the median CPU time of this process per request (templates, ORM, Python; not the
database server): it varies far less with the machine's load than the wall-clock figures.

Uses BENCH_DATABASE_URL if set (the database is created if missing and emptied first);
otherwise starts a throw-away PostgreSQL and Redis like the test suite. Exit status 1 when a
scenario misses the target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_MS = 100.0
WORDS = [
    "build",
    "cache",
    "login",
    "flaky",
    "test",
    "migrate",
    "docs",
    "refactor",
    "api",
    "deploy",
    "parser",
    "queue",
    "worker",
    "billing",
    "search",
    "index",
    "schema",
    "upgrade",
    "python",
    "node",
    "docker",
    "css",
    "layout",
    "token",
    "auth",
    "retry",
    "timeout",
    "memory",
    "leak",
    "crash",
    "report",
    "export",
    "import",
    "config",
    "logging",
    "metrics",
]


def _prepare_database() -> None:
    from tests.support.services import ensure_services

    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["TEST_DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    ensure_services()
    url = urlparse(os.environ["DATABASE_URL"])
    name = (url.path or "/codexweb").lstrip("/") or "codexweb"
    import psycopg

    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.settings")


def _fill(n_tasks: int, n_repos: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection

    from codexweb.accounts.models import Membership, Team
    from repos.models import Repository
    from tasks.models import Attempt, Task

    rng = random.Random(8)
    people = [User(username=f"user{i:02d}", email=f"user{i:02d}@example.test") for i in range(20)]
    User.objects.bulk_create(people)
    people = list(User.objects.order_by("pk"))
    team = Team.objects.create(name="Big", slug="big")
    noise = Team.objects.create(name="Noise", slug="noise")
    Membership.objects.bulk_create(
        [
            Membership(team=team, user=u, role="admin" if i == 0 else "member")
            for i, u in enumerate(people)
        ]
        + [Membership(team=noise, user=people[1], role="admin")]
    )
    owners = [f"org{i:02d}" for i in range(50)]
    Repository.objects.bulk_create(
        [
            Repository(
                team=team,
                provider="git",
                owner=owners[i % 50],
                name=f"{rng.choice(WORDS)}-service-{i:04d}",
                clone_url=f"/srv/git/{i}.git",
            )
            for i in range(n_repos)
        ]
        + [
            Repository(team=noise, provider="git", owner="noise", name=f"n{i}", clone_url=f"/n/{i}")
            for i in range(200)
        ],
        batch_size=2000,
    )
    repos = list(Repository.objects.filter(team=team).values_list("pk", flat=True))
    statuses = ["succeeded"] * 6 + ["failed"] * 2 + ["cancelled", "running", "queued"]
    tasks = [
        Task(
            team=team,
            repository_id=rng.choice(repos),
            author=rng.choice(people),
            mode=rng.choice(["ask", "code"]),
            base_branch="main",
            model_tier="strong",
            status=rng.choice(statuses),
            prompt=" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40))).capitalize(),
        )
        for _ in range(n_tasks)
    ]
    Task.objects.bulk_create(tasks, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_task SET created_at = now() - (random() * interval '180 days'), "
            "updated_at = now()"
        )
        cursor.execute("ANALYZE")
    Attempt.objects.bulk_create(
        [
            Attempt(task_id=pk, index=1, status="succeeded", requested_by_id=author_id)
            for pk, author_id in Task.objects.values_list("pk", "author_id")
        ],
        batch_size=5000,
    )
    some_repo = Repository.objects.filter(team=team).order_by("?").first()
    return {"admin": people[0], "author": people[3], "repo": some_repo, "team": team}


def _cursor_of_page(team, number: int):
    """The cursor the pager's "Older" links carry to page `number` (50 rows a page)."""
    from codexweb.keyset import cursor_before_offset
    from tasks.selectors import TaskSearch, team_tasks_search
    from tasks.views_history import PAGE_SIZE

    cursor = cursor_before_offset(
        team_tasks_search(team, TaskSearch()), (number - 1) * PAGE_SIZE
    )
    if cursor is None:
        raise SystemExit(f"fewer than {number} pages of tasks: use more --tasks")
    return cursor


def _measure(client, url: str, runs: int, status: int = 200) -> tuple[float, float, float, int]:
    client.get(url)  # warm caches and connections
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        if response.status_code != status:
            raise SystemExit(f"{url} answered {response.status_code}")
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, statistics.median(cpu), len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repositories", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    _prepare_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    world = _fill(args.tasks, args.repositories)
    print(
        f"filled {args.tasks} tasks, {args.repositories} repositories in "
        f"{time.perf_counter() - started:.1f}s"
    )

    client = Client()
    client.force_login(world["admin"])
    repo = world["repo"]
    deep = _cursor_of_page(world["team"], 100).encode()
    scenarios = [
        ("history, first page", "/history/"),
        ("history, page 100 (cursor)", f"/history/?before={deep}"),
        ("history, newer than page 100", f"/history/?after={deep}"),
        ("old link ?page=100 (redirect)", "/history/?page=100"),
        ("filter: author", f"/history/?author={world['author'].pk}"),
        ("filter: repository (id)", f"/history/?repo={repo.pk}"),
        ("filter: repository (name)", f"/history/?repository={repo.full_name}"),
        ("filter: status", "/history/?status=failed"),
        ("filter: mode", "/history/?mode=code"),
        ("filter: date range", "/history/?since=2000-01-01&until=2999-12-31"),
        ("search in prompts", "/history/?q=flaky+login"),
        ("search in prompts: no match", "/history/?q=zzzz"),
        ("all filters", f"/history/?author={world['author'].pk}&status=succeeded&mode=ask&q=cache"),
        ("repository picker: 'serv'", "/repositories/picker/?q=serv"),
        ("repository picker: 'org07/cache'", "/repositories/picker/?q=org07/cache"),
        ("repository picker: empty", "/repositories/picker/?q="),
        ("repository picker: no match", "/repositories/picker/?q=zzzz"),
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before: {load} on {os.cpu_count()} CPUs")
    print(f"\n{'scenario':<34} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8}  {'bytes':>8}")
    failed = 0
    for label, url in scenarios:
        status = 302 if "page=" in url else 200
        p50, p95, cpu, size = _measure(client, url, args.runs, status)
        verdict = "ok" if p95 <= TARGET_MS else "SLOW"
        failed += verdict != "ok"
        print(f"{label:<34} {p50:8.1f} {p95:8.1f} {cpu:8.1f}  {size:8d}  {verdict}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average after: {load}")
    print(
        f"\ntarget: p95 <= {TARGET_MS:.0f} ms; "
        f"{len(scenarios) - failed}/{len(scenarios)} scenarios met it"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
