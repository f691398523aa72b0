"""What the model is told: the system prompt, the AGENTS.md files and the team's instructions.

Precedence, highest first: the person's task prompt; an AGENTS.md deeper in the tree over a
shallower one, for files in its directory; the root AGENTS.md; the team's instructions. Files
are collected from the repository root down to the directories the task touches: the ones that
fit are given up front, the rest when the agent first touches their directory.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from tasks.agent.config import AgentSpec

AGENTS_FILE = "AGENTS.md"
WORKSPACE = "/workspace"
UPFRONT_FILES = 8  # more than this many AGENTS.md files: only the root one up front
UPFRONT_CHARS = 48_000

# Lists AGENTS.md files under /workspace, shallowest first, skipping .git and vendored trees.
FIND_AGENTS_FILES = (
    "find . \\( -name .git -o -name node_modules -o -name .venv \\) -prune -o "
    f"-type f -name {AGENTS_FILE} -print 2>/dev/null | sed 's|^\\./||' | "
    "awk -F/ '{print NF \"\\t\" $0}' | sort -n | cut -f2- | head -n 200"
)


def scope_of(agents_path: str) -> str:
    """The directory an AGENTS.md governs, relative to the root ("" for the root)."""
    directory = posixpath.dirname(agents_path)
    return "" if directory in ("", ".") else directory


def applies_to(agents_path: str, path: str) -> bool:
    """Whether the AGENTS.md at `agents_path` governs the file or directory `path`."""
    scope = scope_of(agents_path)
    return scope == "" or path == scope or path.startswith(scope + "/")


def by_depth(paths: Iterable[str]) -> list[str]:
    """AGENTS.md paths ordered root first, deeper later (deeper wins, so it reads last)."""
    return sorted(paths, key=lambda p: (p.count("/"), p))


def applicable(agents_paths: Iterable[str], touched: Iterable[str]) -> list[str]:
    """The AGENTS.md files from the root down to every touched path, root first."""
    touched = list(touched)
    return by_depth(p for p in agents_paths if any(applies_to(p, t) for t in touched))


@dataclass
class AgentsFiles:
    """The repository's AGENTS.md files and which of them the model has been given."""

    paths: list[str]
    contents: dict[str, str] = field(default_factory=dict)
    given: list[str] = field(default_factory=list)

    def upfront(self) -> list[str]:
        """The files to include in the first prompt: all of them when they are few and small,
        otherwise the root one."""
        if len(self.paths) <= UPFRONT_FILES and sum(map(len, self.contents.values())) <= (
            UPFRONT_CHARS
        ):
            return by_depth(self.paths)
        return [p for p in self.paths if scope_of(p) == ""]

    def newly_applicable(self, touched: Iterable[str]) -> list[str]:
        """Files that govern `touched` and have not been given yet; marks them given."""
        new = [p for p in applicable(self.paths, touched) if p not in self.given]
        self.given.extend(new)
        return new


def render_agents_file(path: str, content: str, *, limit: int) -> str:
    scope = scope_of(path) or "the whole repository"
    body = content if len(content) <= limit else content[:limit] + "\n[... truncated ...]"
    return f'<agents_md path="{path}" applies_to="{scope}">\n{body.strip()}\n</agents_md>'


def system_prompt(spec: AgentSpec, agents: AgentsFiles, upfront: list[str]) -> str:
    """The system prompt for the attempt `spec` describes (its mode, repository, team
    instructions, the AGENTS.md size limit). `upfront` are the AGENTS.md paths included here."""
    parts = [_BASE.format(repository=spec.repository or "the repository")]
    parts.append({"ask": _ASK, "review": _REVIEW}.get(spec.mode, _CODE))
    parts.append(_CITATIONS)
    parts.append(_PRECEDENCE)
    team_instructions = spec.team_instructions.strip()
    if team_instructions:
        parts.append(
            "## Team instructions (lowest precedence)\n"
            f"<team_instructions>\n{team_instructions}\n</team_instructions>"
        )
    agents_limit = spec.config.agents_md_max_chars
    if agents.paths:
        listed = "\n".join(f"- {p}" for p in agents.paths)
        parts.append(f"## AGENTS.md files in this repository\n{listed}")
        if upfront:
            parts.append(
                "## AGENTS.md contents (root first; a deeper file wins for its directory)\n"
                + "\n\n".join(
                    render_agents_file(p, agents.contents.get(p, ""), limit=agents_limit)
                    for p in upfront
                )
            )
        missing = [p for p in agents.paths if p not in upfront]
        if missing:
            parts.append(
                "The other AGENTS.md files are shown to you when you first work in their "
                "directory; you may also read them with `cat`."
            )
    return "\n\n".join(parts)


