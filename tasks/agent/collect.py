"""Taking a Code task's result out of its sandbox: the patch against the base commit.

Only text crosses back. The diff runs inside the container with external diff drivers and
text conversion off, so the repository's config cannot change what the host receives.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from tasks.agent.instructions import WORKSPACE
from tasks.sandbox.base import Sandbox, SandboxError

MAX_PATCH_BYTES = 20_000_000


PATCH_FOLLOWS = "codexweb-patch-follows"


# Every byte of the patch must reach the host as the agent wrote it: its text is decoded as
# UTF-8 with replacement characters (the sandbox's output), so a byte that is not UTF-8 would
# become U+FFFD and the host would write other bytes than the person reviewed.
REPLACED = "\ufffd"
# Counts the lines of its input that are not UTF-8 (in the container's UTF-8 locale `.` matches
# whole characters only).
COUNT_NOT_UTF8 = "grep -caxv '.*'"


def _diff_command(base_commit: str, *, quote_path: bool = False) -> str:
    """The diff; `quote_path` quotes every name byte above ASCII as an octal escape (git's
    default), for names that are not UTF-8; by default UTF-8 names stay readable."""
    return (
        f"git {_diff_options(quote_path=quote_path)} {shlex.quote(base_commit.strip())} HEAD --"
    )


# The diff with the files whose text is not UTF-8 (before or after) carried as git binary
# patches, byte for byte: the names are found and used inside the container (they may hold any
# byte but NUL), the rest is the usual quoted diff. An attributes file given to that second diff
# alone marks every file it names `-diff` (binary); a repository whose own .gitattributes says
# `diff` for such a file keeps it text, and collect_patch refuses it as before.
NOT_UTF8_AS_BINARY = r"""set -e
base=$1; shift  # then the diff's options (git -c ... diff ...)
bad=()
while IFS= read -r -d '' f; do
  if { git show "HEAD:$f" 2>/dev/null; git show "$base:$f" 2>/dev/null; } | grep -qaxv '.*'
  then bad+=("$f"); fi
