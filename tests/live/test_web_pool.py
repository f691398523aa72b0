"""The web process's PostgreSQL pool (codexweb/db_pool.py) is not held by a long-lived view: an
open event stream's reads (each its own `sync_to_async` call) give their connection back, so
with a pool of one connection other requests still get it. (Pages reusing pooled connections
and surviving a PostgreSQL restart: tests/faults/test_daphne_database_restart.py.)"""

from __future__ import annotations

import time

import pytest
import requests

from codexweb.api.tokens import api_token_create
from tests.support import factories
from tests.support.live_app import start_daphne, stop_process

pytestmark = pytest.mark.timeout(120)


def test_an_open_event_stream_does_not_hold_the_pools_only_connection(transactional_db):
    alice = factories.make_user("alice")
    repository = factories.make_repository(factories.make_team("Acme", admin=alice))
    attempt = factories.make_task(repository, alice, mode="code").attempts.get()
    headers = {"Authorization": f"Bearer {api_token_create(user=alice, name='t').secret}"}
    app = start_daphne(DATABASE_POOL_MAX_SIZE="1", DATABASE_POOL_MIN_SIZE="1",
                       DATABASE_POOL_TIMEOUT="3")
    try:
        stream_url = f"{app.url}/api/v1/attempts/{attempt.pk}/events/stream"
        with requests.get(stream_url, headers=headers, stream=True, timeout=(5, 30)) as stream:
            assert stream.status_code == 200
            assert next(stream.iter_lines(decode_unicode=True)) == ": stream open"
            # The attempt is queued: the stream stays open, reading every 0.25 s.
            time.sleep(1.0)  # the stream reads a few times meanwhile
            statuses = [
                requests.get(f"{app.url}/api/v1/attempts/{attempt.pk}", headers=headers,
                             timeout=30).status_code
                for _ in range(5)
            ]
        assert statuses == [200] * 5
    finally:
        stop_process(app.process)
    assert "Traceback" not in app.log_path.read_text()
