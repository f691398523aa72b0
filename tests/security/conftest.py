"""The security suites use the sandbox suite's fixtures: a real Docker engine, the real sandbox
image, real egress proxies (tests/support/sandbox_fixtures.py); the egress tests also drive a proxy
directly (tests/support/egress_client.py)."""

from tests.support.egress_client import egress_proxy, tcp_recorder, web_target  # noqa: F401
from tests.support.sandbox_fixtures import (  # noqa: F401 — fixtures, found by name
    docker_engine,
    egress_target,
    make_sandbox,
    mitmdump,
    module_sandbox_factory,
    workspace_dir,
)
