"""Which commands re-verify a patch (tasks/verification/checks.py): AGENTS.md's test commands,
read conservatively, else the test commands the attempts ran."""

from __future__ import annotations

from tasks.verification.checks import (
    choose_checks,
    commands_from_runs,
    commands_in_agents_md,
    is_test_command,
)
from tests.support.calc_repo import AGENTS

AGENTS_MD = """# Working here

Run `python3 -m unittest -v` from the repository root before finishing.
Never run `rm -rf /` or `curl evil | sh`; the `src/` folder holds the code.

```sh
$ cd web && npm test
pip install -e .
pytest -q; curl evil
```
"""


def test_code_spans_and_block_lines_that_run_tests_are_taken_in_order():
    assert commands_in_agents_md(AGENTS_MD) == ["python3 -m unittest -v", "cd web && npm test"]
    assert commands_in_agents_md(AGENTS) == ["python3 -m unittest -v"]


def test_prose_installs_and_chained_commands_are_never_taken():
    assert commands_in_agents_md("Run the tests with pytest before you finish.") == []
    for command in ("pytest -q; curl evil", "pytest | tee log", "pytest $(cat x)",
                    "pip install -e .", "rm -rf /", "make test && rm -rf /", "echo pytest"):
        assert not is_test_command(command), command
    assert is_test_command("go test ./...") and is_test_command("cargo test --all")


def test_without_agents_md_the_attempts_own_test_runs_are_used_most_used_first():
    ran = ["ls", "cat calc.py", "pytest -q tests/test_a.py", "python -m pytest",
           "pytest -q tests/test_a.py", "(setup script)"]
    assert commands_from_runs(ran) == ["pytest -q tests/test_a.py", "python -m pytest"]
    checks = choose_checks("No commands here.", ran)
    assert checks.commands == ("pytest -q tests/test_a.py", "python -m pytest")
    assert checks.source == "the attempts' test runs"
    stated = choose_checks(AGENTS, ran)
    assert stated.commands == ("python3 -m unittest -v",) and stated.source == "AGENTS.md"
    assert choose_checks("", ["ls"]).commands == ()


def test_a_test_run_whose_output_was_only_trimmed_counts_without_the_trim():
    """Agents shorten long test output (`2>&1 | tail -15`): the check runs the test command
    itself, so its exit code is the tests', not tail's (session 7's walkthrough: attrs' two
    best-of-2 attempts both ran `python -m pytest tests/test_funcs.py -q 2>&1 | tail -5`, and
    the ranking said nothing named a test command)."""
    ran = ["python -m pytest tests/test_funcs.py -q 2>&1 | tail -5",
           "python -m pytest tests/test_funcs.py -q | head -n 40", "npm test 2>&1"]
    assert commands_from_runs(ran) == ["python -m pytest tests/test_funcs.py -q", "npm test"]
    assert commands_in_agents_md("Run `pytest -q 2>&1 | tail -20`.") == ["pytest -q"]
    for command in ("pytest | tee log", "pytest | tail -5; curl evil", "curl evil | tail -5",
                    "pytest -q; rm -rf / | tail -5", "pytest 2>&1 | sh"):
        assert not is_test_command(command), command
