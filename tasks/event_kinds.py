"""The kinds of Event an attempt records, and what each payload holds.

This is the contract between the worker (which appends, `tasks.events.publish`), the live page
(`static/js/live/`, which gets the kinds through `tasks.live_contract`) and the API (which shows
payloads as stored). Each kind has a constant and a TypedDict; its required keys are checked when
an event is published (`check_payload`), so a misspelt kind or a payload missing a key readers
rely on fails at the writer, not as a blank line on someone's screen. Keys marked NotRequired may
be absent (older events, or writers that do not know them); keys not listed here must not be
relied on.

Django-free on purpose: the agent package (`tasks/agent/`) emits these kinds too.
"""

# No `from __future__ import annotations` here: on Python 3.11 a TypedDict with string
# annotations cannot see NotRequired, so every key would count as required.
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

STATUS = "status"
PHASE = "phase"
MESSAGE = "message"
REASONING = "reasoning"
COMMAND = "command"
OUTPUT = "output"
COMMAND_END = "command_end"
PATCH = "patch"
TOOL_ERROR = "tool_error"
USAGE = "usage"
EGRESS = "egress"
EGRESS_APPROVAL = "egress_approval"
SUMMARY = "summary"
STEER = "steer"
IMAGES = "images"
ERROR = "error"
REVIEW = "review"

Phase = Literal["prepare", "setup", "agent", "collect"]
PHASES: tuple[Phase, ...] = ("prepare", "setup", "agent", "collect")


class StatusPayload(TypedDict):
    """The attempt's status changed (a `tasks.models.Status` value)."""

    status: str
    message: str
    requeued: NotRequired[bool]  # the queue watch put a lost job back (tasks/queue_watch.py)


class PhasePayload(TypedDict):
    phase: Phase
    message: str


class MessagePayload(TypedDict):
    """An assistant message (Markdown)."""

    text: str


class ReasoningPayload(TypedDict):
    """A reasoning summary, if the model gives one."""

    text: str


class CommandPayload(TypedDict):
    """A shell command started; its output arrives as `output` events with the same chunk_id."""

    call_id: str
    chunk_id: str
    command: str
    cwd: str


class OutputPayload(TypedDict):
    """A piece of a command's output (not split at line ends)."""

    chunk_id: str
    text: str
    stream: NotRequired[Literal["stdout", "stderr"]]  # absent: stdout
    at: NotRequired[float]  # seconds since the command started


class CommandEndPayload(TypedDict):
    call_id: str
    chunk_id: str
    exit_code: int | None  # None: the command could not run or was killed without a code
    duration: NotRequired[float]
    truncated: NotRequired[bool]
    timed_out: NotRequired[bool]
    error: NotRequired[str]


class PatchPayload(TypedDict):
    """An apply_patch call."""

    call_id: str
    ok: bool
    files: list[str]
    error: str


class ToolErrorPayload(TypedDict):
    """A malformed or unknown tool call."""

    call_id: str
    tool: str
    error: str


class UsagePayload(TypedDict):
    """Running totals for the attempt."""

    input_tokens: int
    output_tokens: int
    cost: float


class EgressPayload(TypedDict):
    """One request or tunnel the egress proxy decided, published as it happened (the worker
    follows the proxy's record while the agent runs: tasks/worker/egress_follow.py)."""

    domain: str
    method: str  # CONNECT for a tunnel, TCP for a raw tunnel, "-" for an address refused late
    allowed: bool
    at: NotRequired[float]  # when the proxy decided (Unix time), not when the event was written
    port: NotRequired[int]
    url: NotRequired[str]  # without its query; "host:port" for a tunnel
    reason: NotRequired[str]
    # A refusal a person may lift for this attempt (the host is not on the allowlist of an
    # allowlist policy): the page offers "Allow once" (tasks/approvals/).
    approvable: NotRequired[bool]


class EgressApprovalPayload(TypedDict):
    """A person approved a refused host for this attempt (`scope` "attempt"), or also added it
    to the repository's allowlist (`scope` "repository"). The proxy lets it through from the
    next request on, and the agent is told in its next tool result."""

    host: str
    scope: Literal["attempt", "repository"]
    by: str


class CitationPayload(TypedDict):
    raw: str
    kind: Literal["F", "T"]
    target: str
    start: int
    end: int
    valid: bool
    reason: str


class SummaryPayload(TypedDict):
    text: str
    citations: list[CitationPayload]
    flags: list[str]


class FindingPayload(TypedDict):
    """One review finding (tasks/agent/findings.py): `line` is in the new version."""

    file: str
    line: int
    severity: Literal["blocker", "major", "minor", "nit"]
    explanation: str
    citations: list[CitationPayload]


class MalformedFindingPayload(TypedDict):
    """Something in a review's findings block that is not a finding, kept as text."""

    text: str
    problem: str


class ReviewPayload(TypedDict):
    """A Review task's findings, checked once by the worker (after its "summary" event)."""

    findings: list[FindingPayload]
    malformed: list[MalformedFindingPayload]


class SteerPayload(TypedDict):
    """A person's message the agent took at a turn boundary (tasks/steering/): it reached the
    model as a user message right after this point of the log. `stop`: "stop after this step"."""

    text: str
    by: str
    stop: NotRequired[bool]
    late: NotRequired[bool]  # arrived after the agent's last turn: it never saw this message


class ImagesPayload(TypedDict):
    """Images a person attached went to the model with the prompt or follow-up right after this
    point of the log (tasks/images/); they never enter the sandbox."""

    count: int
    media_types: list[str]
    message: str  # e.g. "2 images (PNG, GIF) went to the model with the prompt."


class ErrorPayload(TypedDict):
    message: str


PAYLOADS: dict[str, type] = {
    STATUS: StatusPayload,
    PHASE: PhasePayload,
    MESSAGE: MessagePayload,
    REASONING: ReasoningPayload,
    COMMAND: CommandPayload,
    OUTPUT: OutputPayload,
    COMMAND_END: CommandEndPayload,
    PATCH: PatchPayload,
    TOOL_ERROR: ToolErrorPayload,
    USAGE: UsagePayload,
    EGRESS: EgressPayload,
    EGRESS_APPROVAL: EgressApprovalPayload,
    SUMMARY: SummaryPayload,
    STEER: SteerPayload,
    IMAGES: ImagesPayload,
    ERROR: ErrorPayload,
    REVIEW: ReviewPayload,
}

ALL = frozenset(PAYLOADS)


class EventContractError(ValueError):
    """An event that breaks this contract: an unknown kind, or a payload missing a key."""


def required_keys(kind: str) -> frozenset[str]:
    """The payload keys every `kind` event carries."""
    return frozenset(PAYLOADS[kind].__required_keys__)  # type: ignore[attr-defined]


def check_payload(kind: str, payload: Mapping[str, Any]) -> None:
    """Raise EventContractError unless `kind` is known and `payload` has its required keys.

    Only the keys are checked (cheap, and what readers index by); value types are the writer's
    promise, documented by the TypedDicts above."""
    if kind not in PAYLOADS:
        raise EventContractError(
            f"Unknown event kind {kind!r}; the kinds are {', '.join(sorted(ALL))} "
            "(tasks/event_kinds.py)."
        )
    missing = required_keys(kind) - payload.keys()
    if missing:
        raise EventContractError(
            f"A {kind!r} event needs {', '.join(sorted(missing))} in its payload "
            f"(see {PAYLOADS[kind].__name__} in tasks/event_kinds.py)."
        )
