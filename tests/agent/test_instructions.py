"""AGENTS.md precedence: root first, deeper files later and winning for their subtree; the
person's prompt above everything; the team's instructions below the repository's files."""

from __future__ import annotations

from tasks.agent.config import AgentConfig, AgentSpec, ModelConfig
from tasks.agent.instructions import AgentsFiles, applicable, applies_to, system_prompt
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply

NESTED = {
    "AGENTS.md": "ROOT: indent with tabs.",
    "pkg/AGENTS.md": "PKG: indent with 4 spaces.",
    "pkg/sub/AGENTS.md": "SUB: indent with 2 spaces.",
    "other/AGENTS.md": "OTHER: never shown for pkg.",
}


def test_applicable_files_run_from_the_root_down_to_the_touched_path():
    assert applicable(NESTED, ["pkg/sub/x.py"]) == [
        "AGENTS.md", "pkg/AGENTS.md", "pkg/sub/AGENTS.md"]
    assert applicable(NESTED, ["pkg/y.py"]) == ["AGENTS.md", "pkg/AGENTS.md"]
    assert applicable(NESTED, ["README.md"]) == ["AGENTS.md"]


def test_a_sibling_directory_with_a_common_prefix_is_not_in_scope():
    assert not applies_to("pkg/AGENTS.md", "pkg2/x.py")
    assert applies_to("pkg/AGENTS.md", "pkg")


def prompt_for(files: dict[str, str], team: str = "TEAM: be kind.") -> str:
    agents = AgentsFiles(paths=list(files), contents=files)
    config = AgentConfig(model=ModelConfig(base_url="", api_key="", model="m"),
                         agents_md_max_chars=10_000)
    spec = AgentSpec(attempt_id=1, mode="code", prompt="", config=config,
                     repository="acme/webapp", team_instructions=team)
    return system_prompt(spec, agents, agents.upfront())


def test_system_prompt_orders_team_then_root_then_deeper():
    text = prompt_for(NESTED)
    order = [text.index(marker) for marker in ("TEAM:", "ROOT:", "PKG:", "SUB:")]
    assert order == sorted(order)
    assert "a deeper AGENTS.md wins over a shallower one" in text
    assert "the person's task prompt wins over everything" in text
    assert "any AGENTS.md wins over the team instructions" in text
    assert 'applies_to="pkg/sub"' in text


def test_without_team_instructions_there_is_no_team_section():
    assert "Team instructions" not in prompt_for(NESTED, team="  ")


def test_the_prompt_is_the_user_message_after_the_instructions(model_server):
    model_server.add(reply("ok 【F:AGENTS.md†L1】"))
    run(make_spec(model_server, prompt="Use 3 spaces, whatever AGENTS.md says.",
                  team_instructions="TEAM: be kind."), MemorySandbox(files=dict(NESTED)))
    sent = model_server.requests[0]
    assert sent.user_texts() == ["Use 3 spaces, whatever AGENTS.md says."]
    assert "TEAM: be kind." in sent.system and "SUB: indent" in sent.system


def test_many_files_give_the_root_up_front_and_the_rest_when_touched(model_server):
    files = dict(NESTED)
    files.update({f"noise{i}/AGENTS.md": f"NOISE {i}" for i in range(10)})
    files["pkg/sub/x.py"] = "a = 1\n"
    patch = ("*** Begin Patch\n*** Update File: pkg/sub/x.py\n@@\n-a = 1\n+a = 2\n"
             "*** End Patch")
    model_server.add(reply(call("apply_patch", {"patch": patch})),
                     reply(call("apply_patch", {"patch": patch.replace("-a = 1\n+a = 2",
                                                                       "-a = 2\n+a = 3")})),
                     reply(call("shell", {"command": "true"})),
                     reply("done 【F:pkg/sub/x.py†L1】"))
    outcome = run(make_spec(model_server), MemorySandbox(files=files))
    system = model_server.requests[0].system
    assert "ROOT:" in system and "PKG:" not in system and "NOISE" not in system.split(
        "AGENTS.md contents")[1]
    assert "- pkg/sub/AGENTS.md" in system  # listed, so the model knows it exists
    first_patch = model_server.requests[1].tool_outputs()[0]
    assert first_patch.index("PKG:") < first_patch.index("SUB:")
    assert "ROOT:" not in first_patch and "OTHER:" not in first_patch
    second_patch = model_server.requests[2].tool_outputs()[1]
    assert "PKG:" not in second_patch  # given once
    assert outcome.result.outcome == "succeeded"