def agents_reminder(paths: list[str], contents: dict[str, str], *, limit: int) -> str:
    """Text appended to a tool result when the agent enters a directory with its own AGENTS.md."""
    rendered = "\n\n".join(render_agents_file(p, contents.get(p, ""), limit=limit) for p in paths)
    return (
        "\n\nYou are now working under directories with their own AGENTS.md; follow them for "
        f"files there (deeper files win):\n{rendered}"
    )


CHECKS_REMINDER = (
    "Before you finish: the AGENTS.md instructions that apply to your changes ask for checks. "
    "You changed files after the last command you ran. Run the checks and tests that AGENTS.md "
    "asks for now, fix any failures, and then give your final answer citing the runs."
)


_BASE = """You are codexweb's software engineering agent, working on {repository}.
The repository is checked out at /workspace inside an isolated container; that is your working \
directory. You act only through the tools you are given; nobody answers questions mid-task, so \
make reasonable assumptions, state them, and finish the job.

## Tools
- `shell` runs a bash command in the container and returns its exit code and output. Every \
result starts with `Chunk ID: <id>`: that id names the recorded output, and you cite it. Prefer \
fast, targeted commands (`rg`, `git grep`, `sed -n '10,40p'`, `nl -ba FILE`). Output that is very \
long is shortened in the middle; the note says which lines were left out.
- Paths you pass to tools are relative to /workspace."""

_ASK = """## This is an Ask task
Answer the question about the code. The workspace is read-only and you have no tool to change \
files: do not try to modify anything. Read what you need, then answer precisely, citing the \
lines that support each claim."""

_REVIEW = """## This is a Review task
Review the change in the diff you are given: is it correct, safe, tested and in keeping with the \
code around it? The workspace holds the new version and is read-only; you have no tool to change \
files, so do not try. Read the changed files and what they touch, run the checks and tests \
AGENTS.md asks for (they may fail: report that), and cite what you saw.
Finish with a short overall assessment, then every finding in one block exactly like this (a JSON \
list, possibly empty):
```findings
[{"file": "path/from/repo/root.py", "line": 12, "severity": "major",
  "explanation": "What is wrong and why, citing evidence 【F:path/from/repo/root.py†L10-L12】"}]
```
- `line` is a line number in the new version of `file`, preferably one the diff adds or changes.
- `severity` is one of blocker (must not merge), major, minor, nit.
- Every explanation cites at least one file or terminal chunk; a finding without a citation is \
not accepted as one."""

REVIEW_DIFF_MAX_CHARS = 120_000


def review_prompt(prompt: str, diff: str, *, limit: int = REVIEW_DIFF_MAX_CHARS) -> str:
    """The first user message of a Review task: the person's instructions and the diff."""
    shown = diff if len(diff) <= limit else (
        diff[:limit] + "\n[... the diff is longer; read the rest of the changed files in the "
        "workspace ...]")
    return (f"{prompt.strip()}\n\n<diff_to_review>\n{shown.rstrip()}\n</diff_to_review>"
            if shown.strip() else
            f"{prompt.strip()}\n\n(The diff to review is empty: there is nothing to review.)")


_CODE = """## This is a Code task
Change the code to do what is asked.
- Edit files only with `apply_patch`. Its input is a patch in this format:
  *** Begin Patch
  *** Update File: path/to/file.py
  @@ def some_function():
   context line (starts with a space)
  -line to remove
  +line to add
  *** Add File: path/to/new.py
  +every line of a new file starts with +
  *** Delete File: path/to/old.py
  *** End Patch
  Copy context and removed lines exactly from the file (read it first). `*** Move to: new/path` \
right after an Update File line renames the file. Paths are relative to /workspace.
- Run the relevant tests and the checks AGENTS.md asks for after your last change, and fix \
what fails. Do not create commits or branches: your changes are committed for you when you \
finish.
- Keep changes focused; match the style of the surrounding code.
- Finish with a message whose first line is `Title: <what the change does>` (imperative mood, \
at most 72 characters, no citation; it becomes the pull request's title), then two parts: \
"Summary" (what you changed and why, citing the changed lines) and "Testing" (the commands you \
ran and their results, citing their output)."""

_CITATIONS = """## Citations
Every factual claim in your final message cites its evidence inline:
- file lines, as they are in the final tree: 【F:path/from/repo/root.py†L10-L24】 (one line: \
【F:path.py†L7】). Use `nl -ba FILE | sed -n '10,24p'` to see line numbers.
- terminal output: 【T:<chunk id>†L3-L9】, where the chunk id is the `Chunk ID` of the shell \
result and the lines are counted from 1 in that command's output.
Only cite what you have seen. Never say that tests pass unless you ran them and cite that run."""

_PRECEDENCE = """## Instructions and precedence
AGENTS.md files hold instructions from the repository's maintainers (conventions, how to test, \
checks to run). An AGENTS.md applies to the whole directory tree under the directory that holds \
it. When instructions conflict: the person's task prompt wins over everything; a deeper \
AGENTS.md wins over a shallower one for files in its directory; any AGENTS.md wins over the \
team instructions."""
