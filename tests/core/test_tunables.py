"""The simple tunables: one table (codexweb/tunables.toml) that the settings bind, .env.example
documents with the same defaults, and `codexweb settings` lists."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from codexweb import tunables as tunables_module
from codexweb.envconf import ConfigError
from codexweb.tunables import tunables, tunables_report
from tests.support.manage import manage
from tests.support.services import ROOT

ENV_LINE = re.compile(r"^([A-Z0-9_]+)=(.*?)\s*(?:#.*)?$")


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {m[1]: m[2] for line in lines if (m := ENV_LINE.match(line))}


def test_env_example_gives_every_tunable_its_default(monkeypatch):
    """Copying .env.example as it is changes nothing: each tunable's line reads as its default."""
    documented = _env_example()
    assert [t.name for t in tunables() if t.name not in documented] == []
    for tunable in tunables():
        monkeypatch.setenv(tunable.name, documented[tunable.name])
        assert tunable.read() == tunable.default, tunable.name


def test_each_tunable_is_the_setting_of_its_name_and_a_bad_value_stops_the_app():
    result = manage(
        "shell", "--no-imports", "-c",
        "from django.conf import settings; "
        "print(settings.AGENT_MAX_TURNS, settings.SANDBOX_CPUS, settings.EMAIL_USE_TLS)",
        AGENT_MAX_TURNS="7", SANDBOX_CPUS="0.5", EMAIL_USE_TLS="off",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7", "0.5", "False"]

    refused = manage("check", SANDBOX_MEMORY_MB="10")
    assert refused.returncode != 0
    assert "SANDBOX_MEMORY_MB must be at least 64, not 10" in refused.stderr


@pytest.mark.parametrize(
    ("name", "raw", "complaint"),
    [
        ("SANDBOX_PIDS", "many", "SANDBOX_PIDS must be a whole number, not 'many'"),
        ("SANDBOX_CPUS", "two", "SANDBOX_CPUS must be a number, not 'two'"),
        ("SANDBOX_SPARE_PROXY", "maybe", "SANDBOX_SPARE_PROXY must be true or false"),
    ],
)
def test_a_value_of_the_wrong_kind_is_named(monkeypatch, name, raw, complaint):
    tunable = next(t for t in tunables() if t.name == name)
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        tunable.read()


@pytest.mark.parametrize(
    ("toml", "complaint"),
    [
        ('[a]\nX = { default = 1.5, minimum = 1, doc = "d" }\n', "only a whole number"),
        ('[a]\nX = { default = 1, minimum = 5, doc = "d" }\n', "below the minimum"),
        ('[a]\nX = { default = 1, doc = "d", kind = "int" }\n', "unknown keys ['kind']"),
        ('[a]\nX = { default = 1 }\n', "needs a default"),
        ('[a]\nX = { default = 1, doc = "d" }\n[b]\nX = { default = 2, doc = "d" }\n',
         "X stands in more than one section"),
    ],
)
def test_a_malformed_table_is_refused_by_name(tmp_path, toml, complaint):
    table = tmp_path / "tunables.toml"
    table.write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        tunables_module.tunables(table)


def test_codexweb_settings_lists_values_sources_and_refusals(monkeypatch):
    monkeypatch.setenv("SANDBOX_MEMORY_MB", "8192")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-to-be-printed")
    monkeypatch.setenv("AGENT_MAX_TURNS", "0")
    monkeypatch.delenv("AGENT_MAX_TOKENS", raising=False)
    lines, problems = tunables_report()
    row = {line.split("=", 1)[0]: line for line in lines if "=" in line}
    assert set(row) == {t.name for t in tunables()}
    assert re.match(r"SANDBOX_MEMORY_MB=8192 +\(environment; default 4096\)  memory per",
                    row["SANDBOX_MEMORY_MB"])
    assert re.match(r"AGENT_MAX_TOKENS=2000000 +\(default\)", row["AGENT_MAX_TOKENS"])
    assert "sk-not-to-be-printed" not in "\n".join(lines)
    assert re.match(r"OPENAI_API_KEY=\(hidden\) +\(environment; default empty\)",
                    row["OPENAI_API_KEY"])
    assert re.match(r"AGENT_MAX_TURNS=0 +\(environment: refused\)", row["AGENT_MAX_TURNS"])
    assert problems == ["AGENT_MAX_TURNS must be at least 1, not 0"]


def test_the_settings_command_exits_1_on_a_value_the_app_would_refuse():
    command = [sys.executable, "-m", "codexweb.cli", "settings"]
    good = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False, env={"PATH": "/usr/bin:/bin"})
    assert good.returncode == 0, good.stderr
    assert "[sandbox]" in good.stdout
    bad = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=False, env={"PATH": "/usr/bin:/bin", "EMAIL_PORT": "smtp"})
    assert bad.returncode == 1
    assert "codexweb settings: EMAIL_PORT must be a whole number, not 'smtp'" in bad.stderr


@pytest.mark.parametrize("args", [["settings"], ["--help"], ["settings", "--help"]])
def test_a_cli_command_whose_reader_went_away_exits_quietly(args):
    """`codexweb settings | head`: the reader is gone before the command writes, so every
    write meets a closed pipe; the command ends without a traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "codexweb.cli", *args], cwd=ROOT,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
                              check=False, env={"PATH": "/usr/bin:/bin"})
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode in (0, 141)
