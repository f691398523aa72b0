"""Shared pieces for the agent tests: the scripted model server and a way to run the loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tasks.agent.config import AgentConfig, AgentSpec, Budgets, ModelConfig, Prices, RetryPolicy
from tasks.agent.loop import run_agent
from tasks.agent.model import ModelClient
from tasks.agent.records import AgentResult
from tests.support.model_server import ScriptedModelServer


@pytest.fixture
def model_server():
    with ScriptedModelServer() as server:
        yield server


@dataclass
class Run:
    result: AgentResult
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [payload for k, payload in self.events if k == kind]

    @property
    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


def make_spec(server: ScriptedModelServer, *, mode: str = "code", api: str = "responses",
              prompt: str = "Fix the failing test.", budgets: Budgets | None = None,
              **extra: Any) -> AgentSpec:
    config = AgentConfig(
        model=ModelConfig(base_url=server.url, api_key="sk-test", model="scripted", api=api,
                          request_timeout=30,
                          retry=RetryPolicy(max_retries=2, base_delay=0.01, max_delay=1.0),
                          prices=Prices(input=2.0, cached_input=0.5, output=8.0)),
        budgets=budgets or Budgets(max_turns=20, max_tokens=100_000, wall_seconds=300),
        **{k: extra.pop(k) for k in list(extra) if k in AgentConfig.__dataclass_fields__},
    )
    return AgentSpec(attempt_id=extra.pop("attempt_id", 7), mode=mode, prompt=prompt,
                     config=config, repository="acme/webapp", **extra)


def run(spec: AgentSpec, sandbox, **kwargs: Any) -> Run:
    events: list[tuple[str, dict[str, Any]]] = []
    model = ModelClient(spec.config.model)
    result = run_agent(spec, sandbox, model, lambda kind, payload: events.append((kind, payload)),
                       **kwargs)
    return Run(result, events)


# The Docker engine and the fixture repository, shared by the real-sandbox and worker tests.
from tests.agent.test_real_sandbox import docker_engine, fixture_repo  # noqa: E402,F401