done < <(git diff --no-renames --name-only -z "$base" HEAD --)
git "$@" --no-renames "$base" HEAD -- . "${bad[@]/#/:(exclude,literal)}"
[ ${#bad[@]} -gt 0 ] || exit 0
attrs=$(mktemp)
trap 'rm -f "$attrs"' EXIT
echo '* -diff' > "$attrs"
git -c core.attributesFile="$attrs" "$@" --no-renames "$base" HEAD -- "${bad[@]/#/:(literal)}"
"""


def _diff_options(*, quote_path: bool) -> str:
    quote = "true" if quote_path else "false"
    return (
        f"-c core.quotePath={quote} -c diff.noprefix=false diff --no-ext-diff --no-textconv "
        "--no-color --binary --full-index"
    )


def _take_patch(
    sandbox: Sandbox, base_commit: str, *, quote_path: bool, not_utf8_as_binary: bool = False
) -> str:
    command = _diff_command(base_commit, quote_path=quote_path)
    if not_utf8_as_binary:
        command = (
            f"bash -c {shlex.quote(NOT_UTF8_AS_BINARY)} diff {shlex.quote(base_commit.strip())} "
            + _diff_options(quote_path=True)
        )
    result = sandbox.exec(command, cwd=WORKSPACE, timeout=300, max_output_bytes=MAX_PATCH_BYTES)
    if result.exit_code != 0:
        raise SandboxError(
            f"git diff failed (exit {result.exit_code}): {(result.error or result.output)[:500]}"
        )
    if result.truncated:
        raise SandboxError(f"the patch is larger than {MAX_PATCH_BYTES} bytes")
    return result.output


def _files_with(patch: str, text: str) -> list[str]:
    """The `diff --git` headers (file names) of the sections of `patch` that hold `text`."""
    names = []
    for section in ("\n" + patch).split("\ndiff --git ")[1:]:
        if text in section:
            names.append(section.split("\n", 1)[0])
    return names


def collect_patch(sandbox: Sandbox, base_commit: str) -> str:
    """`git diff <base_commit>` of everything committed since, as text ("" when unchanged).

    Raises SandboxError when the diff cannot be taken whole (bad base, too large)."""
    if not base_commit.strip():
        raise SandboxError("no base commit to take the patch against")
    patch = _take_patch(sandbox, base_commit, quote_path=False)
    if REPLACED not in patch:
        return patch
    # A byte that is not UTF-8 (or a real U+FFFD): names are quoted then (octal escapes, which
    # `git apply` reads back); a file's text that is not UTF-8 cannot cross as text, so it
    # crosses as a git binary patch, or (the repository forces it to be text) is refused,
    # never changed.
    patch = _take_patch(sandbox, base_commit, quote_path=True)
    if REPLACED not in patch:
        return patch
    check = sandbox.exec(
        f"{_diff_command(base_commit, quote_path=True)} | {COUNT_NOT_UTF8}",
        cwd=WORKSPACE,
        timeout=300,
    )
    if check.output.strip() == "0":
        return patch  # the replacement characters are the files' own
    # Text that is not UTF-8 (a Latin-1 file): carried as a binary patch, byte for byte.
    patch = _take_patch(sandbox, base_commit, quote_path=True, not_utf8_as_binary=True)
    if REPLACED not in patch:
        return patch
    files = ", ".join(_files_with(patch, REPLACED)[:5])
    raise SandboxError(
        "the change holds text that is not UTF-8 (a Latin-1 file, say) and could not be taken"
        f" out of the sandbox byte for byte ({files}); convert the file to UTF-8 or mark it"
        " binary in .gitattributes (`name binary`) and run the task again"
    )


def head_commit(sandbox: Sandbox) -> str:
    """The commit the workspace is at (the base, before the agent runs)."""
    result = sandbox.exec("git rev-parse HEAD", cwd=WORKSPACE, timeout=60)
    if result.exit_code != 0:
        raise SandboxError(f"the workspace is not a git checkout: {result.output.strip()[:300]}")
    return result.output.strip()


@dataclass(frozen=True)
class Committed:
    """What `commit_changes` did: `committed` (there were changes, now a commit), the patch
    taken in the same exec (None when it was not: no base given, or the diff failed or was too
    large — then `collect_patch` takes it again and says why), or `error` when the commit
    failed."""

    committed: bool = False
    patch: str | None = None
    error: str = ""


def commit_changes(
    sandbox: Sandbox, *, name: str, email: str, title: str, base_commit: str = ""
) -> Committed:
    """Commit everything in the workspace without running the repository's hooks, and with a
    base commit take the patch against it in the same exec (one round trip instead of two)."""
    diff = ""
    if base_commit.strip():
        diff = f" && echo {PATCH_FOLLOWS} && {_diff_command(base_commit)}"
    command = (
        "git add -A && if git diff --cached --quiet; then echo NOTHING; else "
        f"git -c user.name={shlex.quote(name)} -c user.email={shlex.quote(email)} "
        "-c core.hooksPath=/dev/null -c commit.gpgsign=false "
        f"commit -q --no-verify -m {shlex.quote(title)} && echo COMMITTED{diff}; fi"
    )
    try:
        result = sandbox.exec(
            command, cwd=WORKSPACE, timeout=420, max_output_bytes=MAX_PATCH_BYTES + 100_000
        )
    except SandboxError as exc:
        return Committed(error=f"Could not take the changes out of the sandbox: {exc}.")
    head, follows, patch = _split_patch(result.output)
    committed = "COMMITTED" in head
    if result.exit_code != 0 and not committed:
        return Committed(error="Could not take the changes out of the sandbox: "
                         + (result.error or result.output).strip()[:500])
    # A replacement character may stand for a byte that is not UTF-8: collect_patch decides.
    whole = (follows and result.exit_code == 0 and not result.truncated
             and len(patch.encode()) <= MAX_PATCH_BYTES and REPLACED not in patch)
    return Committed(committed=committed, patch=patch if whole else None)


def _split_patch(output: str) -> tuple[str, bool, str]:
    """(what came before the patch, whether the patch followed, the patch)."""
    found = re.search(rf"(?:^|\n){PATCH_FOLLOWS}\n", output)
    if found is None:
        return output, False, ""
    return output[: found.start()], True, output[found.end():]
