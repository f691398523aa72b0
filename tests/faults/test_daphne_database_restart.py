"""daphne keeps the connection its websocket consumers read on (tasks/live_db.py); PostgreSQL
restarts under it. An open page misses nothing and keeps its socket, and a page opening after
the restart signs in and gets the whole log: the first read finds the kept connection dead
(the read fails on it) and reads again on a new one, instead of failing the handshake.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.live_app import start_daphne, stop_process
from tests.support.live_clients import AttemptFollower
from tests.support.processes import wait_until
from tests.support.services import ROOT, PostgresServer, postgres_sessions

pytestmark = pytest.mark.timeout(300)

# In a child process on the private server: the schema, alice's attempt, her session.
SETUP = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from tests.support import factories
alice, repository = factories.make_alice_and_webapp()
attempt = factories.make_task(repository, alice).attempts.get()
client = Client()
client.force_login(alice)
print(json.dumps({"attempt": attempt.pk, "cookie": client.cookies["sessionid"].value}))
"""

APPEND = """
import sys, django
django.setup()
from tasks import events
for n in range(int(sys.argv[2])):
    events.publish(int(sys.argv[1]), "output", {"chunk_id": "c", "text": f"line {n}\\n"})
"""


def run_child(script: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def child_world(private_postgres: PostgresServer) -> tuple[str, dict[str, str], dict]:
    """The private server's database URL, the environment of child processes that use it, and
    the world SETUP made there (an attempt, a signed-in person's cookie)."""
    database_url = private_postgres.url.rsplit("/", 1)[0] + "/postgres"
    env = {
        key: value for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "CODEXWEB_TEST_SERVICES_READY"}
    }
    env.update(DJANGO_SETTINGS_MODULE="tests.support.settings", DATABASE_URL=database_url,
               CODEXWEB_TEST_SERVICES_READY="1", PYTHONPATH=str(ROOT))
    return database_url, env, json.loads(run_child(SETUP, env).strip().splitlines()[-1])


def test_open_and_new_sockets_survive_a_postgresql_restart(private_postgres: PostgresServer):
    database_url, env, world = child_world(private_postgres)
    app = start_daphne(DATABASE_URL=database_url)
    port = int(app.url.rsplit(":", 1)[1])
    before = AttemptFollower(port, world["attempt"], world["cookie"]).start()
    try:
        run_child(APPEND, env, str(world["attempt"]), "3")
        wait_until(lambda: before.seqs == [1, 2, 3], timeout=60, what="the first events")

        private_postgres.stop(mode="fast")
        private_postgres.start()
        run_child(APPEND, env, str(world["attempt"]), "3")
        after = AttemptFollower(port, world["attempt"], world["cookie"]).start()
        try:
            wait_until(lambda: after.seqs == [1, 2, 3, 4, 5, 6], timeout=60,
                       what="a page opened after the restart to get the whole log")
            assert after.connections == 1  # its first handshake worked
        finally:
            after.stop()
        wait_until(lambda: before.seqs == [1, 2, 3, 4, 5, 6], timeout=60,
                   what="the open page to get the events written after the restart")
        assert before.connections == 1  # the open socket was never broken
    finally:
        before.stop()
        stop_process(app.process)
    assert "Traceback" not in app.log_path.read_text()


def test_pages_reuse_pooled_connections_and_survive_a_postgresql_restart(
    private_postgres: PostgresServer,
):
    """The web process keeps its connections in a pool (codexweb/db_pool.py): twenty page loads
    open a few connections, not twenty; after a PostgreSQL restart the pool's dead connections
    are dropped when checked, so no page fails on one."""
    import requests

    database_url, env, world = child_world(private_postgres)
    app = start_daphne(DATABASE_URL=database_url, DATABASE_POOL_MIN_SIZE="1")
    cookies = {"sessionid": world["cookie"]}
    page = f"{app.url}/"  # the task list: the session, the person, the team, the tasks
    try:
        assert requests.get(page, cookies=cookies, timeout=30).status_code == 200
        before = postgres_sessions(database_url)
        statuses = [requests.get(page, cookies=cookies, timeout=30).status_code
                    for _ in range(20)]
        opened = postgres_sessions(database_url) - before - 1  # less our own count's
        assert statuses == [200] * 20
        assert opened <= 3, f"{opened} connections for 20 pages: the pool is not used"

        private_postgres.stop(mode="fast")
        private_postgres.start()
        statuses = [requests.get(page, cookies=cookies, timeout=30).status_code
                    for _ in range(10)]
        assert statuses == [200] * 10
    finally:
        stop_process(app.process)
    assert "Traceback" not in app.log_path.read_text()
