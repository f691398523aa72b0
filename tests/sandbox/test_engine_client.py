"""The worker's Docker engine client (tasks/sandbox/engine.py)."""

from __future__ import annotations

import pytest

from tasks.sandbox.engine import docker_client

pytestmark = pytest.mark.docker


def test_a_client_for_the_local_socket_reads_nothing_from_the_environment_per_call(monkeypatch):
    """requests looked up proxies, .netrc and CA bundles in the environment on every engine
    call; none of them applies to a unix socket, and a proxy set for the model API must not
    change how the engine is reached."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    client = docker_client()
    try:
        assert client.api.base_url.startswith("http+docker://")
        assert client.api.trust_env is False
        assert client.api.version()["ApiVersion"]  # the call goes straight to the socket
    finally:
        client.close()
