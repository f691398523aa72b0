"""The agent: drives one attempt inside its sandbox from the prompt to a cited final answer.

Plain Python, no Django: `run_agent(spec, sandbox, model, on_event) -> AgentResult`.
tasks/worker/agent.py adapts it to settings, Attempt rows and events.
"""

from __future__ import annotations

from tasks.agent.config import AgentConfig, AgentSpec, Budgets, ModelConfig, Prices, RetryPolicy
from tasks.agent.loop import run_agent
from tasks.agent.model import ModelClient, ModelError
from tasks.agent.records import AgentResult

__all__ = [
    "AgentConfig",
    "AgentResult",
    "AgentSpec",
    "Budgets",
    "ModelClient",
    "ModelConfig",
    "ModelError",
    "Prices",
    "RetryPolicy",
    "run_agent",
]
