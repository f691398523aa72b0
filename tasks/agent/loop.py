"""The agent loop: `run_agent(spec, sandbox, model, on_event) -> AgentResult`.

It knows nothing of Django. Each model turn and its tool calls become one `Step`; everything
that happens is also reported as it happens through `on_event(kind, payload)` with the kinds and
payloads of `tasks.event_kinds`. The loop ends on a final answer, a budget, cancellation or a
model failure; it never raises for those.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any, TypeVar

from tasks import event_kinds as kinds
from tasks.agent.budgets import BudgetTracker
from tasks.agent.citations import check_citations, cited_file_paths
from tasks.agent.collect import commit_changes
from tasks.agent.config import AgentSpec
from tasks.agent.conversation import (
    Item,
    Message,
    ToolCall,
    ToolOutput,
    images_payload,
    item_from_dict,
    shrink_tool_outputs,
)
from tasks.agent.findings import parse_findings
from tasks.agent.instructions import (
    CHECKS_REMINDER,
    FIND_AGENTS_FILES,
    WORKSPACE,
    AgentsFiles,
    review_prompt,
    system_prompt,
)
from tasks.agent.model import ContextTooLong, Model, ModelCancelled, ModelError
from tasks.agent.model_abort import ModelAbort
from tasks.agent.records import AgentResult, Citation, Step
from tasks.agent.steering import (
    TakeNotes,
    TakeSteering,
    no_notes,
    no_steering,
    notes_prompt,
    steer_prompt,
    stopped_summary,
    with_notes,
)
from tasks.agent.tools import Toolbox, tool_specs
from tasks.agent.tree_exec import KEEP_FILES_MAX, TreeFile, find_and_read, read_tree
from tasks.agent.wire import ModelTurn, ToolSpec, unique_call_ids
from tasks.sandbox.base import Sandbox, SandboxError

logger = logging.getLogger(__name__)

OnEvent = Callable[[str, dict[str, Any]], None]
T = TypeVar("T")

EMPTY_REPLY_NUDGES = 2
SANDBOX_FAILURES_TOLERATED = 3
EMPTY_REPLY = (
    "Your reply had neither text nor a tool call. Continue the task with a tool call, or give "
    "your final answer."
)
CUT_REPLY_NUDGES = 1
CUT_REPLY = (
    "Your last reply was cut off at the model's output limit. Continue from where it stopped, "
    "in a shorter reply; do the work in smaller tool calls."
)
UNUSABLE_CALLS_TOLERATED = 8  # a weak model repeating a call it cannot get right: no endless loop
CONTEXT_SHRINKS = 4  # times a turn's conversation is shrunk to fit the context window


def run_agent(
    spec: AgentSpec,
    sandbox: Sandbox,
    model: Model,
    on_event: OnEvent,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    steering: TakeSteering = no_steering,
    clock: Callable[[], float] = time.monotonic,
    notes: TakeNotes = no_notes,
    agents_files: Future[AgentsFiles] | None = None,
    model_abort: ModelAbort | None = None,
) -> AgentResult:
    """Drive one attempt in a started sandbox until it ends; return how it ended.

    `cancelled()` is polled between steps (the caller also calls `sandbox.cancel()` to stop a
    running command). `steering()` is asked at each turn boundary for messages a person sent
    meanwhile: each becomes a user message (and a "steer" event); a stop request ends the
    attempt as "stopped", keeping its changes. `notes()` is asked after each tool call: what
    it returns is appended to that tool result; notes that come while the model writes a final
    answer are given as a user message, with one more turn. A Code task's changes are committed
    inside the sandbox at the end, so the caller can take `git diff <spec.base_commit>` as the
    patch.
    `agents_files`: the AGENTS.md files, when the caller started reading them already
    (`read_agents_files_soon`, so the read overlaps the caller's own work); else read here.
    `model_abort`: what the caller aborts on a cancel to end a model reply in flight; the
    attempt then ends "cancelled" at once, not after the reply nor as a model error.
    """
    run = _Run(spec, sandbox, model, on_event, cancelled, clock, steering, notes, agents_files,
               model_abort)
    try:
        return run.run()
    except Exception as exc:  # a bug must still end the attempt cleanly, with its log
        logger.exception("the agent loop of attempt %s crashed", spec.attempt_id)
        return run._fail(f"The agent stopped on an internal error: {type(exc).__name__}: {exc}")
    finally:
        run.result.duration = clock() - run.started


@dataclass
class _Run:
    """One attempt's loop: what `run_agent` was given, and what it has gathered so far."""

    spec: AgentSpec
    sandbox: Sandbox
    model: Model
    emit: OnEvent
    cancelled: Callable[[], bool]
    clock: Callable[[], float]
    steering: TakeSteering = no_steering
    notes: TakeNotes = no_notes
    agents_files: Future[AgentsFiles] | None = None
    model_abort: ModelAbort | None = None
    started: float = field(init=False)
    budget: BudgetTracker = field(init=False)
    result: AgentResult = field(
        init=False, default_factory=lambda: AgentResult(outcome="failed", stop_reason="error")
    )
    conversation: list[Item] = field(init=False, default_factory=list)
    # What the sandbox did on its own between commands that no command's output carried (it
    # ended processes left running): told to the model, and flags on the summary for the person.
    sandbox_notes: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock()
        config = self.spec.config
        self.budget = BudgetTracker(config.budgets, config.model.prices, clock=self.clock)

    def run(self) -> AgentResult:
        spec = self.spec
        agents_files = self.agents_files or read_agents_files_soon(self.sandbox)
        self.emit(kinds.PHASE, {"phase": "agent", "message": f"Agent started ({self.model.name})."})
        agents = agents_files.result()
        upfront = agents.upfront()
        agents.given.extend(upfront)
        system = system_prompt(spec, agents, upfront)
        toolbox = Toolbox.for_attempt(spec, self.sandbox, emit=self.emit, agents=agents,
                                      remaining_seconds=self.budget.remaining_seconds)
        self.result.chunks = toolbox.chunks
        try:
            self.conversation = [item_from_dict(d) for d in spec.history]
        except (ValueError, KeyError) as exc:
            return self._fail(f"The parent attempt's conversation cannot be continued: {exc}")
        first = spec.prompt
        if spec.mode == "review" and not spec.history:
            first = review_prompt(spec.prompt, spec.review_diff)
        self.conversation.append(Message("user", first, spec.images))
        if spec.images:
            self.emit(kinds.IMAGES, images_payload(spec.images, follow_up=bool(spec.history)))
        tools = tool_specs(spec.mode)
        empty_replies = 0
        cut_replies = 0
        reminders = 0
        final = ""
        while True:
            if self.cancelled():
                return self._end("cancelled", "cancelled", "Cancelled.", toolbox)
            _steered, stop_by = self._take_steering()
            if stop_by:
                return self._stop_by_person(stop_by, toolbox)
            exceeded = self.budget.exceeded()
            if exceeded:
                return self._end("stopped", exceeded[0], exceeded[1], toolbox)
            step = Step(index=len(self.result.steps) + 1, started_at=self.clock() - self.started)
            deadline = self.clock() + self.budget.remaining_seconds()
            try:
                turn = self._complete(system, tools, deadline)
            except ModelCancelled:
                return self._end("cancelled", "cancelled", "Cancelled.", toolbox)
            except ModelError as exc:
                return self._fail(str(exc))
            turn.tool_calls = unique_call_ids(turn.tool_calls, self._call_ids())
            self.budget.record_turn(turn.usage)
            step.text, step.reasoning, step.usage = turn.text, turn.reasoning, turn.usage
            step.model_attempts = turn.attempts
            self.result.steps.append(step)
            self._report_usage()
            if turn.reasoning:
                self.emit(kinds.REASONING, {"text": turn.reasoning})
            self.conversation.extend(turn.items())
            if turn.tool_calls:
                if turn.text:
                    self.emit(kinds.MESSAGE, {"text": turn.text})
                for call in turn.tool_calls:
                    if self.cancelled():
                        self.conversation.append(ToolOutput(call.call_id, "Cancelled."))
                        continue
                    record = toolbox.run(call)
                    record.observation = with_notes(record.observation, self._take_notes())
                    step.tool_calls.append(record)
                    self.conversation.append(ToolOutput(call.call_id, record.observation))
                step.duration = self.clock() - self.started - step.started_at
                if toolbox.sandbox_lost:
                    return self._fail(f"The sandbox stopped working: {toolbox.sandbox_lost}.")
                if toolbox.sandbox_failures >= SANDBOX_FAILURES_TOLERATED:
                    return self._fail("The sandbox stopped working: commands cannot run.")
                if toolbox.unusable_calls >= UNUSABLE_CALLS_TOLERATED:
                    last = step.tool_calls[-1].observation.removeprefix("Error: ")
                    return self._fail(
                        f"The model sent {toolbox.unusable_calls} tool calls in a row that "
                        f"cannot run; the last: {last[:300]}"
                    )
                continue
            step.duration = self.clock() - self.started - step.started_at
            if turn.finish_reason in ("length", "incomplete") and cut_replies < CUT_REPLY_NUDGES:
                cut_replies += 1  # a cut answer is no answer: once, ask for the rest
                if turn.text:
                    self.emit(kinds.MESSAGE, {"text": turn.text})
                self.conversation.append(Message("user", CUT_REPLY))
                continue
            if not turn.text:
                empty_replies += 1
                if empty_replies > EMPTY_REPLY_NUDGES:
                    return self._fail("The model kept replying with nothing.")
                self.conversation.append(Message("user", EMPTY_REPLY))
                continue
            if (
                spec.mode == "code"
                and agents.given
                and toolbox.edits_since_last_command
                and reminders < spec.config.check_reminders
            ):
                reminders += 1
                self.emit(kinds.MESSAGE, {"text": turn.text})
                self.conversation.append(Message("user", CHECKS_REMINDER))
                continue
            steered, stop_by = self._take_steering()
            if steered and not stop_by:  # a message came in as it answered: let it go on
                self.emit(kinds.MESSAGE, {"text": turn.text})
                continue
            late_notes = [] if stop_by else self._take_notes()
            if late_notes:  # e.g. a host approved after its last command: no result to carry it
                self.emit(kinds.MESSAGE, {"text": turn.text})
                self.conversation.append(Message("user", notes_prompt(late_notes)))
                continue
            final = turn.text
            break
        return self._finish(final, toolbox)

    def _complete(self, system: str, tools: list[ToolSpec], deadline: float) -> ModelTurn:
        """The model's next reply. A conversation past the model's context window has its old
        tool output shrunk and is sent again, a few times at most; then a clear failure."""
        for shrinks in range(CONTEXT_SHRINKS + 1):
            try:
                return self.model.complete(system=system, conversation=self.conversation,
                                           tools=tools, deadline=deadline,
                                           abort=self.model_abort)
            except ContextTooLong as exc:
                if shrinks == CONTEXT_SHRINKS or not shrink_tool_outputs(self.conversation):
                    done = "Shortening earlier command output was not enough" if shrinks else (
                        "There is no earlier command output to shorten")
                    raise ModelError(
                        f"{exc} {done}: use a model with a larger context window (or give the "
                        "server a larger context setting), or a narrower task."
                    ) from exc
                logger.info("attempt %s: conversation shrunk to fit the context window",
                            self.spec.attempt_id)
        raise AssertionError("unreachable")

    def _call_ids(self) -> set[str]:
        return {item.call_id for item in self.conversation if isinstance(item, ToolCall)}

    def _take_notes(self) -> list[str]:
        """The caller's notes (approvals) and the sandbox's, which are also kept for the
        summary: the person may have seen no command output carry them."""
        from_sandbox = list(self.sandbox.take_notes())
        self.sandbox_notes += from_sandbox
        return [*self.notes(), *from_sandbox]

    def _take_steering(self) -> tuple[bool, str]:
        """Give the model the messages people sent since the last turn; returns (whether any
        had text, who asked to stop or "")."""
        steered, stop_by = False, ""
        for steer in self.steering():
            self.emit(kinds.STEER, {"text": steer.text, "by": steer.by, "stop": steer.stop})
            if steer.text.strip():
                self.conversation.append(Message("user", steer_prompt(steer)))
                steered = True
            if steer.stop:
                stop_by = steer.by
        return steered, stop_by

    # --- endings ---------------------------------------------------------------------------

    def _finish(self, final: str, toolbox: Toolbox) -> AgentResult:
        # Every cited file inspected and read once, in one exec: the check needs line counts,
        # the attempt keeps the text of the valid ones. A review's findings may name files no
        # citation names: those are looked at when asked for. The read runs while the changes
        # are committed (a commit changes .git only, never the files read), so the person
        # waits for one exec round trip instead of two.
        reading = in_background(read_tree, self.sandbox, cited_file_paths(final))
        problem = self._commit_if_code(toolbox)
        tree = reading.result()
        if problem:  # the changes cannot be taken out: never "succeeded"
            return self._fail(problem)

        def count_lines(path: str) -> int | None:
            if path not in tree:
                tree.update(read_tree(self.sandbox, [path]))
            return _line_count(tree, path)

        earlier = {chunk.chunk_id: chunk for chunk in self.spec.earlier_chunks}
        findings = None
        if self.spec.mode == "review":  # the findings block is shown as findings, not as text
            findings = parse_findings(final, count_lines=count_lines,
                                      chunks={**earlier, **toolbox.chunks})
            final = findings.summary
        report = check_citations(final, count_lines=count_lines, chunks=toolbox.chunks,
                                 earlier=earlier)
        cited = list(report.citations)
        if findings is not None:  # the worker keeps the files findings cite, for the viewer
            cited += [c for f in findings.findings for c in f.citations]
        self.result.cited_files = _kept_files(tree, cited)
        self.sandbox_notes += self.sandbox.take_notes()  # e.g. during the final commit
        report.flags += [note[:1].upper() + note[1:] + "." for note in self.sandbox_notes]
        if self.spec.mode == "code" and toolbox.agents.given and toolbox.edits_since_last_command:
            report.flags.append(
                "Finished without running the checks AGENTS.md asks for after the last change."
            )
        self.emit(kinds.SUMMARY, {"text": final,
                                  "citations": [c.to_dict() for c in report.citations],
                                  "flags": report.flags})
        if findings is not None:
            self.emit(kinds.REVIEW, findings.to_payload())
        result = self.result
        result.outcome, result.stop_reason = "succeeded", "final_answer"
        result.final_message, result.citations, result.flags = final, cited, report.flags
        return self._close(result)

    def _end(self, outcome: Any, reason: str, message: str, toolbox: Toolbox) -> AgentResult:
        if outcome == "stopped":  # keep the partial work reviewable; a cancel wants nothing
            problem = self._commit_if_code(toolbox)
            if problem:
                message = f"{message} {problem}"
        self.result.outcome, self.result.stop_reason, self.result.error = outcome, reason, message
        return self._close(self.result)

    def _stop_by_person(self, by: str, toolbox: Toolbox) -> AgentResult:
        """"Stop after this step": end cleanly, keeping the changes, with a summary saying so."""
        summary = stopped_summary(by, len(self.result.steps), code=self.spec.mode == "code")
        self.emit(kinds.SUMMARY, {"text": summary, "citations": [], "flags": []})
        self.result.final_message = summary
        return self._end("stopped", "stopped_by_person", f"Stopped after this step by {by}.",
                         toolbox)

    def _fail(self, message: str) -> AgentResult:
        self.emit(kinds.ERROR, {"message": message})
        self.result.outcome, self.result.stop_reason, self.result.error = "failed", "error", message
        return self._close(self.result)

    def _close(self, result: AgentResult) -> AgentResult:
        result.usage = self.budget.usage
        result.cost = self.budget.cost
        result.conversation = [item.to_dict() for item in self.conversation]
        return result

    def _report_usage(self) -> None:
        usage = self.budget.usage
        self.emit(kinds.USAGE, {"input_tokens": usage.input_tokens,
                                "output_tokens": usage.output_tokens, "cost": self.budget.cost})

    # --- the sandbox side ------------------------------------------------------------------

    def _commit_if_code(self, toolbox: Toolbox) -> str:
        """Commit everything the agent changed, without running the repository's hooks, and
        take the patch in the same exec. Returns why that failed ("" when it worked or there
        was nothing to do)."""
        if self.spec.mode != "code":
            return ""
        name, email = parseaddr(self.spec.commit_author)
        title = (self.spec.prompt.strip().splitlines() or ["Agent changes"])[0][:72]
        done = commit_changes(
            self.sandbox,
            name=name or "codexweb agent",
            email=email or "agent@codexweb.invalid",
            title=title,
            base_commit=self.spec.base_commit,
        )
        if done.error:
            return done.error
        self.result.committed, self.result.patch = done.committed, done.patch
        return ""


AGENTS_MAX_BYTES = 256_000


def in_background(work: Callable[..., T], *args: Any) -> Future[T]:
    """`work(*args)` started in a thread of its own; its result (or exception) in the future."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-step")
    try:
        return executor.submit(work, *args)
    finally:
        executor.shutdown(wait=False)


def read_agents_files_soon(sandbox: Sandbox) -> Future[AgentsFiles]:
    """Start listing and reading the AGENTS.md files (one exec) in a thread: the first model
    request needs their text, so the read overlaps whatever runs before it."""
    return in_background(discover_agents_files, sandbox)


def discover_agents_files(sandbox: Sandbox) -> AgentsFiles:
    """The AGENTS.md files and their text: listed and read in one exec (tree_exec.py),
    or, when that cannot run, listed and then read one exec each."""
    try:
        read = find_and_read(sandbox, FIND_AGENTS_FILES, keep_bytes=AGENTS_MAX_BYTES)
    except SandboxError as exc:
        logger.warning("could not list AGENTS.md files: %s", exc)
        return AgentsFiles(paths=[])
    if read is not None:
        return AgentsFiles(
            paths=[p for p in read if p.strip()],
            contents={path: _agents_text(found) for path, found in read.items()},
        )
    try:
        found = sandbox.exec(FIND_AGENTS_FILES, cwd=WORKSPACE, timeout=60)
    except SandboxError as exc:
        logger.warning("could not list AGENTS.md files: %s", exc)
        return AgentsFiles(paths=[])
    paths = [p for p in found.output.splitlines() if p.strip()]
    contents = {}
    for path in paths:
        try:
            contents[path] = sandbox.read_file(path, max_bytes=AGENTS_MAX_BYTES)
        except SandboxError as exc:
            contents[path] = f"(this AGENTS.md could not be read: {exc})"
    return AgentsFiles(paths=paths, contents=contents)


def _agents_text(found: TreeFile) -> str:
    if found.kind == "F" and found.text is not None:
        return found.text
    if found.kind == "F":
        why = f"it is larger than {AGENTS_MAX_BYTES} bytes"
    elif found.kind == "E":
        why = found.error
    else:
        why = "it is not a regular file"
    return f"(this AGENTS.md could not be read: {why})"


def _line_count(tree: dict[str, TreeFile], path: str) -> int | None:
    """What the citation check needs of a cited file: its lines, None when it is not a regular
    file of the final tree (absent, a folder, or reached through a symbolic link)."""
    found = tree.get(path)
    if found is None or found.kind not in ("F", "E"):
        return None
    if found.kind == "E":
        raise SandboxError(found.error)
    return found.lines


def _kept_files(tree: dict[str, TreeFile], citations: list[Citation]) -> dict[str, str]:
    """The text of the files valid citations name (at most KEEP_FILES_MAX, in order)."""
    kept: dict[str, str] = {}
    for citation in citations:
        if citation.kind != "F" or not citation.valid or citation.target in kept:
            continue
        if len(kept) >= KEEP_FILES_MAX:
            break
        found = tree.get(citation.target)
        if found is not None and found.text is not None:
            kept[citation.target] = found.text
    return kept
