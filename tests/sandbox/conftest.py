"""The sandbox suite's fixtures live in tests/support/sandbox_fixtures.py (the security and faults
suites use them too); registered here by name."""

from tests.support.sandbox_fixtures import (  # noqa: F401 — fixtures, found by name
    docker_engine,
    egress_target,
    make_sandbox,
    mitmdump,
    module_sandbox_factory,
    universal_image,
    workspace_dir,
    workspace_files,
)
