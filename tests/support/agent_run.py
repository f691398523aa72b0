"""Running the agent loop in a test: `make_spec` (an AgentSpec against the scripted model server),
`run` (the loop, its events recorded in a Run); fixtures `model_server` and `worker_settings`
(settings for running an attempt as the worker does). tests/agent/conftest.py registers them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tasks.agent.config import AgentConfig, AgentSpec, Budgets, ModelConfig, Prices, RetryPolicy
from tasks.agent.loop import run_agent
from tasks.agent.model import ModelClient
from tasks.agent.records import AgentResult
from tests.support.calc_repo import IMAGE, docker_engine, fixture_repo  # noqa: F401
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


@pytest.fixture
def worker_settings(settings, model_server, tmp_path, docker_engine):  # noqa: F811
    """Settings for running an attempt as the worker does: the Docker backend on IMAGE, the
    scripted model server, mirrors under tmp_path."""
    settings.SANDBOX_BACKEND = "docker"
    settings.SANDBOX_IMAGE = IMAGE  # the default ("universal") choice maps to the slim image here
    settings.OPENAI_BASE_URL = model_server.url
    settings.OPENAI_API_KEY = "sk-test"
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    settings.MODEL_TIER_OPTIONS = {
        tier: {
            "api": "chat",
            "reasoning_effort": "",
            "price_input": 1.0,
            "price_cached_input": 0.1,
            "price_output": 2.0,
        }
        for tier in ("strong", "fast")
    }
    return settings


def run(spec: AgentSpec, sandbox, **kwargs: Any) -> Run:
    events: list[tuple[str, dict[str, Any]]] = []
    model = ModelClient(spec.config.model)
    result = run_agent(spec, sandbox, model, lambda kind, payload: events.append((kind, payload)),
                       **kwargs)
    return Run(result, events)
